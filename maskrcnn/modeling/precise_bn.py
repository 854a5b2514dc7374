"""Batch-norm statistics that match what training computed (detectron2's PreciseBN).

A network trained with TRAIN_BN normalises every batch with that batch's own mean and
variance. At 1-2 images per step those statistics move a lot from batch to batch and the
weights learn to rely on them; the moving averages Keras keeps (momentum 0.99, i.e. the last
~100 steps, each taken with different weights) can be far from what the final weights see,
and a model that fits its training images detects nearly nothing on them at inference.

``recompute_batch_norm_statistics`` runs training batches through the final weights in
training mode and sets each trained batch norm's moving mean and variance to the
equal-weight average of the batch statistics it saw (Wu & Johnson, "Rethinking 'Batch' in
BatchNorm", 2021; detectron2's ``PreciseBN`` hook). ``MaskRCNN.train`` calls it at the end
of training when batch norms were trained (``Config.BN_RECOMPUTE_IMAGES`` images).

Population statistics are not enough at 1-4 images per step: the backbone learns to rely on
each image's own statistics (shapes, 2 images per step: mAP50 0.53 on Keras' moving averages,
0.63 recomputed, 0.975 with per-image statistics in the backbone and recomputed ones in the
heads; benchmarks/bench_bn_statistics.py). ``set_inference_statistics(model, "image")``
normalises the backbone per image at inference (per sample: batching changes nothing), as
``Config.BN_INFERENCE_STATISTICS = "auto"`` does after TRAIN_BN at IMAGES_PER_GPU <= 4.
"""
from __future__ import annotations

import math
import warnings

import keras
import numpy as np
import tensorflow as tf

from .batch_norm import BatchNorm
from .network import leaf_layers_of

INFERENCE_STATISTICS = ("moving", "image", "batch")


def _network(model):
    """A MaskRCNN or its MaskRCNNNetwork -> the network."""
    return getattr(model, "keras_model", model)


def batch_norm_layers(model, trained_only: bool = True) -> list:
    """The model's batch-norm layers, in leaf-layer order; with ``trained_only`` only those
    that normalise with batch statistics in a training-mode call (trainable ones)."""
    found = [layer for layer in _network(model).leaf_layers()
             if isinstance(layer, keras.layers.BatchNormalization)]
    return [layer for layer in found if layer.trainable] if trained_only else found


def trained_batch_norms(model, train_bn: bool | None = None) -> list:
    """The batch norms a ``train`` call with the model's current trainable flags trains
    (none when ``train_bn`` is false; default: the model config's TRAIN_BN)."""
    network = _network(model)
    if train_bn is None:
        train_bn = bool(getattr(network.config, "TRAIN_BN", False))
    return batch_norm_layers(network) if train_bn else []


def _split(batch: dict, size: int) -> list[dict]:
    """A batch dict -> consecutive batches of at most ``size`` images."""
    count = int(batch["image"].shape[0])
    return [{k: v[start:start + size] for k, v in batch.items()}
            for start in range(0, count, size)]


def recompute_batch_norm_statistics(model, dataset, images: int | None = None,
                                    steps: int | None = None, augmentation=None,
                                    layers=None, seed: int | None = 0,
                                    verbose: int = 0) -> dict:
    """Set the moving mean and variance of trained batch norms to the equal-weight average
    of their batch statistics over training batches run through the current weights.

    Args:
        model: a MaskRCNN or MaskRCNNNetwork.
        dataset: a prepared Dataset (batches made as in training, without shuffling's
            randomness beyond ``seed``), or an iterable of training batch dicts.
        images: how many images to use (default: one pass over the dataset, at most 400);
            ``steps`` gives it in batches of IMAGES_PER_GPU images instead.
        augmentation: passed to the input pipeline (default none: inference images are not
            augmented).
        layers: the batch-norm layers to recompute (default: the trainable ones, which are
            the ones that used batch statistics in training).
    Each batch holds IMAGES_PER_GPU images, the batch a training replica normalises.
    Only forward passes: no weight other than the moving statistics changes.
    Returns {layer name: (mean, variance)} of the new statistics (float32 arrays).
    """
    network = _network(model)
    config = network.config
    per_batch = max(1, int(config.IMAGES_PER_GPU))
    layers = list(batch_norm_layers(network) if layers is None else layers)
    if not layers:
        return {}
    if steps is None:
        if images is None:
            images = min(400, len(dataset.image_ids)) if hasattr(dataset, "image_ids") else 400
        steps = max(1, math.ceil(int(images) / per_batch))
    if hasattr(dataset, "image_ids"):
        from ..data.pipeline import make_training_dataset
        batches = make_training_dataset(dataset, config, shuffle=True,
                                        augmentation=augmentation, seed=seed)
    else:
        batches = dataset

    def training_pass(batch):
        return network.compute_losses(batch, training=True)

    forward = tf.function(training_pass, reduce_retracing=True, jit_compile=False)

    def parts():
        for batch in batches:
            yield from _split(batch, per_batch)

    others = [layer for layer in batch_norm_layers(network, trained_only=False)
              if all(layer is not chosen for chosen in layers)]
    result, done = average_batch_statistics(layers, forward, parts(), steps, frozen=others)
    if verbose:
        print(f"batch-norm statistics of {len(layers)} layers recomputed from {done} batches "
              f"of {per_batch} image(s)")
    return result


def average_batch_statistics(layers, forward, batches, steps: int, frozen=()):
    """Run ``forward(batch)`` (a training-mode call through ``layers``) on up to ``steps``
    batches and set each layer's moving mean and variance to the mean over those batches of
    the batch mean and (biased) batch variance it computed. ``frozen`` batch norms keep
    their moving statistics during the passes. A ``tf.function`` ``forward`` must be traced
    here (the momentum is read when tracing). Returns ({name: (mean, variance)}, batches).
    """
    layers, frozen = list(layers), list(frozen)
    saved = [(layer, layer.momentum, layer.trainable) for layer in layers + frozen]
    sums = [[np.zeros(layer.moving_mean.shape, np.float64),
             np.zeros(layer.moving_variance.shape, np.float64)] for layer in layers]
    originals = [(layer.moving_mean.numpy(), layer.moving_variance.numpy()) for layer in layers]
    for layer in layers:
        layer.momentum = 0.0  # each call leaves exactly that batch's statistics
        layer.trainable = True
    for layer in frozen:
        layer.trainable = False
    done = 0
    try:
        for batch in batches:
            if done >= steps:
                break
            forward(batch)
            for total, layer in zip(sums, layers):
                total[0] += layer.moving_mean.numpy()
                total[1] += layer.moving_variance.numpy()
            done += 1
    finally:
        for layer, momentum, trainable in saved:
            layer.momentum, layer.trainable = momentum, trainable
        if done == 0:  # nothing ran (or the first pass failed): leave the layers as they were
            for layer, (mean, variance) in zip(layers, originals):
                layer.moving_mean.assign(mean)
                layer.moving_variance.assign(variance)
    if done == 0:
        raise ValueError("average_batch_statistics: no batch to run")
    result = {}
    for (mean, variance), layer in zip(sums, layers):
        mean, variance = (mean / done).astype(np.float32), (variance / done).astype(np.float32)
        layer.moving_mean.assign(mean.astype(layer.moving_mean.dtype))
        layer.moving_variance.assign(variance.astype(layer.moving_variance.dtype))
        result[layer.name] = (mean, variance)
    return result, done


# "auto" normalises the backbone per image when training normalised batches of at most this
# many images (per replica). Shapes, 128 px, from scratch, test mAP50 / COCO mask AP:
# 2 images per step: moving 0.53 / 37.0, recomputed 0.63 / 45.9, image 0.975 / 79.4;
# 4 images per step: moving 0.98 / 79.5, recomputed 0.977 / 81.7, image 0.993 / 84.0;
# 8 images per step: moving 0.93 / 71.7, recomputed 0.976 / 76.2, image 0.947 / 73.3.
IMAGE_STATISTICS_MAX_IMAGES = 4


def resolve_inference_statistics(config) -> str:
    """Config.BN_INFERENCE_STATISTICS -> "moving" or "image". "auto": "image" when TRAIN_BN
    is on with at most IMAGE_STATISTICS_MAX_IMAGES images per GPU (the backbone then learnt
    to rely on each image's own statistics), else "moving" (after the recompute)."""
    mode = getattr(config, "BN_INFERENCE_STATISTICS", "moving")
    if mode == "auto":
        small = int(getattr(config, "IMAGES_PER_GPU", 1)) <= IMAGE_STATISTICS_MAX_IMAGES
        return "image" if getattr(config, "TRAIN_BN", False) and small else "moving"
    return mode


def set_inference_statistics(model, mode: str) -> None:
    """Choose what the batch norms of ``model`` (a MaskRCNN or its network) normalise with
    at inference:

    - ``"moving"``: their moving mean and variance, all of them (Keras' rule);
    - ``"image"``: the backbone's batch norms each image's own statistics (per sample of the
      batch, so batching does not change results); the heads' batch norms, which see ROIs,
      their moving statistics (recomputed after training, see
      ``recompute_batch_norm_statistics``);
    - ``"batch"``: every batch norm the statistics of the whole tensor it is given, as a
      training-mode call computes them (diagnostics; the heads then see inference
      proposals, not training ROIs);
    - ``"auto"``: ``resolve_inference_statistics`` of the model's config.
    """
    network = _network(model)
    if mode == "auto":
        mode = resolve_inference_statistics(network.config)
    if mode not in INFERENCE_STATISTICS:
        raise ValueError(f"inference statistics must be one of {INFERENCE_STATISTICS} or "
                         f"'auto', got {mode!r}")
    backbone = {id(layer) for layer in leaf_layers_of(network.backbone)}
    for layer in batch_norm_layers(network, trained_only=False):
        if not isinstance(layer, BatchNorm):
            continue  # a custom backbone's Keras batch norm: Keras' rule
        if mode == "image":
            layer.inference_statistics = "image" if id(layer) in backbone else "moving"
        else:
            layer.inference_statistics = mode
    if getattr(model, "predictor", None) is not None:  # a MaskRCNN: trace detection anew
        model.predictor.reset()


def recompute_after_training(network, dataset, save_checkpoint=None, verbose=0) -> dict:
    """The Trainer's last step of ``train``: when batch norms of ``network`` (a
    MaskRCNNNetwork) were trained (TRAIN_BN with those layers trainable) and
    ``Config.BN_RECOMPUTE_IMAGES`` > 0, recompute their statistics on that many training
    images (at most one pass over ``dataset``), then call ``save_checkpoint()`` so that the
    run's last checkpoint holds them. Returns what ``recompute_batch_norm_statistics`` does
    ({} when nothing was recomputed)."""
    config = network.config
    images = int(getattr(config, "BN_RECOMPUTE_IMAGES", 0) or 0)
    layers = trained_batch_norms(network)
    backbone = [layer for layer in leaf_layers_of(network.backbone)
                if isinstance(layer, BatchNorm)]
    frozen = [layer.name for layer in backbone if not layer.trainable or not config.TRAIN_BN]
    if (layers and frozen and config.BN_INFERENCE_STATISTICS == "auto"
            and resolve_inference_statistics(config) == "image"):
        warnings.warn(
            f"BN_INFERENCE_STATISTICS='auto' normalises the backbone with each image's own "
            f"statistics at inference (TRAIN_BN at {config.IMAGES_PER_GPU} image(s) per GPU), "
            f"but this train() call kept {len(frozen)} backbone batch norms frozen "
            f"({frozen[0]}...): if they stay frozen (a pretrained backbone), set "
            f"BN_INFERENCE_STATISTICS = 'moving'", stacklevel=3)
    if not images or not layers or dataset is None:
        return {}
    if hasattr(dataset, "image_ids"):
        images = min(images, max(1, len(dataset.image_ids)))
    result = recompute_batch_norm_statistics(network, dataset, images=images, layers=layers,
                                             verbose=int(verbose == 1 or verbose is True))
    if save_checkpoint is not None:
        save_checkpoint()
    return result
