"""The two box conventions (Config.BOX_CONVENTION): how pixel boxes become the graph's 0..1
coordinates and back.

- "matterport": a box (y1, x1, y2, x2) with y2/x2 exclusive is normalised as
  (y1, x1, y2 - 1, x2 - 1) / (H - 1, W - 1, H - 1, W - 1), and back with
  round(b * (H - 1, W - 1, H - 1, W - 1) + (0, 0, 1, 1)). Matterport's weights were trained so.
- "aligned": boxes are divided by (H, W, H, W): continuous coordinates, pixel edges at
  integers (torchvision and detectron2 with ROIAlign's half-pixel offsets).

The functions are plain arithmetic, so they take numpy arrays or TensorFlow tensors alike
(``height`` / ``width`` may be Python numbers or scalar tensors).
"""
from __future__ import annotations


def box_frame(height, width, convention: str):
    """(shift, scale), each a 4-list: normalised = (pixels - shift) / scale."""
    if convention == "matterport":
        return [0.0, 0.0, 1.0, 1.0], [height - 1.0, width - 1.0, height - 1.0, width - 1.0]
    if convention == "aligned":
        return [0.0, 0.0, 0.0, 0.0], [height * 1.0, width * 1.0, height * 1.0, width * 1.0]
    raise ValueError(f"unknown box convention {convention!r}")


def normalize_boxes(boxes, height, width, convention: str):
    """(..., 4) pixel boxes (y2, x2 exclusive) in an image of (height, width) -> 0..1."""
    shift, scale = box_frame(height, width, convention)
    return (boxes - shift) / scale


def denormalize_boxes(boxes, height, width, convention: str):
    """Inverse of ``normalize_boxes``: (..., 4) normalised -> pixel boxes, not rounded."""
    shift, scale = box_frame(height, width, convention)
    return boxes * scale + shift
