"""maskrcnn.data.files: image paths inside the dataset folder."""
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
