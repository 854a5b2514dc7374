"""Problems found in a dataset, and the dataset base class that records them.

Readers record what they find while parsing in ``dataset.problems`` (a :class:`Problems`
list); :func:`maskrcnn.data.inspect.inspect_dataset` adds what only loading shows.

Severity rule: an *error* is something that would make training fail or silently learn the
wrong thing (the item is unusable); a *warning* is something fixed on the way (points clipped
to the image, a degenerate part of a polygon dropped). Readers built with ``strict=True`` (the
default) raise DatasetError at the first error; with ``strict=False`` they drop the item,
record the error and go on. Warnings never raise.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..errors import DatasetError
from .dataset import Dataset


class ItemError(DatasetError):
    """A problem with one item (annotation, region); the reader adds the file and item."""



@dataclass(frozen=True)
class Problem:
    """One finding: the file it is in, the item (image / region / annotation), what is wrong."""

    file: str
    item: str
    message: str
    severity: str = "error"  # "error" or "warning"

    def __str__(self) -> str:
        return f"{self.severity}: {self.file}: {self.item}: {self.message}"


class Problems(list):
    """A list of :class:`Problem` that raises DatasetError on errors when ``strict``."""

    def __init__(self, strict: bool = True) -> None:
        super().__init__()
        self.strict = strict
        self._seen: set = set()

    def add(self, file, item, message: str, severity: str = "error") -> None:
        """Record a problem (once); raise it as DatasetError if strict and an error."""
        problem = Problem(str(file), str(item), message, severity)
        if problem in self._seen:
            return
        if severity == "error" and self.strict:
            raise DatasetError(f"{problem.file}: {problem.item}: {message}")
        self._seen.add(problem)
        self.append(problem)

    def error(self, file, item, message: str) -> None:
        self.add(file, item, message, "error")

    def warning(self, file, item, message: str) -> None:
        self.add(file, item, message, "warning")


class ReportingDataset(Dataset):
    """A Dataset that keeps ``problems`` (a :class:`Problems` list) and ``skipped`` (counts of
    items left out on purpose, e.g. other classes than the ones asked for). The base of the
    readers' datasets."""

    def __init__(self, strict: bool = True) -> None:
        super().__init__()
        self.problems = Problems(strict)
        self.skipped: dict[str, int] = {}

    def skip(self, what: str, count: int = 1) -> None:
        self.skipped[what] = self.skipped.get(what, 0) + count

