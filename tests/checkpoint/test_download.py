"""Downloads of COCO weights: atomic, checked, cached; fed by local files (no network)."""
import io
import os
import urllib.request

import h5py
import numpy as np
import pytest

from maskrcnn.checkpoint import download as weights
from maskrcnn.errors import WeightsError


@pytest.fixture
def h5_file(tmp_path):
    path = tmp_path / "source" / "mask_rcnn_coco.h5"
    path.parent.mkdir()
    with h5py.File(path, "w") as f:
        f.attrs["layer_names"] = np.array([b"conv1"])
        f.create_dataset("conv1/conv1/kernel:0", data=np.ones((1, 1, 3, 2), np.float32))
        f["conv1"].attrs["weight_names"] = np.array([b"conv1/kernel:0"])
    return str(path)


class FakeResponse(io.BytesIO):
    def __init__(self, data, length=None):
        super().__init__(data)
        self.headers = {"Content-Length": str(len(data) if length is None else length)}


def opener_for(data, length=None, seen=None):
    def opener(url):
        if seen is not None:
            seen.append(url)
        return FakeResponse(data, length)
    return opener


def sha256(path):
    import hashlib
    return hashlib.sha256(open(path, "rb").read()).hexdigest()


def test_download_from_a_file_url_with_checksum(h5_file, tmp_path):
    target = tmp_path / "out" / "weights.h5"
    url = "file://" + urllib.request.pathname2url(h5_file)
    weights.download(url, str(target), sha256=sha256(h5_file), progress=False)
    assert open(target, "rb").read() == open(h5_file, "rb").read()
    assert not os.path.exists(str(target) + ".partial")


def test_coco_weights_go_to_the_cache_once(h5_file, tmp_path, monkeypatch):
    monkeypatch.setenv("MASKRCNN_CACHE", str(tmp_path / "cache"))
    seen = []
    monkeypatch.setattr(urllib.request, "urlopen", opener_for(open(h5_file, "rb").read(),
                                                              seen=seen))
    path = weights.coco_weights_path()
    assert path == str(tmp_path / "cache" / "mask_rcnn_coco.h5") and os.path.isfile(path)
    assert seen == [weights.COCO_WEIGHTS_URL]
    assert weights.coco_weights_path() == path and len(seen) == 1  # cached
    assert weights.coco_weights_path(h5_file) == h5_file  # a local copy is used as is
    own = str(tmp_path / "mine" / "coco.h5")  # matterport's download_trained_weights(path)
    weights.download_trained_weights(own, verbose=0)
    assert os.path.isfile(own) and len(seen) == 2


@pytest.mark.parametrize("problem", ["checksum", "short", "html", "offline"])
def test_bad_downloads_leave_no_file(h5_file, tmp_path, problem):
    data = open(h5_file, "rb").read()
    target = str(tmp_path / "weights.h5")
    kwargs = {"progress": False}
    if problem == "checksum":
        kwargs.update(sha256="0" * 64, opener=opener_for(data))
        match = "sha256"
    elif problem == "short":
        kwargs.update(opener=opener_for(data[:100], length=len(data)))
        match = "stopped at 100"
    elif problem == "html":
        kwargs.update(opener=opener_for(b"<html>login</html>"))
        match = "not an HDF5"
    else:
        def offline(url):
            raise urllib.error.URLError("no network")
        kwargs.update(opener=offline)
        match = "copy the file there by hand"
    with pytest.raises(WeightsError, match=match):
        weights.download("https://example.invalid/w.h5", target, **kwargs)
    assert os.listdir(tmp_path) == ["source"]
