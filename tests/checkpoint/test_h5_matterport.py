"""matterport-format Keras 2 .h5 files load by name: layouts, exclude, reports, bad files."""

import h5py
import numpy as np
import pytest
from conftest import TinyConfig

from maskrcnn import MaskRCNN
from maskrcnn.checkpoint.h5 import HEAD_LAYERS, _layer_of, load_weights_by_name
from maskrcnn.errors import WeightsError

RPN_LAYERS = ("rpn_conv_shared", "rpn_class_raw", "rpn_bbox_pred")
WEIGHTED_HEADS = sorted(set(HEAD_LAYERS) - {"mrcnn_bbox"})  # mrcnn_bbox is a Reshape


class Coco81(TinyConfig):
    NUM_CLASSES = 81


@pytest.fixture(scope="module")
def file_arrays():
    """{layer: {weight: array}} with the shapes of an 81-class model, random values."""
    model = MaskRCNN("inference", Coco81(), "unused")
    rng = np.random.default_rng(0)
    arrays = {}
    for layer in model.keras_model.leaf_layers():
        arrays[layer.name] = {
            v.name: rng.normal(size=v.shape).astype(np.float32) + (1.5 if "variance" in v.name
                                                                   else 0.0)
            for v in layer.weights}
    return arrays


def write_matterport_h5(path, arrays, layout="weights", text_attrs=False):
    """Write ``arrays`` as Keras 2 / matterport did. layout: "weights" (save_weights),
    "model" (model.save: a ``model_weights`` group) or "multi_gpu" (every layer nested in
    one ``mask_rcnn`` group, as when a multi-GPU wrapper was saved). RPN layers always sit in
    the nested ``rpn_model`` group; weightless layers are listed too."""
    enc = (lambda names: list(names)) if text_attrs else (
        lambda names: np.array([n.encode("utf8") for n in names]))
    with h5py.File(path, "w") as f:
        f.attrs["backend"] = "tensorflow" if text_attrs else b"tensorflow"
        f.attrs["keras_version"] = "2.2.4" if text_attrs else b"2.2.4"
        root = f.create_group("model_weights") if layout == "model" else f
        if layout == "model":
            f.attrs["model_config"] = b'{"class_name": "Model"}'
        groups = {}  # group name -> [(weight name, array)]
        for layer, weights in arrays.items():
            if layout == "multi_gpu":
                group = "mask_rcnn"
            else:
                group = "rpn_model" if layer in RPN_LAYERS else layer
            for key, array in weights.items():
                groups.setdefault(group, []).append((f"{layer}/{key}:0", array))
        names = ["input_image", "zero_padding2d_1"] + list(groups) + ["activation_1"]
        root.attrs["layer_names"] = enc(names)
        if layout == "model":
            root.attrs["backend"], root.attrs["keras_version"] = b"tensorflow", b"2.2.4"
        for name in names:
            g = root.create_group(name)
            entries = groups.get(name, [])
            g.attrs["weight_names"] = enc([w for w, _ in entries])
            for weight_name, array in entries:
                g.create_dataset(weight_name, data=array)  # <group>/<layer>/<weight>:0
    return path


def snapshot(model):
    return {layer.name: [np.array(v.numpy()) for v in layer.weights]
            for layer in model.keras_model.leaf_layers()}


@pytest.fixture(scope="module")
def target():
    """The 4-class model the files are loaded into (reset between tests by reloading)."""
    return MaskRCNN("training", TinyConfig(), "unused")


@pytest.mark.parametrize("layout,text_attrs", [("weights", False), ("model", True),
                                               ("multi_gpu", False)])
def test_matterport_file_loads_by_name_with_exclude(tmp_path, file_arrays, target, layout,
                                                    text_attrs):
    path = write_matterport_h5(str(tmp_path / "mask_rcnn_coco.h5"), file_arrays, layout,
                               text_attrs)
    before = snapshot(target)
    report = target.load_weights(path, by_name=True, exclude=HEAD_LAYERS)
    assert sorted(report.excluded) == WEIGHTED_HEADS == sorted(report.skipped)
    assert report.missing_in_file == [] and report.unused_in_file == []
    assert len(report.loaded) == len(before) - len(WEIGHTED_HEADS)
    for layer in target.keras_model.leaf_layers():
        for i, v in enumerate(layer.weights):
            if layer.name in HEAD_LAYERS:  # untouched
                np.testing.assert_array_equal(v.numpy(), before[layer.name][i])
            else:
                np.testing.assert_array_equal(v.numpy(), file_arrays[layer.name][v.name])
    assert "rpn_conv_shared" in report.loaded and "conv1" in report.loaded
    assert target.epoch == 0  # a matterport file carries no epoch


def test_class_count_mismatch_names_layer_shapes_and_fix(tmp_path, file_arrays, target):
    path = write_matterport_h5(str(tmp_path / "coco.h5"), file_arrays)
    before = snapshot(target)
    expected = (r"layer .mrcnn_\w+. has shape \(64, (4|16)\) in the model but \(64, (81|324)\) "
                r"in the file\. NUM_CLASSES is 4 but the file has 81 classes: pass exclude=")
    with pytest.raises(WeightsError, match=expected):
        target.load_weights(path, by_name=True)
    after = snapshot(target)  # nothing assigned
    assert all(np.array_equal(a, b) for k in before for a, b in zip(before[k], after[k]))


def test_init_weights_from_a_path_excludes_heads_automatically(tmp_path, file_arrays, target):
    path = write_matterport_h5(str(tmp_path / "coco.h5"), file_arrays)
    report = target.init_weights("coco", path=path, verbose=0)
    assert sorted(report.excluded) == WEIGHTED_HEADS
    report = target.init_weights(path, exclude=["mrcnn_mask.*", "mrcnn_class_logits",
                                                "mrcnn_bbox_fc"], verbose=0)
    assert "mrcnn_mask_conv1" in report.excluded and "mrcnn_class_conv1" in report.loaded


def test_partial_file_reports_missing_layers(tmp_path, file_arrays, target):
    backbone_only = {k: v for k, v in file_arrays.items() if k.startswith(("conv1", "bn", "res"))}
    path = write_matterport_h5(str(tmp_path / "backbone.h5"), backbone_only)
    report = load_weights_by_name(target.keras_model.leaf_layers(), path)
    assert "fpn_c5p5" in report.missing and "mrcnn_mask" in report.missing
    assert "res5a_branch2c" in report.loaded
    assert "loaded" in str(report) and "not in file" in str(report)


def test_layer_of_weight_names():
    known = {"conv1", "rpn_conv_shared", "mrcnn_mask_conv1"}
    assert _layer_of("conv1/kernel:0", "conv1", known) == "conv1"
    assert _layer_of("rpn_conv_shared/kernel:0", "rpn_model", known) == "rpn_conv_shared"
    assert _layer_of("mask_rcnn/conv1/kernel:0", "mask_rcnn", known) == "conv1"
    assert _layer_of("mrcnn_mask_conv1/conv2d_7/kernel:0", "mrcnn_mask_conv1",
                     known) == "mrcnn_mask_conv1"
    assert _layer_of("kernel:0", "conv1", known) == "conv1"
    assert _layer_of("other/kernel:0", "grp", known) == "other"


def test_truncated_and_non_hdf5_files_are_weights_errors(tmp_path, file_arrays, target):
    good = write_matterport_h5(str(tmp_path / "good.h5"), file_arrays)
    data = open(good, "rb").read()
    for cut in (len(data) // 2, 4096):
        truncated = tmp_path / f"cut{cut}.h5"
        truncated.write_bytes(data[:cut])
        with pytest.raises(WeightsError, match="cut"):
            target.load_weights(str(truncated), by_name=True)
    pickled = tmp_path / "weights.h5"
    import pickle
    pickled.write_bytes(pickle.dumps({"conv1": np.zeros(3)}))
    with pytest.raises(WeightsError, match="not an HDF5"):
        target.load_weights(str(pickled), by_name=True)
    with pytest.raises(WeightsError, match="not found"):
        target.load_weights(str(tmp_path / "absent.h5"))
    with pytest.raises(WeightsError, match="not a .keras archive"):
        target.load_weights(str(pickled.rename(tmp_path / "model.keras")))
    empty = tmp_path / "empty.h5"
    h5py.File(empty, "w").close()
    with pytest.raises(WeightsError):
        target.load_weights(str(empty))


def test_unknown_init_with_says_what_is_accepted(target):
    with pytest.raises(WeightsError, match="'coco', 'imagenet', 'last'"):
        target.init_weights("cocoo", verbose=0)
