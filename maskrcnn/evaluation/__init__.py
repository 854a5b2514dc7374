"""Evaluation: VOC-style AP with matterport's definitions, COCO evaluation, and figures.

Imports without TensorFlow (``plot_loss_curves`` on a log folder imports it when called).
"""
from .calibration import Calibration, calibrate
from .coco import CocoEvaluation, evaluate_coco, format_table, results_to_coco
from .counting import (
                    DETECTION_KINDS,
                    Counting,
                    best_count_threshold,
                    classify_detections,
                    count_at,
)
from .evaluate import EvaluationResult, class_names_problem, evaluate_model
from .per_image import ImageMatches, image_matches
from .plots import (
                    plot_ap_histogram,
                    plot_confusion_matrix,
                    plot_count_error,
                    plot_loss_curves,
                    plot_losses,
                    plot_operating_point,
                    plot_precision_recall,
                    read_tensorboard_scalars,
)
from .voc import (
                    IGNORED,
                    compute_ap,
                    compute_ap_range,
                    compute_confusion_matrix,
                    compute_iou,
                    compute_matches,
                    compute_overlaps,
                    compute_overlaps_masks,
                    compute_recall,
                    evaluate_image,
                    trim_zeros,
)

__all__ = [
    "compute_iou", "compute_overlaps", "compute_overlaps_masks", "trim_zeros",
    "compute_matches", "compute_ap", "compute_ap_range", "compute_recall",
    "compute_confusion_matrix", "evaluate_image", "IGNORED",
    "results_to_coco", "evaluate_coco", "format_table", "CocoEvaluation",
    "evaluate_model", "EvaluationResult", "class_names_problem",
    "Counting", "count_at", "best_count_threshold", "classify_detections", "DETECTION_KINDS",
    "Calibration", "calibrate", "ImageMatches", "image_matches",
    "plot_precision_recall", "plot_confusion_matrix", "plot_ap_histogram", "plot_losses",
    "plot_count_error", "plot_operating_point", "plot_loss_curves", "read_tensorboard_scalars",
]
