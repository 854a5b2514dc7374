"""Fixtures of the detect_folder tests: a folder of mixed image files and a first run on it."""
import pytest
from image_files import write_mixed_images

from maskrcnn.inference import detect_folder


@pytest.fixture(scope="module")
def image_folder(tmp_path_factory):
    """png, jpg, grayscale, RGBA, 16-bit PNG, EXIF-rotated JPEG and a corrupt file."""
    return write_mixed_images(tmp_path_factory.mktemp("images"))


@pytest.fixture(scope="module")
def first_run(trained_tiny, image_folder, tmp_path_factory):
    _, checkpoint = trained_tiny
    output = tmp_path_factory.mktemp("run") / "out"
    df = detect_folder(checkpoint, image_folder, output, save_masks=True, progress=False)
    return df, output
