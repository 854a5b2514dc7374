"""Fixtures of the command-line tests."""
import pytest
from image_files import write_mixed_images


@pytest.fixture(scope="module")
def image_folder(tmp_path_factory):
    """png, jpg, grayscale, RGBA, 16-bit PNG, EXIF-rotated JPEG and a corrupt file."""
    return write_mixed_images(tmp_path_factory.mktemp("images"))
