"""Mask head (matterport's ``build_fpn_mask_graph``), its loss, and pasting its masks back."""
from __future__ import annotations

import keras
import numpy as np
import skimage.transform
import tensorflow as tf
from keras import layers

from .batch_norm import conv_bn


@keras.saving.register_keras_serializable(package="maskrcnn")
class UpsamplingDeconv(layers.Conv2DTranspose):
    """A transposed convolution whose stride equals its kernel size (matterport's 2x2,
    stride 2 ``mrcnn_mask_deconv``), run as one matmul and a depth-to-space shuffle.

    Every output pixel then gets exactly one input pixel: out[h*s+i, w*s+j, o] =
    sum_c in[h, w, c] * kernel[i, j, o, c]. The kernel keeps Keras' (kh, kw, out, in) shape,
    so weights load as before. TensorFlow's CPU Conv2DBackpropInput, which Conv2DTranspose
    runs on, reaches about a third of the matmul rate here (155 ms of a 3.4 s 800x1024
    inference). Other strides and paddings fall back to Conv2DTranspose.
    """

    def call(self, inputs):
        kh, kw, units, channels = self.kernel.shape
        if (kh, kw) != tuple(self.strides) or kh != kw or self.padding != "valid":
            return super().call(inputs)
        kernel = tf.cast(self.kernel, inputs.dtype)
        # (kh, kw, out, in) -> (in, kh * kw * out), in depth_to_space's channel order.
        kernel = tf.reshape(tf.transpose(kernel, [3, 0, 1, 2]), [channels, kh * kw * units])
        shape = tf.shape(inputs)
        flat = tf.matmul(tf.reshape(inputs, [-1, channels]), kernel)
        out = tf.nn.depth_to_space(tf.reshape(flat, [shape[0], shape[1], shape[2], -1]), kh)
        if self.use_bias:
            out = tf.nn.bias_add(out, tf.cast(self.bias, out.dtype))
        return self.activation(out) if self.activation is not None else out


def build_mask_head(config) -> keras.Model:
    """(M, MASK_POOL_SIZE, MASK_POOL_SIZE, C) pooled ROIs -> mask logits
    (M, 2*MASK_POOL_SIZE, 2*MASK_POOL_SIZE, NUM_CLASSES); a sigmoid makes them probabilities."""
    channels = config.MASK_HEAD_CHANNELS
    s = config.MASK_POOL_SIZE
    x = pooled = keras.Input(shape=(s, s, config.TOP_DOWN_PYRAMID_SIZE), name="input_mask_rois")
    for i in range(1, 5):
        x = conv_bn(x, channels, 3, f"mrcnn_mask_conv{i}", f"mrcnn_mask_bn{i}", padding="same")
        x = layers.Activation("relu")(x)
    x = UpsamplingDeconv(channels, 2, strides=2, activation="relu", name="mrcnn_mask_deconv")(x)
    logits = layers.Conv2D(config.NUM_CLASSES, 1, name="mrcnn_mask")(x)
    return keras.Model(pooled, logits, name="mask_head")


def select_class_masks(mask_logits: tf.Tensor, class_ids: tf.Tensor) -> tf.Tensor:
    """(B, P, h, w, NUM_CLASSES) logits, (B, P) class ids -> (B, P, h, w) logits of that class."""
    per_class = tf.transpose(mask_logits, [0, 1, 4, 2, 3])
    return tf.gather(per_class, tf.maximum(tf.cast(class_ids, tf.int32), 0), batch_dims=2)


def mrcnn_mask_loss(target_masks: tf.Tensor, target_class_ids: tf.Tensor,
                    mask_logits: tf.Tensor) -> tf.Tensor:
    """Binary cross-entropy of the target class's mask over positive ROIs, per pixel.
    target_masks (B, P, h, w) 0/1; target_class_ids (B, P); mask_logits (B, P, h, w, C)."""
    logits = tf.cast(select_class_masks(mask_logits, target_class_ids), tf.float32)
    bce = tf.nn.sigmoid_cross_entropy_with_logits(labels=target_masks, logits=logits)
    per_roi = tf.reduce_mean(bce, axis=[2, 3])
    positive = tf.cast(target_class_ids > 0, tf.float32)
    return tf.math.divide_no_nan(tf.reduce_sum(per_roi * positive), tf.reduce_sum(positive))


def _sampling_frames(boxes: tf.Tensor, rows: tf.Tensor, cols: tf.Tensor, mh: int, mw: int):
    """(K, 4) crop_and_resize boxes in the 1-padded (mh + 2, mw + 2) masks that sample mask k
    at the pixel centres rows[k] = (first, last) and cols[k] of an image whose pixels hold
    boxes[k] (y1, x1, y2, x2, continuous); a pixel centre at the box edge samples between the
    mask's edge cell and the zero padding."""
    bh = tf.maximum(boxes[:, 2] - boxes[:, 0], 1e-3)
    bw = tf.maximum(boxes[:, 3] - boxes[:, 1], 1e-3)

    def mask_coord(pixel_centre, start, size, cells):  # index in the padded mask
        return (pixel_centre - start) / size * cells - 0.5 + 1.0

    y_first = mask_coord(rows[:, 0], boxes[:, 0], bh, mh)
    y_last = mask_coord(rows[:, 1], boxes[:, 0], bh, mh)
    x_first = mask_coord(cols[:, 0], boxes[:, 1], bw, mw)
    x_last = mask_coord(cols[:, 1], boxes[:, 1], bw, mw)
    return tf.stack([y_first / (mh + 1), x_first / (mw + 1),
                     y_last / (mh + 1), x_last / (mw + 1)], axis=1)


def paste_masks(masks: tf.Tensor, boxes: tf.Tensor, height, width,
                threshold: float = 0.5, chunk: int = 16) -> tf.Tensor:
    """Paste (K, h, w) mask probabilities into (height, width, K) bool image masks.

    boxes (K, 4) are y1, x1, y2, x2 in image pixels (continuous coordinates). Each output
    pixel samples the mask bilinearly at its centre; outside the box the mask is 0. This is
    one crop_and_resize per chunk of masks: the image frame is the "crop" of the mask.
    :func:`paste_mask_crops` samples the same way over the pixels near each box only.
    """
    k = tf.shape(masks)[0]
    mh, mw = masks.shape[1], masks.shape[2]
    padded = tf.pad(tf.cast(masks, tf.float32), [[0, 0], [1, 1], [1, 1]])[..., None]
    boxes = tf.cast(boxes, tf.float32)
    hf, wf = tf.cast(height, tf.float32), tf.cast(width, tf.float32)
    ones = tf.ones([k], tf.float32)
    frame = _sampling_frames(boxes, tf.stack([0.5 * ones, (hf - 0.5) * ones], axis=1),
                             tf.stack([0.5 * ones, (wf - 0.5) * ones], axis=1), mh, mw)
    out = tf.TensorArray(tf.bool, size=0, dynamic_size=True, infer_shape=False)
    for start in tf.range(0, k, chunk):
        end = tf.minimum(start + chunk, k)
        pasted = tf.image.crop_and_resize(padded, frame[start:end], tf.range(start, end),
                                          tf.stack([height, width]))
        out = out.write(start // chunk, pasted[..., 0] >= threshold)
    pasted = tf.cond(k > 0, lambda: out.concat(),
                     lambda: tf.zeros([0, height, width], dtype=tf.bool))
    return tf.transpose(pasted, [1, 2, 0])


def paste_mask_crops(masks, boxes: np.ndarray, height: int, width: int,
                     threshold: float = 0.5):
    """:func:`paste_masks` mask by mask over the pixels around each box only: returns the
    bool crops (a generator: pasted as they are taken, so that only one is unpacked at a
    time) and their (K, 4) int regions (y1, x1, y2, x2, exclusive ends) in the image.

    A region is the box widened by one mask cell each side (beyond it the sample is 0), so
    memory follows the boxes, not the image. The crop's frame is the full frame restricted
    to the region: the same samples up to float rounding (a pixel within about 1e-6 of the
    threshold may differ from :func:`paste_masks`).
    """
    masks = tf.convert_to_tensor(masks, tf.float32)
    boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
    mh, mw = int(masks.shape[1]), int(masks.shape[2])
    cell = np.maximum(boxes[:, 2:] - boxes[:, :2], 1e-3) / [mh, mw]
    low = np.clip(np.floor(boxes[:, :2] - cell), 0, [height, width]).astype(np.int64)
    high = np.clip(np.ceil(boxes[:, 2:] + cell), 0, [height, width]).astype(np.int64)
    regions = np.concatenate([low, high], axis=1)
    frames = _sampling_frames(tf.constant(boxes, tf.float32),
                              tf.constant(regions[:, 0::2] + [0.5, -0.5], tf.float32),
                              tf.constant(regions[:, 1::2] + [0.5, -0.5], tf.float32), mh, mw)
    padded = tf.pad(masks, [[0, 0], [1, 1], [1, 1]])[..., None]

    def crops():
        for k, (y1, x1, y2, x2) in enumerate(regions):
            if y2 <= y1 or x2 <= x1:
                yield np.zeros((max(0, y2 - y1), max(0, x2 - x1)), bool)
                continue
            sampled = tf.image.crop_and_resize(padded[k:k + 1], frames[k:k + 1], [0],
                                               [int(y2 - y1), int(x2 - x1)])
            yield sampled.numpy()[0, ..., 0] >= threshold

    return crops(), regions


def paste_mask_crops_as_matterport(masks: np.ndarray, boxes: np.ndarray,
                                   threshold: float = 0.5):
    """Matterport's ``unmold_mask`` for each of (K, h, w) mask probabilities, kept in its
    box: resized with scikit-image (bilinear, ``mode="constant"``) to its rounded (K, 4) int
    box (y1, x1, y2, x2 in image pixels, y2/x2 exclusive) and thresholded at ``threshold``.
    Yields the (y2 - y1, x2 - x1) bool crops one by one. One small resize per mask:
    scikit-image's handling of the half pixel at the box border has no crop_and_resize
    equivalent."""
    for i, (y1, x1, y2, x2) in enumerate(np.asarray(boxes, dtype=np.int64)):
        if y2 <= y1 or x2 <= x1:
            yield np.zeros((max(0, y2 - y1), max(0, x2 - x1)), bool)
            continue
        resized = skimage.transform.resize(np.asarray(masks[i], np.float32), (y2 - y1, x2 - x1),
                                           order=1, mode="constant", anti_aliasing=False)
        yield resized >= threshold


def paste_masks_as_matterport(masks: np.ndarray, boxes: np.ndarray, height: int, width: int,
                              threshold: float = 0.5) -> np.ndarray:
    """:func:`paste_mask_crops_as_matterport` placed in a (height, width, K) bool image."""
    out = np.zeros((int(height), int(width), len(boxes)), dtype=bool)
    crops = paste_mask_crops_as_matterport(masks, boxes, threshold)
    for i, ((y1, x1, y2, x2), crop) in enumerate(zip(np.asarray(boxes, np.int64), crops)):
        if crop.size:
            out[y1:y2, x1:x2, i] = crop
    return out
