"""``--help`` of every sub-command: each option explained, with its default shown."""
import argparse
import re
import subprocess
import sys
from importlib import metadata

import pytest

from maskrcnn.cli import build_parser, main

COMMANDS = ["demo", "train", "calibrate", "evaluate", "export", "inspect", "convert", "split",
            "merge", "detect"]


def _subparsers():
    actions = [a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction)]
    return actions[0].choices


def test_every_command_is_there():
    assert sorted(_subparsers()) == sorted(COMMANDS)


@pytest.mark.parametrize("command", COMMANDS)
def test_help_explains_every_option_and_shows_its_default(command, monkeypatch, capsys):
    monkeypatch.setenv("COLUMNS", "2000")  # one line per option: no default cut by wrapping
    parser = _subparsers()[command]
    assert issubclass(parser.formatter_class, argparse.ArgumentDefaultsHelpFormatter)
    with pytest.raises(SystemExit) as exit_:
        main([command, "--help"])
    assert exit_.value.code == 0
    text = capsys.readouterr().out
    entries, key = {}, None  # the first word of each argument's entry -> the entry's text
    for line in text.splitlines()[1:]:  # after the usage line
        if re.match(r"^  \S", line):
            key = line.split()[0].rstrip(",")
            entries[key] = line
        elif key and line.startswith("   "):  # the help below a long invocation
            entries[key] += " " + line.strip()
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction):
            continue
        name = action.option_strings[-1] if action.option_strings else action.dest
        assert action.help, f"{command} {name} has no help text"
        line = entries[action.option_strings[0] if action.option_strings else action.dest]
        assert action.help.split("(default:")[0].strip() in line
        if action.option_strings and not action.required:
            assert "(default: " in line, f"{command} {name}: no default in --help: {line}"
            if action.default is not None:
                assert f"(default: {action.default})" in line


def test_python_m_maskrcnn_and_the_console_script_run_the_same_main():
    done = subprocess.run([sys.executable, "-m", "maskrcnn", "--help"], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert all(c in done.stdout for c in COMMANDS)
    scripts = {e.name: e.value for e in metadata.entry_points(group="console_scripts")}
    assert scripts.get("maskrcnn") == "maskrcnn.cli:main"
    assert metadata.entry_points(group="console_scripts", name="maskrcnn")[0].load() is main
