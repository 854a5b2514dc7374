"""Pictures of images, instances, detections and training curves.

Keeps the names and arguments of matterport's ``visualize`` module so that its notebooks run
unchanged (``from maskrcnn import visualize; visualize.display_instances(...)``). Boxes are
(N, 4) ``(y1, x1, y2, x2)`` in pixels, masks (H, W, N) bool, colours RGB floats in [0, 1].
Functions that draw return the matplotlib ``Figure`` (or the given ``ax``'s).

Figures and notebooks: in Jupyter a figure shows once, whether it is the cell's last
expression or drawn in a loop. With a non-GUI backend (Agg, as in scripts and tests) figures are
not registered with pyplot, so nothing is left open; pass ``save_path`` or call ``fig.savefig``.
Only ``draw_instances`` draws without a figure: it returns an annotated (H, W, 3) uint8 array.

Figures by module: ``instances`` (display_instances, side_by_side, draw_instances),
``samples`` (display_images, display_top_masks, display_dataset_samples), ``boxes``
(draw_boxes, draw_rois), ``evaluation`` (display_differences, plot_precision_recall,
plot_overlaps), ``training`` (plot_losses), ``tables`` (display_table, display_weight_stats),
``model_parts`` (a network taken apart: anchors, RPN targets, proposals, refinement and NMS,
mask grids, activations, weight histograms; imported as ``visualize.model_parts``).
Internals: ``_figure`` (figures that show once), ``_drawing`` (arrays, masks, boxes),
``_colors``, ``_text`` (labels drawn with PIL).
"""
from ._colors import FP_COLOR, MISSED_COLOR, TP_COLOR, random_colors
from ._drawing import apply_mask, draw_box
from ._figure import NotebookFigure
from .boxes import draw_boxes, draw_rois
from .evaluation import display_differences, plot_overlaps, plot_precision_recall
from .instances import display_instances, draw_instances, side_by_side
from .samples import display_dataset_samples, display_images, display_top_masks
from .tables import display_table, display_weight_stats
from .training import plot_loss_curves, plot_loss_history, plot_losses, read_tensorboard_scalars

__all__ = [
    "random_colors", "apply_mask", "draw_box", "NotebookFigure",
    "TP_COLOR", "FP_COLOR", "MISSED_COLOR",
    "display_instances", "side_by_side", "draw_instances",
    "display_images", "display_top_masks", "display_dataset_samples",
    "draw_boxes", "draw_rois",
    "display_differences", "plot_precision_recall", "plot_overlaps",
    "plot_losses", "plot_loss_history", "plot_loss_curves", "read_tensorboard_scalars",
    "display_table", "display_weight_stats",
]
