"""Every python and shell block of README.md and docs/ runs, on tiny data, or says why not.

A block whose first line is ``# not run: REASON`` (a GPU, a download, a long training) is
skipped, and the reason must be there. Other ``python`` blocks of a page run in order in one
namespace; other ``bash`` blocks run line by line: ``NAME=value`` sets a variable, ``$NAME``
is expanded, and each ``maskrcnn ...`` line runs in this process (``maskrcnn.cli.main``) and
must exit 0; ``cp FILES... FOLDER`` copies. Any other command must be marked as not run.
Each page runs in a fresh copy of the sandbox (tests/docs_sandbox.py): the datasets and the
checkpoint the examples name."""
from __future__ import annotations

import glob
import os
import re
import shlex
import shutil
from pathlib import Path

import docs_sandbox
import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md"] + sorted((ROOT / "docs").rglob("*.md"))
RUN = {"python": "python", "py": "python", "bash": "bash", "sh": "bash", "shell": "bash"}
OUTPUT = {"", "text", "console", "yaml", "json", "toml", "ini"}  # shown, not run
_FENCE = re.compile(r"^(?P<indent> *)```(?P<lang>[\w-]*)[^\n]*\n(?P<body>.*?)^(?P=indent)```",
                    re.M | re.S)
NOT_RUN = re.compile(r"^# not run: \S.{3,}")


def blocks(path: Path):
    """(line, language, code) of each fenced block of ``path``."""
    text = path.read_text(encoding="utf-8")
    for m in _FENCE.finditer(text):
        indent = len(m.group("indent"))
        code = "\n".join(line[indent:] for line in m.group("body").splitlines())
        yield text.count("\n", 0, m.start()) + 1, m.group("lang").lower(), code


def shell_lines(code: str):
    """The logical lines of a shell block: continuations joined, comments left out."""
    for line in code.replace("\\\n", " ").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            yield line


def run_shell(code: str, env: dict, where: str) -> None:
    from maskrcnn.cli import main

    for line in shell_lines(code):
        assignment = re.fullmatch(r"([A-Za-z_]\w*)=(\S+)", line)
        if assignment:
            env[assignment.group(1)] = assignment.group(2)
            continue
        words = shlex.split(re.sub(r"\$\{?(\w+)\}?", lambda m: env[m.group(1)], line))
        if words[0] == "cp" and len(words) > 2 and not words[1].startswith("-"):
            for source in words[1:-1]:  # files or globs into a folder
                for path in sorted(glob.glob(source)) or [source]:
                    shutil.copy(path, words[-1])
            continue
        assert words[0] == "maskrcnn", (
            f"{where}: {line!r} is not a maskrcnn command: mark the block '# not run: REASON'")
        try:
            status = main(words[1:])
        except SystemExit as exit_:  # argparse
            status = exit_.code
        assert status == 0, f"{where}: {line!r} exited with {status}"


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory, trained_tiny):
    root = tmp_path_factory.mktemp("docs_sandbox")
    docs_sandbox.build(root, trained_tiny[1])
    return root


def test_every_block_is_run_or_says_why_not():
    for page in PAGES:
        for line, lang, code in blocks(page):
            where = f"{page.relative_to(ROOT)}:{line}"
            assert lang in RUN or lang in OUTPUT, f"{where}: unknown block language {lang!r}"
            first = code.strip().splitlines()[0] if code.strip() else ""
            if first.startswith("# not run"):
                assert NOT_RUN.match(first), f"{where}: say why it is not run: {first!r}"


@pytest.mark.parametrize("page", PAGES, ids=[str(p.relative_to(ROOT)) for p in PAGES])
def test_the_examples_of_a_page_run(page, sandbox, tmp_path, monkeypatch):
    todo = [(line, RUN[lang], code) for line, lang, code in blocks(page)
            if lang in RUN and not code.lstrip().startswith("# not run")]
    if not todo:
        pytest.skip("no example to run")
    work = tmp_path / "work"
    shutil.copytree(sandbox, work)
    monkeypatch.chdir(work)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    namespace, env = {"__name__": "__docs__"}, {"CKPT": docs_sandbox.CHECKPOINT}
    for line, lang, code in todo:
        where = f"{page.relative_to(ROOT)}:{line}"
        if lang == "python":
            exec(compile(code, where, "exec"), namespace)  # noqa: S102
        else:
            run_shell(code, env, where)
    assert os.getcwd() == str(work)
