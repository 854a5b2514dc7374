"""Detection on files and folders: annotated pictures, COCO results, masks and area shares.

    df = detect_folder("logs/shapes20240101T1200/mask_rcnn_shapes_0010.h5", "images/", "out/")

Writes to the output folder: ``annotated/<name>.jpg`` (masks, boxes, labels, scores;
images over ``run.PICTURE_MAX_SIDE`` = 4096 pixels on the longer side drawn shrunk to it);
``masks/<name>/<k>_<class>.png`` (0/255, with ``save_masks``); ``detections.json`` (COCO:
``images`` with id, file_name, path, height, width; ``annotations``, the results: image_id,
category_id = class id, bbox [x, y, w, h] pixels, score, RLE segmentation; ``categories``);
``images.csv`` (per image: image_id, file, status, height, width, instances,
any_object_share, <class>_count, <class>_share); ``summary.csv`` (per class:
images_with_class, instances, mean_share_all_images, mean_share_images_with_class,
max_share); and
``state.json`` / ``records.jsonl``, which ``resume`` reads to skip images already done.

Shares are fractions in [0, 1] of the image's pixels covered by the union of a class's masks
(overlapping instances count once); ``any_object_share`` is the union of all masks.
Image ids are 1-based and stay the same when a run is resumed.

Masks travel as box crops (``maskrcnn.data.box_masks.BoxMasks``) from the model to the
shares, pictures and files, never as the (H, W, N) array: memory follows the image and
the boxes, so a 12000 x 9000 photo with 100 detections stays within a few GB.

Modules, each importing only those before it: :mod:`.files` (which inputs are images, where
outputs may go), :mod:`.shares` (area shares and the CSV tables), :mod:`.state` (state.json,
records.jsonl, what is left to do), :mod:`.detector` (loading the model, class names,
device), :mod:`.run` (the batched, threaded loop) and :mod:`.folder` (``detect_folder``).
"""
from .detector import load_detector
from .files import IMAGE_EXTENSIONS, list_images
from .folder import detect_folder
from .shares import ANY_OBJECT, area_shares, format_summary, summarize
from .state import RECORDS_FILE, STATE_FILE

__all__ = ["detect_folder", "load_detector", "list_images", "area_shares", "summarize",
           "format_summary", "ANY_OBJECT", "IMAGE_EXTENSIONS", "STATE_FILE", "RECORDS_FILE"]
