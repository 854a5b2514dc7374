"""matterport's ``mrcnn.utils`` names, so that ``from maskrcnn import utils`` serves old code.

Each name is the project's own implementation, imported from where it lives.
"""
from .checkpoint.download import download_trained_weights
from .data.dataset import Dataset
from .data.transforms import (
    compose_image_meta,
    expand_mask,
    extract_bboxes,
    minimize_mask,
    mold_image,
    parse_image_meta,
    resize,
    resize_image,
    resize_mask,
    unmold_image,
)
from .evaluation.voc import (
    compute_ap,
    compute_ap_range,
    compute_iou,
    compute_matches,
    compute_overlaps,
    compute_overlaps_masks,
    compute_recall,
    trim_zeros,
)
from .modeling.anchors import level_anchors as generate_anchors
from .modeling.anchors import pyramid_anchors
from .modeling.conventions import denormalize_boxes as _denormalize
from .modeling.conventions import normalize_boxes as _normalize

__all__ = ["Dataset", "compose_image_meta", "expand_mask", "extract_bboxes", "minimize_mask",
           "mold_image", "parse_image_meta", "resize", "resize_image", "resize_mask",
           "unmold_image", "compute_ap", "compute_ap_range", "compute_iou", "compute_matches",
           "compute_overlaps", "compute_overlaps_masks", "compute_recall", "trim_zeros",
           "generate_anchors", "pyramid_anchors", "download_trained_weights", "norm_boxes",
           "denorm_boxes"]


def norm_boxes(boxes, shape):
    """matterport's ``utils.norm_boxes``: (N, 4) pixel boxes -> normalised, in its convention
    ((y1, x1, y2 - 1, x2 - 1) / (H - 1, W - 1, H - 1, W - 1))."""
    import numpy as np
    return _normalize(np.asarray(boxes, np.float64), shape[0], shape[1],
                      "matterport").astype(np.float32)


def denorm_boxes(boxes, shape):
    """matterport's ``utils.denorm_boxes``: the inverse of ``norm_boxes``, rounded to int32."""
    import numpy as np
    return np.round(_denormalize(np.asarray(boxes, np.float64), shape[0], shape[1],
                                 "matterport")).astype(np.int32)
