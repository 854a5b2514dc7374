"""detect --annotations: the writing step shows its progress."""
import numpy as np
from pycocotools import mask as mask_utils

from maskrcnn.inference import annotations


def detections(images: int) -> dict:
    mask = np.zeros((20, 30), np.uint8)
    mask[5:15, 5:20] = 1
    rle = mask_utils.encode(np.asfortranarray(mask))
    rle["counts"] = rle["counts"].decode()
    return {"images": [{"id": n, "file_name": f"{n}.jpg", "path": f"/in/{n}.jpg", "height": 20,
                        "width": 30} for n in range(images)],
            "annotations": [{"image_id": n, "category_id": 1, "score": 0.9,
                             "segmentation": rle} for n in range(images)]}


def test_writing_annotations_runs_under_a_progress_bar(tmp_path, monkeypatch):
    bars = []

    def recording_bar(iterable, **kwargs):
        bars.append(kwargs)
        return iterable

    monkeypatch.setattr(annotations, "progress_bar", recording_bar)
    report = annotations.write_annotations(str(tmp_path), "via", detections(3), ["BG", "a"])
    assert report.images == 3 and report.instances == 3
    assert len(bars) == 1 and bars[0]["total"] == 3 and not bars[0]["disable"]
    annotations.write_annotations(str(tmp_path / "quiet"), "via", detections(3), ["BG", "a"],
                                  progress=False)
    assert bars[1]["disable"]
