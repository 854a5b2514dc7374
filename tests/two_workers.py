"""One process of the two-worker tests (tests/test_multi_worker.py), run as a script:

    python tests/two_workers.py MODE OUT PORT0,PORT1 INDEX [CHECKPOINT]

MODE ``single``: no cluster; one process with the same global batch (2 images) over two
logical CPU devices (MirroredStrategy, one image each, as the two workers have), from the
initial weights it writes to OUT/init.h5. MODE ``worker``: worker INDEX of a two-worker
MultiWorkerMirroredStrategy on 127.0.0.1 (one CPU device each), from OUT/init.h5. MODE
``long``: a worker that trains for many epochs (to be killed). MODE ``resume``: a worker that
loads CHECKPOINT and trains one epoch more. Each writes OUT/<name>.json (losses, epochs) and
OUT/<name>.h5 (the weights after training).
"""
import json
import os
import sys

MODE, OUT, PORTS, INDEX = sys.argv[1], sys.argv[2], sys.argv[3].split(","), int(sys.argv[4])
if MODE != "single":
    os.environ["TF_CONFIG"] = json.dumps({
        "cluster": {"worker": [f"127.0.0.1:{port}" for port in PORTS]},
        "task": {"type": "worker", "index": INDEX}})

import tensorflow as tf  # noqa: E402

if MODE == "single":
    CPU = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(CPU, [tf.config.LogicalDeviceConfiguration()] * 2)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from conftest import TinyConfig  # noqa: E402

from maskrcnn import MaskRCNN  # noqa: E402
from maskrcnn.data.readers.shapes import ShapesDataset  # noqa: E402


class Deterministic(TinyConfig):
    """Every anchor and ROI sampled (targets not random), one step an epoch, no gradient
    clipping (Keras clips each replica's share before the all-reduce)."""
    GPU_COUNT = 2 if MODE == "single" else 1
    IMAGES_PER_GPU = 1
    STEPS_PER_EPOCH = 1
    VALIDATION_STEPS = 0
    RPN_TRAIN_ANCHORS_PER_IMAGE = 100000
    TRAIN_ROIS_PER_IMAGE = 128
    ROI_POSITIVE_RATIO = 1.0
    GRADIENT_CLIP_NORM = 0
    BN_RECOMPUTE_IMAGES = 0


def main():
    strategy = None
    if MODE != "single":
        strategy = tf.distribute.MultiWorkerMirroredStrategy(
            communication_options=tf.distribute.experimental.CommunicationOptions(
                timeout_seconds=120))
    name = "single" if MODE == "single" else f"{MODE}{INDEX}"
    model = MaskRCNN("training", Deterministic(), os.path.join(OUT, name), strategy=strategy)
    if MODE == "single":
        model.save_weights(os.path.join(OUT, "init.h5"))
    if MODE == "resume":
        model.load_weights(sys.argv[5])
    else:
        model.load_weights(os.path.join(OUT, "init.h5"))
    # Two images: worker i trains on image i, the single process on both in each step.
    data = ShapesDataset(2, 64, 64, seed=2)
    epochs = {"long": 1000, "resume": model.epoch + 1}.get(MODE, 3)
    start = model.epoch
    history = model.train(data, None, learning_rate=0.02, epochs=epochs, layers="all",
                          verbose=0)
    model.save_weights(os.path.join(OUT, name + ".h5"))
    with open(os.path.join(OUT, name + ".json"), "w") as f:
        json.dump({"start": start, "epochs": [e + 1 for e in history.epoch],
                   "loss": history.history["loss"], "end": model.epoch,
                   "last": model.find_last()}, f)


if __name__ == "__main__":
    main()
