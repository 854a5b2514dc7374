"""maskrcnn.progress: tqdm, drawn in a notebook as one display output updated in place."""
from maskrcnn import progress


class Handle:
    def __init__(self):
        self.shown = []

    def update(self, data, raw=False):
        self.shown.append(data["text/plain"])


def test_display_line_keeps_only_the_current_line(monkeypatch):
    line = progress._DisplayLine.__new__(progress._DisplayLine)
    line.line, line.handle = "", Handle()
    bar = progress.tqdm(range(3), file=line, ascii=True, mininterval=0, desc="evaluating")
    for _ in bar:
        pass
    bar.close()
    assert line.handle.shown and all("\r" not in s and "\n" not in s for s in line.handle.shown)
    assert line.handle.shown[-1].startswith("evaluating: 100%|") and "3/3" in line.handle.shown[-1]


def test_outside_a_notebook_it_is_plain_tqdm(capsys):
    assert not progress.in_notebook()
    assert list(progress.progress_bar(range(2), disable=True)) == [0, 1]
