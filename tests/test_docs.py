"""The docs site builds with ``mkdocs build --strict`` (the command reference generated from
the parsers), the benchmarks page matches the JSON, and every GitHub address in the README
and docs is the one setting (pyproject.toml's [project.urls] Repository)."""
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
import check_release  # noqa: E402


def test_mkdocs_build_strict(tmp_path):
    done = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir",
                           str(tmp_path / "site")], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    cli = (tmp_path / "site" / "cli" / "index.html").read_text(encoding="utf-8")
    for command in ("calibrate", "merge", "--budget-minutes", "--subset"):
        assert command in cli


def test_benchmarks_page_is_up_to_date():
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "make_docs_page.py"),
                           "--check"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr


def test_every_github_address_is_the_setting():
    repo = check_release.repository().removeprefix("https://github.com/").rstrip("/")
    for page in [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]:
        for found in re.findall(r"github\.com/([\w.-]+/[\w.-]+)", page.read_text()):
            assert found.removesuffix(".git") == repo, f"{page.name}: github.com/{found}"


def test_release_check_refuses_the_placeholder():
    assert ("OWNER" in check_release.repository()) == bool(check_release.problems())
