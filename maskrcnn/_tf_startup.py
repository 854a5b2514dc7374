"""TensorFlow's start-up notices kept out of notebooks and terminals.

Importing TensorFlow 2.21 writes native log lines to file descriptor 2 whatever
``TF_CPP_MIN_LOG_LEVEL`` says ("WARNING: All log messages before absl::InitializeLog() ...",
oneDNN's "I0000 ... port.cc:153] oneDNN custom operations are on"; on GPU runtimes the
"Unable to register cuDNN factory" family; the CUDA build on a machine without a GPU driver
"Could not find cuda drivers" at import and "failed call to cuInit" when the devices are
first listed). Jupyter and Colab show them as red text in the first cell. :func:`install`
wraps the first ``import tensorflow`` after ``maskrcnn`` is imported: descriptor 2 goes to a
temporary file during that import and a first listing of the devices, and every line that
is not one of :data:`NOTICES` is written back to ``sys.stderr`` afterwards, so real problems
(a missing CUDA library, a failed import) still show. Lines TensorFlow writes later, while
a model runs, are not touched. ``MASKRCNN_TF_STARTUP_LOG=1`` turns
this off. Nothing happens when TensorFlow was imported before ``maskrcnn``.
"""
from __future__ import annotations

import importlib.abc
import os
import re
import sys
import tempfile

NO_DRIVER = re.compile(r"Could not find cuda drivers on your machine, GPU will not be used")
NOTICES = (NO_DRIVER,) + tuple(re.compile(p) for p in (
    r"All log messages before absl::InitializeLog\(\) is called are written to STDERR",
    r"oneDNN custom operations are on",
    r"Unable to register (cuDNN|cuFFT|cuBLAS) factory",
    r"computation placer already registered",
    r"TF-TRT Warning: Could not find TensorRT",
    r"This TensorFlow binary is optimized to use available CPU instructions",
    r"To enable the following instructions: .* rebuild TensorFlow",
    r"To turn them off, set the environment variable `TF_ENABLE_ONEDNN_OPTS=0`",
    r"oneDNN supports DT_UINT8 only on platforms with AVX-512",
))
"""Start-up lines that say nothing the user can act on (matched anywhere in a line)."""

CUINIT_FAILED = re.compile(r"failed call to cuInit")
"""cuInit fails wherever no GPU driver is installed: a notice only beside :data:`NO_DRIVER`."""


def unexpected_lines(text: str) -> str:
    """The lines of ``text`` that match none of :data:`NOTICES`, joined again; "failed
    call to cuInit" counts as a notice only where TensorFlow also said it found no driver."""
    notices = NOTICES + ((CUINIT_FAILED,) if NO_DRIVER.search(text) else ())
    kept = [line for line in text.splitlines(keepends=True)
            if line.strip() and not any(p.search(line) for p in notices)]
    return "".join(kept)


def _quiet(run):
    """Call ``run()`` with descriptor 2 captured; write back what is not a notice."""
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):  # no real descriptor 2 (embedded interpreters)
        return run()
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            return run()
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            rest = unexpected_lines(captured.read().decode("utf-8", "replace"))
            if rest:
                sys.stderr.write(rest)


class _QuietLoader(importlib.abc.Loader):
    """TensorFlow's own loader, its module executed with descriptor 2 captured."""

    def __init__(self, loader):
        self._loader = loader

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module):
        def run():
            self._loader.exec_module(module)
            try:  # CUDA starts when the devices are first listed; listing configures nothing
                module.config.list_physical_devices()
            except Exception:  # noqa: BLE001 - TensorFlow reports its own device errors later
                pass
        _quiet(run)

    def __getattr__(self, name):  # resources, file names: the real loader's
        return getattr(self._loader, name)


class _QuietTensorFlowFinder(importlib.abc.MetaPathFinder):
    """Finds ``tensorflow`` with the other finders and wraps its loader, once."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname != "tensorflow":
            return None
        sys.meta_path.remove(self)
        for finder in sys.meta_path:
            find = getattr(finder, "find_spec", None)
            spec = find(fullname, path, target) if find else None
            if spec is not None:
                if spec.loader is not None:
                    spec.loader = _QuietLoader(spec.loader)
                return spec
        return None


def install() -> None:
    """Quiet the first ``import tensorflow`` (see the module docstring)."""
    if "tensorflow" in sys.modules or os.environ.get("MASKRCNN_TF_STARTUP_LOG") == "1":
        return
    if not any(isinstance(f, _QuietTensorFlowFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, _QuietTensorFlowFinder())
