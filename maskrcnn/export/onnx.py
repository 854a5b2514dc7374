"""ONNX export of the inference graph (through tf2onnx), and ``ONNXDetector`` to run it with
onnxruntime.

The graph and its signature are the TFLite export's (``tflite.py``): ``images`` uint8
(B, H, W, 3) of any padded size and ``windows`` float32 (B, 4) in, ``detections``
(B, K, 6) and ``masks`` (B, K, h, w) out, anchors and preprocessing in the graph. It is traced
with the portable ops (``maskrcnn.modeling.portable``), so tf2onnx emits standard ONNX
operators only: Gather for ROIAlign (tf2onnx would turn ``CropAndResize`` into a Loop of one
Resize per box; ONNX's RoiAlign averages bins and clamps at the border, so it would not give
crop_and_resize's values), NonMaxSuppression for both NMS steps and Loop for the per-image
NMS. The config and class names are in the model's metadata_props.
"""
from __future__ import annotations

import json
import os

from .runtime import METADATA_KEY, RuntimeDetector
from .saved_model import frozen_portable_function, metadata_of

DEFAULT_OPSET = 17


def export_onnx(model, path: str, opset: int = DEFAULT_OPSET) -> str:
    """Write ``model``'s inference graph as an ``.onnx`` file at ``path`` (atomically)."""
    import tf2onnx

    path = os.fspath(path)
    frozen = frozen_portable_function(model)
    outputs = {t.shape.rank: t.name for t in frozen.outputs}  # detections 3, masks 4
    proto, _ = tf2onnx.convert.from_graph_def(
        frozen.graph.as_graph_def(), opset=opset,
        input_names=[t.name for t in frozen.inputs],
        output_names=[outputs[3], outputs[4]])
    entry = proto.metadata_props.add()
    entry.key, entry.value = METADATA_KEY, json.dumps(metadata_of(model))
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    partial = path + ".partial"
    with open(partial, "wb") as f:
        f.write(proto.SerializeToString())
    os.replace(partial, path)
    return path


class ONNXDetector(RuntimeDetector):
    """``detect([image])`` (MaskRCNN's results) over an exported ``.onnx`` file, through an
    onnxruntime InferenceSession (CPU unless ``providers`` say otherwise). Any image size:
    the session takes dynamic shapes."""

    def __init__(self, path: str, providers=None, num_threads: int | None = None):
        import onnxruntime as ort

        from ..errors import WeightsError

        path = os.fspath(path)
        if not os.path.isfile(path):
            raise WeightsError(f"{path}: no such ONNX file")
        options = ort.SessionOptions()
        if num_threads:
            options.intra_op_num_threads = int(num_threads)
        self.session = ort.InferenceSession(
            path, options, providers=providers or ["CPUExecutionProvider"])
        inputs = {i.type: i.name for i in self.session.get_inputs()}
        self._images, self._windows = inputs["tensor(uint8)"], inputs["tensor(float)"]
        outputs = {len(o.shape): o.name for o in self.session.get_outputs()}
        self._outputs = [outputs[3], outputs[4]]
        metadata = self.session.get_modelmeta().custom_metadata_map.get(METADATA_KEY)
        super().__init__(path, metadata, self.run)

    def run(self, images, windows):
        """The graph on a batch: uint8 (B, H, W, 3), float32 (B, 4) -> detections, masks."""
        detections, masks = self.session.run(
            self._outputs, {self._images: images, self._windows: windows})
        return detections, masks


def onnx_op_types(path: str) -> set[str]:
    """The operator types of an ``.onnx`` file, those inside Loop and If bodies included."""
    import onnx

    types: set[str] = set()

    def walk(graph):
        for node in graph.node:
            types.add(node.op_type)
            for attribute in node.attribute:
                if attribute.type == onnx.AttributeProto.GRAPH:
                    walk(attribute.g)

    walk(onnx.load(path).graph)
    return types
