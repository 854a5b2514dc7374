"""Every writer with its reader: write a dataset, read it back, get the same instances (masks
equal to the pixel, classes, ignore regions), on seeded random datasets."""
import json

import numpy as np
import pytest
from PIL import Image

from maskrcnn.data import load_coco, load_labelme, write_dataset

from .test_writers import read_back

CLASSES = ["ant", "bee", "cat"]


def random_polygon(rng, width, height):
    """A star-shaped polygon of integer points (simple: its points sorted by angle)."""
    cx, cy = rng.integers(8, width - 8), rng.integers(8, height - 8)
    n = int(rng.integers(3, 9))
    angles = np.sort(rng.uniform(0, 2 * np.pi, n))
    radii = rng.uniform(3, min(width, height) / 3, n)
    xs = np.clip(np.round(cx + radii * np.cos(angles)), 0, width)
    ys = np.clip(np.round(cy + radii * np.sin(angles)), 0, height)
    return np.stack([xs, ys], 1).ravel().astype(float).tolist()


def random_coco(tmp_path, seed):
    """A COCO dataset of 3 images: random polygons of random classes, and crowd regions."""
    rng = np.random.default_rng(seed)
    images_dir = tmp_path / "images"
    images_dir.mkdir()
    images, annotations = [], []
    for k in range(3):
        width, height = (int(v) for v in rng.integers(40, 140, 2))
        name = f"im{k}.png"
        Image.new("RGB", (width, height)).save(images_dir / name)
        images.append({"id": k + 1, "file_name": name, "width": width, "height": height})
        for _ in range(int(rng.integers(0, 5))):
            annotations.append({"id": len(annotations) + 1, "image_id": k + 1,
                                "category_id": int(rng.integers(1, 4)),
                                "segmentation": [random_polygon(rng, width, height)],
                                "iscrowd": 0})
        if rng.random() < 0.5:  # an ignore region: a crowd region of every class
            region = [random_polygon(rng, width, height)]
            annotations += [{"id": len(annotations) + 1 + c, "image_id": k + 1,
                             "category_id": c + 1, "segmentation": region, "iscrowd": 1}
                            for c in range(3)]
    path = tmp_path / "src.json"
    path.write_text(json.dumps({"images": images, "annotations": annotations, "categories": [
        {"id": i, "name": n} for i, n in enumerate(CLASSES, start=1)]}))
    return load_coco(path, images_dir), images_dir


def instances(dataset, image_id, crowd: bool):
    """Sorted (class name, mask bytes) of an image's instances (or of its crowd regions)."""
    masks, ids = dataset.load_mask(image_id)
    return sorted((dataset.class_names[abs(c)], masks[..., i].tobytes())
                  for i, c in enumerate(ids.tolist()) if (c < 0) == crowd)


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("fmt", ["coco", "via", "labelme", "yolo"])
def test_write_then_read_gives_the_same_instances(tmp_path, fmt, seed):
    source, images_dir = random_coco(tmp_path, seed)
    out = tmp_path / fmt
    report = write_dataset(source, fmt, out)
    back = read_back(fmt, report, out, images_dir)
    assert back.num_images == source.num_images
    crowds = 0
    for image_id in source.image_ids:
        assert back.image_info[image_id]["file_name"] == source.image_info[image_id][
            "file_name"]
        assert instances(back, image_id, False) == instances(source, image_id, False)
        regions = instances(source, image_id, True)
        crowds += len(regions)
        if fmt in ("coco", "labelme"):  # the ignore regions too (LabelMe has no list of
            # classes: of the classes some instance has)
            assert instances(back, image_id, True) == [
                r for r in regions if r[0] in back.class_names]
    if fmt in ("via", "yolo") and crowds:  # no crowd flag: left out, and said so
        assert report.skipped == {f"crowd regions left out ({fmt} has no crowd flag)": crowds}
    else:
        assert report.skipped == {}
    assert (report.fragments_dropped, report.instances_dropped) == (0, 0)


@pytest.mark.parametrize("fmt", ["coco", "via", "labelme", "yolo"])
def test_labelme_example_with_ignore_regions_written_and_read_back(tmp_path, fmt):
    from .test_readers_labelme import EXAMPLE, labelme_file

    data = tmp_path / "data_annotated"
    data.mkdir()
    for name, shapes in EXAMPLE.items():
        labelme_file(data, name, shapes)
    source = load_labelme(data)
    out = tmp_path / fmt
    back = read_back(fmt, write_dataset(source, fmt, out), out, data)
    assert back.class_names == source.class_names
    for image_id in source.image_ids:
        assert instances(back, image_id, False) == instances(source, image_id, False)
        if fmt in ("coco", "labelme"):
            assert instances(back, image_id, True) == instances(source, image_id, True)
