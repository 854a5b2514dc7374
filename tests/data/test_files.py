"""maskrcnn.data.files: image paths inside the dataset folder, JSON, the collector."""
import gc
import re

import pytest

from maskrcnn.data.files import image_path_in_root
from maskrcnn.errors import DatasetError


def test_paths_escaping_the_root_are_refused(tmp_path):
    with pytest.raises(DatasetError, match="outside"):
        image_path_in_root(str(tmp_path), "../etc/passwd")


@pytest.mark.parametrize("name, message", [("a\x00.jpg", "NUL character"),
                                           ("\udcff\ud800", "cannot be encoded")])
def test_impossible_file_names_are_refused(tmp_path, name, message):
    with pytest.raises(DatasetError, match=message):
        image_path_in_root(str(tmp_path), name)


# ---------------------------------------------------------------------------- ImageFolder
def test_image_folder_gives_the_real_paths(tmp_path):
    """Plain names in a folder without links: the folder's real path joined to the name
    (spelled out here, not by the code under test), files there or not."""
    from maskrcnn.data.files import ImageFolder

    (tmp_path / "real").mkdir()
    (tmp_path / "real" / "a.jpg").write_bytes(b"x")
    (tmp_path / "sub").mkdir()
    (tmp_path / "alias").symlink_to(tmp_path / "real")  # the root itself through a link
    real = str(tmp_path.resolve() / "real")
    folder = ImageFolder(tmp_path / "alias")
    assert folder.path("a.jpg") == real + "/a.jpg"
    assert folder.path("missing.jpg") == real + "/missing.jpg"
    assert folder.path("x/../a.jpg") == real + "/a.jpg"
    for name in ("../a.jpg", "/etc/passwd", "..", "x/../../a.jpg"):
        with pytest.raises(DatasetError, match=f"{re.escape(repr(name))} points outside the "
                                               "dataset folder .*alias"):
            folder.path(name)
    with pytest.raises(DatasetError, match="NUL character"):
        folder.path("a\x00.jpg")


def test_image_folder_follows_links_inside_and_refuses_links_out(tmp_path):
    from maskrcnn.data.files import ImageFolder

    images, outside = tmp_path / "images", tmp_path / "outside"
    images.mkdir()
    outside.mkdir()
    (images / "a.jpg").write_bytes(b"x")
    (outside / "secret.jpg").write_bytes(b"x")
    (images / "b.jpg").symlink_to(images / "a.jpg")
    (images / "leak.jpg").symlink_to(outside / "secret.jpg")
    folder = ImageFolder(images)
    assert folder.path("b.jpg") == str(images.resolve() / "a.jpg")
    assert folder.path("c.jpg") == str(images.resolve() / "c.jpg")
    with pytest.raises(DatasetError, match="'leak.jpg' points outside the dataset folder"):
        folder.path("leak.jpg")


def test_image_paths_are_not_cached_between_readings(tmp_path):
    """A folder changed between two readings is seen as it is now: a file replaced by a link
    leading out, and the root re-pointed to another folder."""
    from maskrcnn.data.files import ImageFolder

    one, two, outside = tmp_path / "one", tmp_path / "two", tmp_path / "outside"
    for folder in (one, two, outside):
        folder.mkdir()
    root = tmp_path / "root"
    root.symlink_to(one)
    assert image_path_in_root(str(root), "a.jpg") == str(one.resolve() / "a.jpg")
    assert ImageFolder(root).path("a.jpg") == str(one.resolve() / "a.jpg")
    root.unlink()
    root.symlink_to(two)
    assert image_path_in_root(str(root), "a.jpg") == str(two.resolve() / "a.jpg")
    assert ImageFolder(root).path("a.jpg") == str(two.resolve() / "a.jpg")
    (two / "a.jpg").symlink_to(outside / "a.jpg")
    with pytest.raises(DatasetError, match="outside"):
        ImageFolder(root).path("a.jpg")
    with pytest.raises(DatasetError, match="outside"):
        image_path_in_root(str(root), "a.jpg")


# ---------------------------------------------------------------------------- JSON, GC
@pytest.mark.parametrize("parser", ["orjson", "json"])
def test_load_json_both_parsers(tmp_path, monkeypatch, parser):
    """Small files go to orjson (where installed), large ones to json: the same result, a
    UTF-8 BOM skipped, the same line and column for malformed JSON."""
    from maskrcnn.data import files

    if parser == "orjson" and files.orjson is None:
        pytest.skip("orjson is not installed")
    monkeypatch.setattr(files, "ORJSON_MAX_BYTES", 1 << 30 if parser == "orjson" else 0)
    path = tmp_path / "a.json"
    path.write_bytes(b'\xef\xbb\xbf{"a": [1, 2.5, "\xc3\xa9", "\\u00e9"], "b": null}')
    assert files.load_json(path) == {"a": [1, 2.5, "\u00e9", "\u00e9"], "b": None}
    path.write_bytes(b'{"b": NaN}')  # refused by orjson, read by json
    value = files.load_json(path)["b"]
    assert value != value
    path.write_text('{"images": [\n  {"id": 1,, }]}')
    with pytest.raises(DatasetError, match=r"a\.json: line 2, column 12"):
        files.load_json(path)
    path.write_bytes(b'{"a": "\xff"}')
    with pytest.raises(DatasetError, match="not UTF-8 text"):
        files.load_json(path)


def test_gc_paused_restores_the_collector():
    from maskrcnn.data.files import gc_paused

    assert gc.isenabled()
    with gc_paused():
        assert not gc.isenabled()
        with gc_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()  # the outer pause still holds
    assert gc.isenabled()
    with pytest.raises(ZeroDivisionError):
        with gc_paused():
            raise ZeroDivisionError
    assert gc.isenabled()
    gc.disable()
    try:
        with gc_paused():
            pass
        assert not gc.isenabled()  # disabled before: left disabled
    finally:
        gc.enable()


def test_gc_paused_settles_with_one_full_collection(monkeypatch):
    """``settle=True`` ends the pause with one full collection when it built more than
    SETTLE_MIN_OBJECTS objects (they are then old: later young collections do not walk them
    three times over); without it, in an inner pause, or after a small read, none runs."""
    import gc

    from maskrcnn.data import files
    from maskrcnn.data.files import gc_paused

    monkeypatch.setattr(files, "SETTLE_MIN_OBJECTS", 500)

    full = []

    def count(phase, info):
        if phase == "stop" and info["generation"] == 2:
            full.append(info)

    gc.callbacks.append(count)
    try:
        with gc_paused():
            with gc_paused(settle=True):  # inner: the outer pause still holds
                kept = [[float(i)] for i in range(1000)]
            assert full == [] and not gc.isenabled()
        assert full == [] and gc.isenabled()
        gc.collect()  # young count back to zero
        full.clear()
        with gc_paused(settle=True):
            kept += [[float(i)] for i in range(100)]  # under the threshold: no collection
        assert full == []
        with gc_paused(settle=True):
            kept += [[float(i)] for i in range(1000)]
        assert len(full) == 1 and gc.isenabled()
    finally:
        gc.callbacks.remove(count)
    assert len(kept) == 2100
