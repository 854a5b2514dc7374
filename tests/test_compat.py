"""Old public names: matterport's and this package's before the redesign either work or say
where their names went."""
import importlib

import pytest


def test_matterport_modellib_and_utils():
    from maskrcnn import MaskRCNN, utils
    from maskrcnn import model as modellib
    assert modellib.MaskRCNN is MaskRCNN
    assert callable(utils.compute_ap) and callable(utils.generate_anchors)
    assert callable(utils.norm_boxes) and callable(utils.denorm_boxes)


@pytest.mark.parametrize("module, name, home", [
    ("maskrcnn.model.mask_rcnn", "MaskRCNN", "maskrcnn.mask_rcnn"),
    ("maskrcnn.model.anchors", "pyramid_anchors", "maskrcnn.modeling.anchors"),
    ("maskrcnn.model.network", "MaskRCNNNetwork", "maskrcnn.modeling.network"),
    ("maskrcnn.weights", "load_weights_by_name", "maskrcnn.checkpoint.h5"),
    ("maskrcnn.weights", "read_checkpoint_info", "maskrcnn.checkpoint.info"),
    ("maskrcnn.weights", "coco_weights_path", "maskrcnn.checkpoint.download"),
    ("maskrcnn.training", "coco_schedule", "maskrcnn.trainer"),
    ("maskrcnn.training", "LearningRateWarmup", "maskrcnn.trainer"),
    ("maskrcnn.export", "ServedMaskRCNN", "maskrcnn.export.saved_model"),
    ("maskrcnn.data.coco", "load_coco", "maskrcnn.data.readers.coco"),
    ("maskrcnn.data", "ShapesDataset", "maskrcnn.data.readers.shapes"),
])
def test_old_names_are_the_new_objects(module, name, home):
    assert getattr(importlib.import_module(module), name) is getattr(
        importlib.import_module(home), name)


@pytest.mark.parametrize("module, replacement", [
    ("maskrcnn.inference_run", "maskrcnn.inference"),
    ("maskrcnn.inference_commands", "maskrcnn.cli.detect"),
    ("maskrcnn.data.commands", "maskrcnn.cli.data"),
])
def test_moved_modules_name_their_replacement(module, replacement):
    with pytest.raises(ImportError, match=replacement.replace(".", r"\.")):
        importlib.import_module(module)


def test_removed_names_say_what_replaced_them():
    from maskrcnn.modeling import batch_norm
    with pytest.raises(AttributeError, match="ConvBN"):
        _ = batch_norm.FoldingConv2D
