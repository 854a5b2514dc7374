"""The readers: one module per annotation format, each turning files into a prepared Dataset.

Each reader but ``shapes`` (synthetic, no files) has one way to list the splits a path
offers, ``splits(path) -> {split: source}`` (its docstring says which layouts it knows), and
one way to read one, ``load(source, **options)``; the source is a
:class:`~maskrcnn.data.files.SplitSource` (annotations, images: None for the reader's
default) or the reader's own (YOLO's adds its data.yaml).

Each reader imports only the shared primitives (:mod:`maskrcnn.data.instances`,
:mod:`maskrcnn.data.problems`, :mod:`maskrcnn.data.files`, :mod:`maskrcnn.data.image_io`,
:mod:`maskrcnn.data.dataset`), never another reader; :mod:`maskrcnn.data.layout` picks the
reader for a format and asks it. ``from maskrcnn.data import load_coco, ...`` is the public
way in.
"""
