"""Detection on huge images: masks kept as box crops, memory bounded by the image, not by the
image times its detections (issue 14, case 8: a 12000 x 9000 photo was killed at 17.9 GB)."""
import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import skimage.transform
import tensorflow as tf

from maskrcnn.data.box_masks import BoxMasks
from maskrcnn.modeling.mask_head import paste_mask_crops, paste_masks

# A random tiny model made to detect 100 instances an image (threshold 0, the background
# logit lowered, box NMS nearly off, mask NMS off), over one image file; prints its RSS
# figures as JSON.
CHILD = textwrap.dedent("""
    import json, os, resource, sys
    import keras
    import numpy as np
    from maskrcnn import MaskRCNN
    from maskrcnn.inference import detect_folder
    from maskrcnn.presets import TinyShapesConfig

    def rss():
        with open("/proc/self/status") as f:
            return next(int(s.split()[1]) * 1024 for s in f if s.startswith("VmRSS"))

    class Config(TinyShapesConfig):
        NAME, BOX_CONVENTION, IMAGES_PER_GPU = "huge", sys.argv[3], 1
        POST_NMS_ROIS_INFERENCE, DETECTION_MAX_INSTANCES = 200, 100
        DETECTION_MIN_CONFIDENCE, DETECTION_NMS_THRESHOLD = 0.0, 0.95
        DETECTION_MASK_NMS_THRESHOLD = DETECTION_MASK_CONTAINMENT = None  # NMS off here too
        DETECTION_MASK_NMS_ACROSS_CLASSES = None

    keras.utils.set_random_seed(0)
    model = MaskRCNN("inference", Config(), model_dir=sys.argv[2])
    for layer in model.keras_model.leaf_layers():
        if layer.name == "mrcnn_class_logits":
            kernel, bias = layer.get_weights()
            bias[0] = -20.0
            layer.set_weights([kernel, bias])
    model.detect([np.zeros((64, 64, 3), np.uint8)])  # traced before the baseline
    baseline = rss()
    import tracemalloc
    tracemalloc.start()  # numpy's arrays are traced: the masks, crops, copies and pictures
    df = detect_folder(model, sys.argv[1], os.path.join(sys.argv[2], "out"), progress=False)
    traced = tracemalloc.get_traced_memory()[1]
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps({"baseline": baseline, "peak": peak, "traced_peak": traced,
                      "status": df["status"].tolist(),
                      "instances": df["instances"].tolist()}))
""")


def run_child(image_path, folder, convention):
    out = subprocess.run([sys.executable, "-c", CHILD, str(image_path), str(folder),
                          convention], capture_output=True, text=True, timeout=1200,
                         env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/status")
def test_detect_folder_on_a_huge_image_stays_within_a_bound_of_its_size(tmp_path):
    """6000 x 4500 with 100 detections: the arrays allocated while detecting peak under 10
    bytes per image pixel and 200 MB (tracemalloc in the child: the full (H, W, N) masks
    alone would be 100 bytes a pixel), and every output is written. Peak RSS growth is
    printed, not asserted: alone it is about 300 MB (5.1 GB before the box crops), but it
    read 3.2 GB once late in a full suite run, with the traced figure not recorded then."""
    from PIL import Image

    h, w = 4500, 6000
    small = np.random.default_rng(0).integers(0, 256, (h // 100, w // 100, 3), dtype=np.uint8)
    Image.fromarray(small).resize((w, h), Image.BILINEAR).save(tmp_path / "huge.jpg",
                                                               quality=90)
    figures = run_child(tmp_path / "huge.jpg", tmp_path, "matterport")
    assert figures["status"] == ["ok"] and figures["instances"] == [100]
    growth, traced = figures["peak"] - figures["baseline"], figures["traced_peak"]
    print(f"peak RSS growth {growth / 2**20:.0f} MB, traced arrays {traced / 2**20:.0f} MB")
    # The decoded image is 3 bytes a pixel; the picture is drawn at most 4096 pixels on a
    # side. The (H, W, N) masks alone would take 100 bytes a pixel.
    assert traced < 10 * h * w + 200 * 2**20, f"arrays peaked at {traced / 2**30:.2f} GB"
    for name in ("images.csv", "summary.csv", "detections.json", "annotated/huge.jpg"):
        assert os.path.isfile(tmp_path / "out" / name), name
    with Image.open(tmp_path / "out" / "annotated" / "huge.jpg") as picture:
        assert max(picture.size) == 4096  # drawn shrunk


def old_paste_as_matterport(probabilities, rois, h, w):
    """The full-array paste as it was before box crops, written out independently."""
    out = np.zeros((h, w, len(rois)), bool)
    for i, (y1, x1, y2, x2) in enumerate(rois):
        out[y1:y2, x1:x2, i] = skimage.transform.resize(
            probabilities[i], (y2 - y1, x2 - x1), order=1, mode="constant",
            anti_aliasing=False) >= 0.5
    return out


@pytest.mark.parametrize("shape", [(64, 64, 3), (150, 230, 3)])
def test_box_crops_equal_the_full_masks(trained_tiny, shape):
    """detect(masks="crops") gives the same masks as masks="full" and as the old full-array
    paste of the graph's own mask probabilities; "auto" gives the array for such sizes."""
    model, _ = trained_tiny
    image = np.random.default_rng(1).integers(0, 256, shape, dtype=np.uint8)
    full = model.detect([image], masks="full")[0]
    crops = model.detect([image], masks="crops")[0]
    auto = model.detect([image])[0]
    assert isinstance(crops["masks"], BoxMasks) and isinstance(auto["masks"], np.ndarray)
    assert len(full["rois"]) > 0
    for key in ("rois", "class_ids", "scores"):
        np.testing.assert_array_equal(crops[key], full[key])
    np.testing.assert_array_equal(np.asarray(crops["masks"]), full["masks"])
    np.testing.assert_array_equal(auto["masks"], full["masks"])

    predictor = model.predictor
    molded, metas = predictor.mold_inputs([image])
    detections, probabilities = predictor.run_graph(
        np.stack(molded), np.stack([predictor.normalized_window(metas[0])]))
    kept = detections[0].numpy()[:, 4] > 0
    old = old_paste_as_matterport(probabilities[0].numpy()[kept], full["rois"], *shape[:2])
    np.testing.assert_array_equal(full["masks"], old)


def test_aligned_crops_equal_the_full_frame_paste():
    """The aligned convention's crops, placed in the image, are paste_masks' full-frame
    result (boxes at sub-pixel positions, some reaching past the image), but for float
    rounding where a sample is exactly the threshold: an all-ones mask whose box edges lie on
    pixel centres samples 0.5 there, which the two frames may round either side."""
    rng = np.random.default_rng(3)
    probabilities = rng.random((12, 28, 28)).astype(np.float32)
    probabilities[0] = 1.0
    y1, x1 = rng.uniform(-5, 100, 12), rng.uniform(-5, 140, 12)
    boxes = np.stack([y1, x1, y1 + rng.uniform(1, 60, 12), x1 + rng.uniform(1, 60, 12)], 1)
    boxes[0] = [10.5, 20.5, 30.5, 40.5]
    expected = paste_masks(tf.constant(probabilities), tf.constant(boxes, tf.float32),
                           120, 160).numpy()
    crops, regions = paste_mask_crops(probabilities, boxes, 120, 160)
    pasted = BoxMasks(crops, regions, 120, 160).full()
    np.testing.assert_array_equal(pasted[..., 1:], expected[..., 1:])
    differ = np.argwhere(pasted[..., 0] != expected[..., 0])
    assert (np.isin(differ[:, 0], [10, 30]) | np.isin(differ[:, 1], [20, 40])).all()
    np.testing.assert_array_equal(pasted[11:30, 21:40, 0], True)


def test_detect_refuses_an_unknown_mask_format(trained_tiny):
    from maskrcnn.errors import ConfigError

    with pytest.raises(ConfigError, match="masks must be one of"):
        trained_tiny[0].detect([np.zeros((64, 64, 3), np.uint8)], masks="sparse")
