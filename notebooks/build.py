"""Write the notebooks of this folder from their sources: ``python notebooks/build.py``.

Each notebook has one readable source, ``src/<name>.py``, in jupytext's "percent" format:
``# %%`` starts a code cell, ``# %% [markdown]`` a markdown cell whose lines are comments
(``# `` removed), and IPython magics are written commented out (``# %matplotlib inline``).
Cells that several notebooks share live in ``src/common/`` and come in with a line
``# %include common/<file>.py``. Lines before the first cell are the source's own notes.
The notebooks are written without outputs, with stable cell ids; ``--check`` only reports
the ones that differ from their sources (the tests do the same).

``GITHUB_REPO`` below is the one place that names the GitHub repository: ``{GITHUB_REPO}`` in a
source (the Colab badges, ``REPO_URL``) becomes it, and the Colab links of README.md and
notebooks/README.md are rewritten to it (``--check`` reports them too).
"""
from __future__ import annotations

import re
import sys
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).resolve().parent
SOURCES = HERE / "src"
# The repository the notebooks install from and their Colab badges open: pyproject.toml's
# [project.urls] Repository, the one setting (OWNER there is a placeholder: a fork sets its own
# and rebuilds).
GITHUB_REPO = re.search(r'^Repository\s*=\s*"https://github\.com/([^"]+?)/?"',
                        (HERE.parent / "pyproject.toml").read_text(encoding="utf-8"),
                        re.M).group(1)
READMES = [HERE.parent / "README.md", HERE / "README.md", HERE.parent / "docs" / "notebooks.md"]
_COLAB_LINK = re.compile(r"(https://colab\.research\.google\.com/github/)[^/\s)]+/[^/\s)]+(/)")
NOTEBOOKS = ["train.ipynb", "inspect_data.ipynb", "inspect_model.ipynb", "detect.ipynb",
             "evaluate.ipynb", "demo.ipynb"]
METADATA = {
    "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
    "language_info": {"name": "python"},
    "accelerator": "GPU",
    "colab": {"provenance": []},
}
_CELL = re.compile(r"^# %%(?: \[(markdown|md)\])?(?:\s.*)?$")
_INCLUDE = re.compile(r"^# %include (\S+)\s*$")
_MAGIC = re.compile(r"^(\s*)# (%[a-z_]+\b.*)$")


def _cell(kind: str, lines: list[str]):
    lines = [line.replace("{GITHUB_REPO}", GITHUB_REPO) for line in lines]
    if kind == "markdown":
        text = "\n".join(line[2:] if line.startswith("# ") else line.lstrip("#")
                         for line in lines).strip("\n")
        return new_markdown_cell(text)
    text = "\n".join(_MAGIC.sub(r"\1\2", line) for line in lines).strip("\n")
    return new_code_cell(text)


def read_cells(path: Path) -> list:
    """The cells of one percent-format source, includes expanded (relative to src/)."""
    cells, kind, lines = [], None, []

    def close():
        if kind is not None:
            cells.append(_cell(kind, lines))

    for line in path.read_text(encoding="utf-8").splitlines():
        cell, include = _CELL.match(line), _INCLUDE.match(line)
        if cell or include:
            close()
            kind, lines = None, []
        if cell:
            kind = "markdown" if cell.group(1) else "code"
        elif include:
            cells.extend(read_cells(SOURCES / include.group(1)))
        elif kind is not None:
            lines.append(line)
    close()
    return cells


def build(name: str) -> nbformat.NotebookNode:
    """The notebook ``name`` (e.g. "train.ipynb") from ``src/``, with stable ids, no outputs."""
    stem = name.removesuffix(".ipynb")
    nb = new_notebook(cells=read_cells(SOURCES / f"{stem}.py"), metadata=METADATA)
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"{stem.replace('_', '-')}-{i:02d}"
    nbformat.validate(nb)
    return nb


def readme_text(path: Path) -> str:
    """``path`` with its Colab links pointing to GITHUB_REPO."""
    return _COLAB_LINK.sub(rf"\g<1>{GITHUB_REPO}\g<2>", path.read_text(encoding="utf-8"))


def main(argv: list[str]) -> int:
    stale = []
    outputs = [(HERE / name, nbformat.writes(build(name)) + "\n") for name in NOTEBOOKS]
    outputs += [(path, readme_text(path)) for path in READMES if path.exists()]
    for path, text in outputs:
        name = path.relative_to(HERE.parent).as_posix()
        if "--check" in argv:
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                stale.append(name)
        elif not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
            print("wrote", path)
    if stale:
        print("differ from src/: " + ", ".join(stale) + "; run python notebooks/build.py")
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
