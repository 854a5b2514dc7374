"""Downloads: matterport's ``mask_rcnn_coco.h5`` (cached in ``$MASKRCNN_CACHE`` or
``~/.keras/maskrcnn``), written atomically and checked."""
from __future__ import annotations

import os

import h5py

from ..errors import WeightsError
from .h5 import _is_disk_full, _write_error

COCO_WEIGHTS_URL = ("https://github.com/matterport/Mask_RCNN/releases/download/v2.0/"
                    "mask_rcnn_coco.h5")


COCO_WEIGHTS_FILE = "mask_rcnn_coco.h5"


def cache_dir() -> str:
    """Where downloaded and converted weights live: ``$MASKRCNN_CACHE`` or ``~/.keras/maskrcnn``."""
    path = os.environ.get("MASKRCNN_CACHE") or os.path.join(os.path.expanduser("~"), ".keras",
                                                             "maskrcnn")
    os.makedirs(path, exist_ok=True)
    return path


def download(url: str, path: str, sha256: str | None = None, progress: bool = True,
             opener=None, chunk_size: int = 1 << 20) -> str:
    """Fetch ``url`` to ``path`` atomically (``<path>.partial``, then rename) and check it.

    ``sha256`` (hex) is verified when given; the result must be an HDF5 file. ``opener``
    (default ``urllib.request.urlopen``) returns a file-like response; tests pass their own.
    Returns ``path``. Raises WeightsError on a failed, short or corrupt download.
    """
    import hashlib
    import urllib.request

    opener = opener or urllib.request.urlopen
    path = os.fspath(path)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    partial = path + ".partial"
    digest = hashlib.sha256()
    try:
        with opener(url) as response, open(partial, "wb") as out:
            total = _content_length(response)
            bar = _progress_bar(total, os.path.basename(path), progress)
            done = 0
            while True:
                chunk = response.read(chunk_size)
                if not chunk:
                    break
                out.write(chunk)
                digest.update(chunk)
                done += len(chunk)
                bar.update(len(chunk))
            bar.close()
        if total and done != total:
            raise WeightsError(f"download of {url} stopped at {done} of {total} bytes; "
                               "run it again")
        if sha256 and digest.hexdigest() != sha256.lower():
            raise WeightsError(f"download of {url}: sha256 {digest.hexdigest()} differs from "
                               f"the expected {sha256}; the file was not kept")
        if not h5py.is_hdf5(partial):
            raise WeightsError(f"download of {url} is not an HDF5 weights file (a proxy or "
                               "login page?); the file was not kept")
        os.replace(partial, path)
    except OSError as err:
        if _is_disk_full(err):
            raise _write_error(path, err) from None
        raise WeightsError(f"cannot download {url} to {path} ({err}); without internet, copy "
                           f"the file there by hand") from None
    finally:
        if os.path.exists(partial):
            os.remove(partial)
    return path


def _content_length(response) -> int | None:
    headers = getattr(response, "headers", None)
    value = headers.get("Content-Length") if headers is not None else None
    return int(value) if value else None


def _progress_bar(total, name, enabled):
    from ..progress import progress_bar
    return progress_bar(total=total, unit="B", unit_scale=True, unit_divisor=1024,
                desc=f"downloading {name}", disable=not enabled)


def download_trained_weights(coco_model_path: str, verbose: int = 1, sha256=None,
                             opener=None) -> str:
    """matterport's ``utils.download_trained_weights``: fetch mask_rcnn_coco.h5 (ResNet-101,
    81 classes, ~250 MB) from its GitHub release to ``coco_model_path``."""
    return download(COCO_WEIGHTS_URL, coco_model_path, sha256=sha256, progress=bool(verbose),
                    opener=opener)


def coco_weights_path(path: str | None = None, sha256: str | None = None, opener=None) -> str:
    """A local mask_rcnn_coco.h5: ``path`` if that file exists, else the cached copy, downloaded
    into ``path`` (or the cache folder) the first time."""
    if path and os.path.isfile(path):
        return os.fspath(path)
    target = os.fspath(path) if path else os.path.join(cache_dir(), COCO_WEIGHTS_FILE)
    if not os.path.isfile(target):
        download_trained_weights(target, sha256=sha256, opener=opener)
    return target
