"""No oneDNN line reaches stderr while a model trains and detects.

TensorFlow's oneDNN graph pass has a Transpose kernel for floats only; meeting a Transpose of
another type it logs once per process "oneDNN supports DT_UINT8 (DT_INT32, ...) only on
platforms with AVX-512" to stderr, in red in a notebook, after start-up, where nothing holds it
back. The model has no such Transpose (the ground-truth masks are transposed as floats, the
FPN's upsampling has no ``tf.tile`` whose gradient transposes int32 shapes); this runs a tiny
training (validation, the batch-norm pass, calibration) and a detection with oneDNN on and
reads the process's stderr.
"""
import os
import subprocess
import sys

import pytest

SCRIPT = """
import maskrcnn
from maskrcnn import MaskRCNN
from maskrcnn.data.readers.shapes import ShapesDataset
from maskrcnn.presets import TinyShapesConfig

class Config(TinyShapesConfig):
    STEPS_PER_EPOCH = 2
    VALIDATION_STEPS = 1
    BN_RECOMPUTE_IMAGES = 4

train, val = ShapesDataset(6, 64, 64, seed=0), ShapesDataset(4, 64, 64, seed=1)
model = MaskRCNN("training", Config(), MODEL_DIR)
model.train(train, val, learning_rate=0.01, epochs=1, layers="all", verbose=0,
            calibration_dataset=val)
detector = MaskRCNN("inference", Config(), MODEL_DIR)
detector.load_weights(model.find_last())
image = train.load_image_and_masks(train.image_ids[0])[0]
print("detected", len(detector.detect([image])[0]["scores"]))
"""


@pytest.mark.slow
def test_training_and_detection_write_no_onednn_line(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "MASKRCNN_TF_STARTUP_LOG"}
    env["TF_ENABLE_ONEDNN_OPTS"] = "1"  # as maskrcnn train sets it (off on some CPUs)
    code = f"MODEL_DIR = {str(tmp_path)!r}\n" + SCRIPT
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env=env, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "detected" in result.stdout
    for word in ("oneDNN", "DT_UINT8", "DT_INT32", "AVX-512"):
        assert word not in result.stderr, result.stderr[-3000:]
