"""Open Images V5/V6 instance segmentation: the segmentation CSV, mask PNGs and class names.

Files (as published): ``<subset>-annotations-object-segmentation.csv`` with columns
``MaskPath, ImageID, LabelName, BoxID, BoxXMin, BoxXMax, BoxYMin, BoxYMax, PredictedIoU,
Clicks``; one binary PNG per instance (``MaskPath``), at its own resolution, packed in 16
shards ``<subset>-masks-<c>.zip`` by the first hex digit ``c`` of the image id; and
``class-descriptions-boxable.csv`` mapping MIDs (``/m/01g317``) to names (no header in V5/V6,
``LabelName,DisplayName`` header in V7). Image ids are 16-hex-digit strings and stay strings.

Before downloading, :func:`select_images` picks N images per class and lists the image files
and mask shards they need. The download itself is left to the official downloader (it reads
the ``<subset>/<ImageID>`` lines :meth:`Selection.write_image_list` writes).
"""
from __future__ import annotations

import difflib
import io
import os
import zipfile
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image, UnidentifiedImageError

from ...errors import DatasetError
from ..files import SplitSource, every_split, image_path_in_root, image_size
from ..image_io import shown
from ..problems import ReportingDataset

if TYPE_CHECKING:
    import pandas as pd

REQUIRED_COLUMNS = ("MaskPath", "ImageID", "LabelName")
DESCRIPTION_FILES = ("class-descriptions-boxable.csv", "oidv7-class-descriptions-boxable.csv",
                     "oidv6-class-descriptions.csv", "class-descriptions.csv")


def _read_csv(path, **kwargs) -> pd.DataFrame:
    import pandas as pd  # imported here: it is slow to import and only this reader needs it

    path = os.fspath(path)
    if not os.path.isfile(path):
        raise DatasetError(f"{path}: CSV file not found")
    try:
        return pd.read_csv(path, dtype=str, keep_default_na=False, **kwargs)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError,
            ValueError) as err:
        raise DatasetError(f"{path}: malformed CSV ({str(err).strip()[:200]})") from None


def read_class_descriptions(path) -> dict[str, str]:
    """MID -> display name from a class-descriptions CSV (with or without a header)."""
    table = _read_csv(path, header=None)
    if table.shape[1] < 2:
        raise DatasetError(f"{path}: expected two columns, MID and name")
    names = {}
    for row, (mid, name) in enumerate(zip(table[0], table[1]), start=1):
        if row == 1 and mid == "LabelName":
            continue  # V7 header
        if not mid.startswith("/"):
            raise DatasetError(f"{path}: line {row}: {mid!r} is not a MID such as /m/01g317")
        names[mid] = name
    return names


def read_segmentation_csv(path) -> pd.DataFrame:
    """The segmentation CSV as strings; DatasetError naming missing columns or empty cells."""
    table = _read_csv(path)
    missing = [c for c in REQUIRED_COLUMNS if c not in table.columns]
    if missing:
        raise DatasetError(f"{path}: missing column(s) {missing}; an Open Images segmentation "
                           f"CSV has {', '.join(REQUIRED_COLUMNS)}, BoxID, BoxXMin, ...")
    return table


def _find_descriptions(folder: str) -> str | None:
    for name in DESCRIPTION_FILES:
        if os.path.isfile(os.path.join(folder, name)):
            return os.path.join(folder, name)
    return None


def _mids_of(names: dict[str, str], class_names, where: str) -> list[str]:
    by_name = {}
    for mid, name in names.items():
        by_name.setdefault(name.lower(), mid)
    mids = []
    for name in class_names:
        mid = name if name in names else by_name.get(str(name).lower())
        if mid is None:
            close = difflib.get_close_matches(str(name), list(names.values()), n=5)
            raise DatasetError(f"{where}: no class named {name!r}" +
                               (f"; did you mean {close}?" if close else ""))
        mids.append(mid)
    return mids


@dataclass
class Selection:
    """Images picked by :func:`select_images` and what to download for them."""

    subset: str
    class_names: list
    image_ids: list
    rows: pd.DataFrame = field(repr=False)

    @property
    def image_files(self) -> list[str]:
        """``<subset>/<ImageID>`` per image: the official downloader's input lines."""
        return [f"{self.subset}/{i}" for i in self.image_ids]

    @property
    def mask_shards(self) -> list[str]:
        """The mask zips that hold the selected masks, e.g. ``train-masks-a.zip``."""
        return sorted({f"{self.subset}-masks-{i[0].lower()}.zip" for i in self.image_ids})

    def write_image_list(self, path) -> None:
        with open(path, "w", encoding="utf-8") as f:
            f.write("".join(line + "\n" for line in self.image_files))

    def write_csv(self, path) -> None:
        """The selected rows, a segmentation CSV :func:`load_openimages` reads."""
        self.rows.to_csv(path, index=False)


def select_images(segmentation_csv, class_descriptions, class_names, images_per_class: int,
                  *, subset: str = "train", seed: int = 0) -> Selection:
    """Pick up to ``images_per_class`` random images (seeded) for each class name.

    The rows kept are every row of a chosen class in a picked image, so an image picked for
    one class also brings its masks of the other chosen classes.
    """
    if images_per_class < 1:
        raise DatasetError(f"images_per_class must be at least 1, got {images_per_class}")
    table = read_segmentation_csv(segmentation_csv)
    names = read_class_descriptions(class_descriptions)
    mids = _mids_of(names, class_names, os.fspath(class_descriptions))
    rows = table[table["LabelName"].isin(mids)]
    rng = np.random.default_rng(seed)
    picked: dict[str, None] = {}
    for mid in mids:
        ids = sorted(set(rows.loc[rows["LabelName"] == mid, "ImageID"]))
        for k in rng.permutation(len(ids))[:images_per_class]:
            picked[ids[k]] = None
    image_ids = list(picked)
    rows = rows[rows["ImageID"].isin(picked)].reset_index(drop=True)
    return Selection(subset, [names[m] for m in mids], image_ids, rows)


class MaskStore:
    """Mask PNGs by file name, from a folder (any depth) or its ``*-masks-<c>.zip`` shards."""

    def __init__(self, folder: str) -> None:
        self.folder = folder
        self.files: dict[str, str] = {}
        self.zips: dict[str, str] = {}
        for root, _, files in os.walk(folder):
            for name in files:
                full = os.path.join(root, name)
                if name.lower().endswith(".png"):
                    self.files.setdefault(name, full)
                elif name.lower().endswith(".zip"):
                    try:
                        with zipfile.ZipFile(full) as archive:
                            for member in archive.namelist():
                                self.zips.setdefault(os.path.basename(member), full)
                    except (zipfile.BadZipFile, OSError) as err:
                        raise DatasetError(f"{full}: not a readable zip ({err})") from None

    def __contains__(self, name: str) -> bool:
        return name in self.files or name in self.zips

    def read(self, name: str) -> np.ndarray:
        """(h, w) bool mask at the PNG's own resolution."""
        where = self.files.get(name) or self.zips.get(name)
        try:
            if name in self.files:
                img = Image.open(where)
            else:
                with zipfile.ZipFile(where) as archive:
                    member = next(m for m in archive.namelist() if os.path.basename(m) == name)
                    img = Image.open(io.BytesIO(archive.read(member)))
            with img:
                return np.asarray(img.convert("L")) > 127
        except (UnidentifiedImageError, OSError, ValueError, SyntaxError,
                zipfile.BadZipFile, Image.DecompressionBombError) as err:
            raise DatasetError(f"{where}: cannot read mask {name} ({err})") from None


class OpenImagesDataset(ReportingDataset):
    """Open Images segmentation: masks read and resized to the image in ``load_mask``."""

    def load_mask(self, image_id: int) -> tuple[np.ndarray, np.ndarray]:
        """(H, W, N) bool masks (PNG resized bilinearly, thresholded at 0.5), (N,) int32."""
        info = self.image_info[image_id]
        if "width" in info:
            width, height = info["width"], info["height"]
        else:
            width, height = image_size(info["path"], self.max_image_pixels)
        masks, class_ids = [], []
        for mask_path, class_id in info["masks"]:
            small = self.mask_store.read(mask_path)
            if small.shape != (height, width):
                resized = Image.fromarray(small.astype(np.uint8) * 255).resize(
                    (width, height), Image.BILINEAR)
                small = np.asarray(resized) > 127
            if not small.any():
                self.problems.warning(info["path"], f"image {info['id']!r}, mask {mask_path}",
                                      "mask has zero area; left out")
                continue
            masks.append(small)
            class_ids.append(class_id)
        if not masks:
            return np.zeros((height, width, 0), dtype=bool), np.zeros((0,), dtype=np.int32)
        return np.stack(masks, axis=-1), np.array(class_ids, dtype=np.int32)


def load_openimages(segmentation_csv, image_dir=None, *, mask_dir=None,
                    class_descriptions=None, class_names=None, image_ids=None,
                    image_ext: str = ".jpg", strict: bool = True, source: str = "openimages",
                    max_image_pixels: int | None = None) -> OpenImagesDataset:
    """Read an Open Images segmentation CSV with its images and masks.

    ``image_dir``: folder of ``<ImageID><image_ext>`` (default: the CSV's folder).
    ``mask_dir``: folder of mask PNGs or shard zips (default: ``masks/`` beside the CSV if
    present, else the CSV's folder). ``class_descriptions``: MID -> name CSV (default: found
    beside the CSV; without one, classes are named by MID with a warning). ``class_names``:
    keep these classes (names or MIDs), in this order; ``image_ids``: keep these images.
    ``max_image_pixels``: images larger than this (width x height, default
    ``image_io.MAX_IMAGE_PIXELS``) are errors, refused before decoding.
    """
    path = os.fspath(segmentation_csv)
    folder = os.path.dirname(os.path.abspath(path))
    image_dir = os.fspath(image_dir) if image_dir is not None else folder
    if mask_dir is None:
        mask_dir = os.path.join(folder, "masks") if os.path.isdir(
            os.path.join(folder, "masks")) else folder
    mask_dir = os.fspath(mask_dir)
    table = read_segmentation_csv(path)
    dataset = OpenImagesDataset(strict)
    problems = dataset.problems
    class_descriptions = class_descriptions or _find_descriptions(folder)
    if class_descriptions is not None:
        names = read_class_descriptions(class_descriptions)
    else:
        names = {mid: mid for mid in table["LabelName"]}
        problems.warning(path, "classes", "no class-descriptions CSV found; classes are "
                                          "named by their MID")
    if class_names is not None:
        mids = _mids_of(names, class_names, os.fspath(class_descriptions or path))
    else:
        mids = sorted({m for m in table["LabelName"] if m in names},
                      key=lambda m: names[m].lower())
    class_ids = {mid: i for i, mid in enumerate(mids, start=1)}
    for mid in mids:
        dataset.add_class(source, class_ids[mid], names[mid])
    dataset.mids = dict(class_ids)
    dataset.max_image_pixels = max_image_pixels
    dataset.mask_store = MaskStore(mask_dir)
    wanted_images = None if image_ids is None else {str(i) for i in image_ids}

    images: dict[str, dict] = {}
    for row, record in enumerate(table.itertuples(index=False), start=2):
        item = f"line {row}"
        mask_path, image, mid = record.MaskPath, record.ImageID, record.LabelName
        if wanted_images is not None and image not in wanted_images:
            continue
        if not mask_path or not image or not mid:
            problems.error(path, item, "empty MaskPath, ImageID or LabelName")
            continue
        item = f"line {row} (image {image!r}, mask {shown(mask_path)})"
        if mid not in class_ids:
            if mid not in names:
                problems.error(path, item, f"unknown category {mid!r} (not in the class "
                                           "descriptions)")
            else:
                dataset.skip("masks of other classes")
            continue
        if image not in images:
            try:
                image_path = image_path_in_root(image_dir, image + image_ext)
            except DatasetError as err:
                problems.error(path, item, str(err))
                continue
            if not os.path.isfile(image_path):
                problems.error(path, item, f"image file not found: {image_path}")
                continue
            images[image] = {"path": image_path, "file_name": image + image_ext, "masks": [],
                             "boxes": []}
        if mask_path not in dataset.mask_store:
            problems.error(path, item, f"mask not found in {mask_dir} (it ships in "
                                       f"{image[0].lower()}-shard '*-masks-{image[0].lower()}"
                                       ".zip')")
            continue
        images[image]["masks"].append((mask_path, class_ids[mid]))
        images[image]["boxes"].append({k: getattr(record, k) for k in record._fields
                                       if k not in REQUIRED_COLUMNS})
    for image, info in images.items():
        dataset.add_image(source, image, **info)
    dataset.prepare()
    dataset.annotation_file = path
    return dataset


def splits(path) -> dict[str, SplitSource]:
    """The splits ``path`` offers: a segmentation CSV names none, so it is read whatever split is
    asked (:func:`maskrcnn.data.files.every_split`)."""
    return every_split(path)


def load(split_source: SplitSource, **options) -> OpenImagesDataset:
    """Read a segmentation CSV with the image folder it names (None: the CSV's folder);
    ``options`` go to :func:`load_openimages`."""
    return load_openimages(split_source.annotations, split_source.images, **options)
