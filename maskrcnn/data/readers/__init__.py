"""The readers: one module per annotation format, each turning files into a prepared Dataset.

Each reader imports only the shared primitives (:mod:`maskrcnn.data.instances`,
:mod:`maskrcnn.data.problems`, :mod:`maskrcnn.data.files`, :mod:`maskrcnn.data.image_io`,
:mod:`maskrcnn.data.dataset`), never another reader; :mod:`maskrcnn.data.layout` picks the
reader for a format. ``from maskrcnn.data import load_coco, ...`` is the public way in.
"""
