"""Fail the release build while the project's address is a placeholder:
``python scripts/check_release.py`` exits 1 when pyproject.toml's ``[project.urls]
Repository`` still names OWNER, or when the notebooks, the README's and the docs' links
disagree with it (``python notebooks/build.py`` rewrites them). See docs/publishing.md."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def repository() -> str:
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    return re.search(r'^Repository\s*=\s*"([^"]+)"', text, re.M).group(1)


def problems() -> list[str]:
    found = []
    url = repository()
    if "OWNER" in url:
        found.append(f"pyproject.toml: [project.urls] Repository is a placeholder ({url}): "
                     "set the GitHub address, then run python notebooks/build.py")
    done = subprocess.run([sys.executable, str(ROOT / "notebooks" / "build.py"), "--check"],
                          capture_output=True, text=True)
    if done.returncode:
        found.append("notebooks or badges differ from the setting: python notebooks/build.py\n"
                     + done.stdout + done.stderr)
    return found


if __name__ == "__main__":
    issues = problems()
    for line in issues:
        print(f"error: {line}", file=sys.stderr)
    sys.exit(1 if issues else 0)
