"""TensorFlow's native start-up notices stay out of stderr; anything else still shows."""
import os
import subprocess
import sys

import pytest

from maskrcnn import _tf_startup

NOTICE_LINES = [
    "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n",
    "I0000 00:00:1796136637.654531   26164 port.cc:153] oneDNN custom operations are on. You "
    "may see slightly different numerical results due to floating-point round-off errors from "
    "different computation orders. To turn them off, set the environment variable "
    "`TF_ENABLE_ONEDNN_OPTS=0`.\n",
    "E0000 00:00:1700000000.1 1 cuda_dnn.cc:8310] Unable to register cuDNN factory: Attempting "
    "to register factory for plugin cuDNN when one has already been registered\n",
]


NO_DRIVER = ("I0000 00:00:1796138416.961895    2791 cudart_stub.cc:31] Could not find cuda "
             "drivers on your machine, GPU will not be used.\n")
CUINIT = ("E0000 00:00:1796138419.666157    2791 cuda_platform.cc:52] failed call to cuInit: "
          "INTERNAL: CUDA error: Failed call to cuInit: UNKNOWN ERROR (303)\n")


def test_only_the_notices_are_dropped():
    problem = "E0000 dso_loader.cc:77] Could not load dynamic library 'libcudart.so.12'\n"
    assert _tf_startup.unexpected_lines("".join(NOTICE_LINES)) == ""
    assert _tf_startup.unexpected_lines(NOTICE_LINES[0] + problem + NOTICE_LINES[1]) == problem
    # a failing cuInit is expected without a driver, and worth showing where one is installed
    assert _tf_startup.unexpected_lines(NO_DRIVER + CUINIT) == ""
    assert _tf_startup.unexpected_lines(NOTICE_LINES[0] + CUINIT) == CUINIT


def _run(code: str, **env) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items() if k != "MASKRCNN_TF_STARTUP_LOG"}
    environ.update(env)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=environ, timeout=300)


def test_descriptor_two_is_captured_and_the_rest_written_back():
    """What a native library writes to descriptor 2 inside the wrapped call comes back through
    sys.stderr unless it is a notice; descriptor 2 is the terminal's again afterwards."""
    code = ("import os, sys\n"
            "from maskrcnn import _tf_startup\n"
            f"notices = {''.join(NOTICE_LINES)!r}.encode()\n"
            "_tf_startup._quiet(lambda: os.write(2, notices + b'a real problem\\n'))\n"
            "os.write(2, b'after\\n')\n")
    result = _run(code)
    assert result.returncode == 0, result.stderr
    assert result.stderr == "a real problem\nafter\n"


@pytest.mark.slow
def test_importing_tensorflow_after_maskrcnn_prints_nothing():
    code = "import maskrcnn\nimport tensorflow as tf\nprint(float(tf.reduce_sum(tf.ones(3))))\n"
    quiet = _run(code)
    assert quiet.returncode == 0, quiet.stderr
    assert quiet.stdout.strip() == "3.0"
    assert quiet.stderr == "", quiet.stderr
    # the switch shows them again: without it this test could pass with the module doing
    # nothing, on a TensorFlow that went quiet by itself (then the module can go)
    loud = _run(code, MASKRCNN_TF_STARTUP_LOG="1")
    assert loud.returncode == 0
    if not any(notice.search(loud.stderr) for notice in _tf_startup.NOTICES):
        pytest.skip(f"this TensorFlow prints no known start-up notices: {loud.stderr[:200]!r}")
