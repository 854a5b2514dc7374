"""The network and its parts, one concept a file: backbone, FPN, anchors, RPN and proposals,
ROIAlign, the box and mask heads with their losses, training targets, detection, batch norms,
and ``MaskRCNNNetwork`` (network.py) that only wires them. ``anchors`` and ``conventions``
need no TensorFlow."""
