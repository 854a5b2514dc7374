"""The demo: train on synthetic shapes from scratch, evaluate on held-out images, draw figures.

``maskrcnn demo`` runs it. The default fits a 2-core CPU in under ten minutes; ``--epochs``,
``--steps``, ``--size`` and ``--backbone`` make longer or GPU runs.
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass

from .data import ShapesDataset
from .data.transforms import extract_bboxes
from .presets import ShapesConfig

__all__ = ["ShapesConfig", "DemoResult", "run_demo"]  # ShapesConfig: its old home


@dataclass
class DemoResult:
    map50: float
    map_range: float
    coco_segm_ap: float
    checkpoint: str
    seconds: float
    history: dict
    evaluation: object = None  # the EvaluationResult: VOC and COCO tables of the held-out set
    calibration: object = None  # how training chose the operating threshold (a Calibration)


def run_demo(output_dir: str = "figures", model_dir: str = "logs", epochs: int = 8,
             steps: int | None = None, train_images: int = 600, test_images: int = 60,
             size: int = 128, backbone: str = "small", images_per_gpu: int | None = None,
             seed: int = 0, verbose: int | str = 2) -> DemoResult:
    """Train, evaluate and draw; returns the figures of merit. The last quarter of the
    epochs runs at a tenth of the learning rate (matterport's last-stage recipe)."""
    from . import visualize
    from .evaluation import evaluate_model
    from .mask_rcnn import MaskRCNN

    start = time.time()

    class DemoConfig(ShapesConfig):
        IMAGE_MIN_DIM = IMAGE_MAX_DIM = size
        RPN_ANCHOR_SCALES = tuple(int(s * size / 128) for s in ShapesConfig.RPN_ANCHOR_SCALES)
        BACKBONE = backbone
        STEPS_PER_EPOCH = steps or ShapesConfig.STEPS_PER_EPOCH
        IMAGES_PER_GPU = images_per_gpu or ShapesConfig.IMAGES_PER_GPU

    config = DemoConfig()
    train_set = ShapesDataset(train_images, size, size, seed=seed)
    val_set = ShapesDataset(max(config.BATCH_SIZE * config.VALIDATION_STEPS, 24), size, size,
                            seed=seed + 1)
    test_set = ShapesDataset(test_images, size, size, seed=seed + 2)
    model = MaskRCNN("training", config, model_dir)
    first = max(1, epochs - max(1, epochs // 4)) if epochs > 1 else 1
    stages = [("all", first, config.LEARNING_RATE)]
    if epochs > first:
        stages.append(("all", epochs, config.LEARNING_RATE / 10))
    history: dict[str, list] = {}
    for h in model.train_schedule(train_set, val_set, stages, verbose=verbose):
        for key, values in h.history.items():
            history.setdefault(key, []).extend(float(v) for v in values)
    checkpoint = model.find_last()
    evaluation = evaluate_model(model, test_set, batch_size=config.BATCH_SIZE, verbose=False)

    os.makedirs(output_dir, exist_ok=True)
    shown = [test_set.load_image_and_masks(i) for i in test_set.image_ids[:3]]
    images = [image for image, _, _ in shown]
    gts = [(extract_bboxes(masks), masks, class_ids) for _, masks, class_ids in shown]
    visualize.side_by_side(images, gts, model.detect(images), test_set.class_names,
                           save_path=os.path.join(output_dir, "demo_detections.png"),
                           figsize=(8, 4 * len(shown)))
    visualize.plot_losses(history, title="Shapes demo: losses per epoch",
                          save_path=os.path.join(output_dir, "demo_loss.png"))
    segm_ap = float(evaluation.coco_segm.summary["AP"].iloc[0])
    return DemoResult(evaluation.mAP50, evaluation.mAP, segm_ap, checkpoint,
                      time.time() - start, history, evaluation, model.calibration)
