"""MkDocs hook: the command reference page (cli.md) from ``maskrcnn.cli.build_parser``,
so that it cannot drift from the commands; and ``repo_url`` from pyproject.toml."""
from __future__ import annotations

import argparse
import os
import re

from mkdocs.structure.files import File

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def cli_reference() -> str:
    """The page's markdown: the top help, then each command's ``--help`` as it prints."""
    from maskrcnn.cli import build_parser

    os.environ["COLUMNS"] = "100"
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    parts = ["# Command reference", "",
             "Generated from the command's own parsers (`maskrcnn.cli.build_parser`) when the "
             "site is built: it is what `maskrcnn COMMAND --help` prints.", "",
             "```text", parser.format_help().rstrip(), "```", ""]
    for name, command in sub.choices.items():
        parts += [f"## maskrcnn {name}", "", "```text", command.format_help().rstrip(), "```",
                  ""]
    return "\n".join(parts)


def repository() -> str:
    """``[project.urls] Repository`` of pyproject.toml (the one setting)."""
    with open(os.path.join(ROOT, "pyproject.toml"), encoding="utf-8") as f:
        return re.search(r'^Repository\s*=\s*"([^"]+)"', f.read(), re.M).group(1)


def on_config(config, **kwargs):
    config["repo_url"] = repository()
    return config


def on_files(files, config, **kwargs):
    files.append(File.generated(config, "cli.md", content=cli_reference()))
    return files
