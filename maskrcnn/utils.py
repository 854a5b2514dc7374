"""matterport's ``mrcnn.utils`` names, so that ``from maskrcnn import utils`` serves old code.

Each name is the project's own implementation, imported from where it lives.
"""
from .data.dataset import Dataset
from .data.transforms import (compose_image_meta, expand_mask, extract_bboxes, minimize_mask,
                              mold_image, parse_image_meta, resize, resize_image, resize_mask,
                              unmold_image)
from .evaluation.voc import (compute_ap, compute_ap_range, compute_iou, compute_matches,
                             compute_overlaps, compute_overlaps_masks, compute_recall,
                             trim_zeros)
from .model.anchors import level_anchors as generate_anchors
from .model.anchors import pyramid_anchors
from .weights import download_trained_weights

__all__ = ["Dataset", "compose_image_meta", "expand_mask", "extract_bboxes", "minimize_mask",
           "mold_image", "parse_image_meta", "resize", "resize_image", "resize_mask",
           "unmold_image", "compute_ap", "compute_ap_range", "compute_iou", "compute_matches",
           "compute_overlaps", "compute_overlaps_masks", "compute_recall", "trim_zeros",
           "generate_anchors", "pyramid_anchors", "download_trained_weights"]
