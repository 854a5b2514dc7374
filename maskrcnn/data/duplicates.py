"""Duplicates in a dataset: the same image twice (byte for byte, or nearly: a re-encoded,
resized or brightened copy), and the same object drawn twice in one image.

Images are compared by a SHA-1 of the file's bytes and by a difference hash (dHash): the
image in grey, shrunk to ``HASH_SIZE + 1`` x ``HASH_SIZE`` pixels by area averaging, one bit
per pair of horizontal neighbours (left brighter than right). Re-encoding, resizing and a
change of brightness or contrast leave most bits as they are; two different photos differ in
about half of them. Instances are compared by mask IoU, only for pairs whose boxes overlap.
"""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass

import numpy as np
from PIL import Image

from .problems import Problem

#: The hash is HASH_SIZE x HASH_SIZE bits (256).
HASH_SIZE = 16
#: Images whose hashes differ in at most this many bits are near-identical (5 % of 256).
NEAR_BITS = 12
#: Instances of one image whose masks overlap with an IoU above this are near-duplicates.
INSTANCE_IOU = 0.75


def difference_hash(image: np.ndarray, size: int = HASH_SIZE) -> np.ndarray:
    """dHash of an (H, W[, C]) image: ``size * size`` bits packed into uint64 words."""
    grey = Image.fromarray(np.asarray(image, np.uint8)).convert("L").convert("F")
    small = np.asarray(grey.resize((size + 1, size), Image.Resampling.BOX))
    packed = np.packbits(small[:, :-1] > small[:, 1:])
    return np.pad(packed, (0, -len(packed) % 8)).view(np.uint64)


def file_digest(path) -> str | None:
    """SHA-1 of a file's bytes (hex), None when there is no such file."""
    if not path or not os.path.isfile(path):
        return None
    digest = hashlib.sha1()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass(frozen=True)
class Fingerprint:
    """What identifies one image of a dataset: where it is, its file digest and its dHash."""

    file: str
    item: str
    digest: str | None
    dhash: np.ndarray
    split: str | None = None

    def name(self) -> str:
        return f"{self.split} {self.item}" if self.split else self.item


def _first_near(hashes: np.ndarray, splits: np.ndarray, near_bits: int, across: bool,
                block: int = 128) -> tuple[np.ndarray, np.ndarray]:
    """Per image, the first earlier one whose hash is at most ``near_bits`` away (-1: none)
    and that distance; all pairs, a block of rows at a time (quadratic: some seconds for
    20,000 images)."""
    n = len(hashes)
    first, distance = np.full(n, -1), np.zeros(n, int)
    for b0 in range(0, n, block):
        b1 = min(n, b0 + block)
        bits = np.zeros((b1 - b0, b1), np.uint16)
        for word in range(hashes.shape[1]):
            bits += np.bitwise_count(hashes[b0:b1, word, None] ^ hashes[None, :b1, word])
        close = (bits <= near_bits) & (np.arange(b1)[None, :] < np.arange(b0, b1)[:, None])
        if across:
            close &= splits[None, :b1] != splits[b0:b1, None]
        match = close.argmax(axis=1)
        first[b0:b1] = np.where(close.any(axis=1), match, -1)
        distance[b0:b1] = bits[np.arange(b1 - b0), match]
    return first, distance


def duplicate_images(fingerprints: list[Fingerprint], near_bits: int = NEAR_BITS,
                     across_splits_only: bool = False) -> list[Problem]:
    """Warnings for images that repeat an earlier one, each naming both files: byte-identical
    (same digest), else near-identical (hashes at most ``near_bits`` apart). Each image is
    reported once, against the first image it repeats. ``across_splits_only``: compare
    images of different splits only (those within a split were compared already)."""
    if not fingerprints:
        return []
    splits = np.array([str(f.split) for f in fingerprints])
    near, distance = _first_near(np.stack([f.dhash for f in fingerprints]), splits, near_bits,
                                 across_splits_only)
    problems, by_digest = [], {}
    for j, this in enumerate(fingerprints):
        same = [i for i in by_digest.get(this.digest, [])
                if not across_splits_only or splits[i] != splits[j]]
        if this.digest:
            by_digest.setdefault(this.digest, []).append(j)
        if same:
            first, how = same[0], "byte-identical to"
        elif near[j] >= 0:
            first, how = int(near[j]), (f"near-identical (perceptual hashes {distance[j]} bits "
                                        "apart) to")
        else:
            continue
        other = fingerprints[first]
        why = ("the same picture in two splits makes the evaluation too optimistic"
               if other.split != this.split else "the same picture counts twice")
        problems.append(Problem(this.file, this.name(), f"{how} {other.name()} "
                                f"({other.file}); {why}", "warning"))
    return problems


def duplicate_instances(masks: np.ndarray, boxes: np.ndarray, class_ids: np.ndarray,
                        threshold: float = INSTANCE_IOU) -> list[tuple[int, int, float]]:
    """Pairs (i, j, IoU), i < j, of instances whose masks overlap with IoU above
    ``threshold``. Only pairs whose (y1, x1, y2, x2) boxes intersect are compared, each on
    the crop of its two boxes; crowd regions (negative class ids) are left out."""
    keep = np.flatnonzero(np.asarray(class_ids) > 0)
    b = boxes[keep]
    top, left = np.maximum(b[:, None, 0], b[None, :, 0]), np.maximum(b[:, None, 1], b[None, :, 1])
    bottom = np.minimum(b[:, None, 2], b[None, :, 2])
    right = np.minimum(b[:, None, 3], b[None, :, 3])
    found = []
    for a, c in zip(*np.nonzero(np.triu((bottom > top) & (right > left), k=1))):
        i, j = int(keep[a]), int(keep[c])
        y1, x1 = np.minimum(boxes[i, :2], boxes[j, :2])
        y2, x2 = np.maximum(boxes[i, 2:], boxes[j, 2:])
        one, two = masks[y1:y2, x1:x2, i], masks[y1:y2, x1:x2, j]
        union = np.count_nonzero(one | two)
        iou = np.count_nonzero(one & two) / union if union else 0.0
        if iou > threshold:
            found.append((i, j, float(iou)))
    return found


def near_groups(paths: list, near_bits: int = NEAR_BITS) -> list[int]:
    """Per image file, the index of the first file it repeats (byte-identical or
    near-identical, as :func:`duplicate_images` flags them), directly or through others;
    its own index when it repeats none or cannot be read."""
    from .image_io import read_image

    readable = [i for i, p in enumerate(paths) if p and os.path.isfile(p)]
    group = list(range(len(paths)))
    if not readable:
        return group
    hashes = np.stack([difference_hash(read_image(paths[i])) for i in readable])
    near = _first_near(hashes, np.zeros(len(readable)), near_bits, False)[0]
    first_of = {}
    for n, i in enumerate(readable):
        same = first_of.setdefault(file_digest(paths[i]), i)
        if same != i:
            group[i] = group[same]
        elif near[n] >= 0:
            group[i] = group[readable[near[n]]]
    return group
