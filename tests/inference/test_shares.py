"""Area shares and the per-class summary of a folder run."""
import numpy as np
import pandas as pd

from maskrcnn.inference import ANY_OBJECT, area_shares, format_summary, summarize


def test_area_shares_count_overlaps_once():
    masks = np.zeros((10, 10, 3), bool)
    masks[:5, :, 0] = True      # class 1: 50 pixels
    masks[:5, :5, 1] = True     # class 1 again, inside the first
    masks[5:, :5, 2] = True     # class 2: 25 pixels
    result = {"masks": masks, "class_ids": np.array([1, 1, 2])}
    table = area_shares(result, ["BG", "a", "b", "c"])
    assert list(table.index) == ["a", "b", "c", ANY_OBJECT]
    assert table.loc["a", "count"] == 2 and table.loc["a", "share"] == 0.5
    assert table.loc["b", "share"] == 0.25 and table.loc["c", "share"] == 0
    assert table.loc[ANY_OBJECT, "share"] == 0.75 and table.loc[ANY_OBJECT, "count"] == 3


def _table():
    """Two readable images and an unreadable one, as detect_folder returns them."""
    df = pd.DataFrame({
        "status": ["ok", "ok", "unreadable"], "error": [None, None, "x.jpg: cannot read"],
        "instances": pd.array([3, 0, None], dtype="Int64"),
        "any_object_share": [0.5, 0.0, None],
        "a_count": pd.array([2, 0, None], dtype="Int64"), "a_share": [0.4, 0.0, None],
        "b_count": pd.array([1, 0, None], dtype="Int64"), "b_share": [0.2, 0.0, None]})
    df.attrs.update(images=3, detected=2, resumed=0, unreadable=1, seconds=2.0,
                    images_per_s=1.0, detect_seconds=1.5)
    return df


def test_summarize_counts_readable_images_only():
    table = summarize(_table())
    assert list(table.index) == ["a", "b", ANY_OBJECT]
    assert list(table.columns) == ["images_with_class", "instances", "mean_share_all_images",
                                   "mean_share_images_with_class", "max_share"]
    assert table.loc["a", "images_with_class"] == 1 and table.loc["a", "instances"] == 2
    assert table.loc["a", "max_share"] == 0.4
    assert table.loc[ANY_OBJECT, "instances"] == 3
    assert list(summarize(_table(), classes=["b"]).index) == ["b", ANY_OBJECT]


def test_summary_means_say_over_which_images():
    """Two readable images, one with class a (share 0.4): 0.2 over all, 0.4 over those
    with a; a class in no image has no mean over images with it."""
    df = _table()
    table = summarize(df)
    ok = df[df["status"] == "ok"]
    for name in ("a", "b"):
        shares, present = ok[f"{name}_share"], ok[f"{name}_count"] > 0
        assert table.loc[name, "mean_share_all_images"] == sum(shares) / len(ok)
        assert table.loc[name, "mean_share_images_with_class"] == (
            sum(shares[present]) / present.sum())
    assert table.loc["a", "mean_share_all_images"] == 0.2
    assert table.loc["a", "mean_share_images_with_class"] == 0.4
    assert table.loc[ANY_OBJECT, "mean_share_all_images"] == 0.25
    assert table.loc[ANY_OBJECT, "mean_share_images_with_class"] == 0.5
    df["a_count"], df["a_share"] = pd.array([0, 0, None], dtype="Int64"), [0.0, 0.0, None]
    assert np.isnan(summarize(df).loc["a", "mean_share_images_with_class"])


def test_format_summary_names_the_unreadable_files():
    text = format_summary(_table())
    assert text.startswith("3 images: 2 detected now, 0 done before, 1 unreadable; 2.0 s")
    assert "1.00 images/s" in text and "unreadable: x.jpg: cannot read" in text
    assert "mean_share_all_images" in text and "0.2000" in text
