"""The state of a folder run that ``resume`` reads: ``state.json`` (the settings) and
``records.jsonl`` (one JSON record per image finished), and the plan of what is left to do.
"""
from __future__ import annotations

import contextlib
import json
import os

from ..errors import ConfigError
from .files import safe_name

STATE_FILE, RECORDS_FILE = "state.json", "records.jsonl"
_FORMAT = 1


def write_json(path: str, value, lines: bool = False) -> None:
    """Write JSON (or JSON lines) atomically: a temporary file, then a rename."""
    with open(path + ".tmp", "w", encoding="utf-8") as f:
        if lines:
            f.writelines(json.dumps(v) + "\n" for v in value)
        else:
            json.dump(value, f)
    os.replace(path + ".tmp", path)


def load_state(output: str, settings: dict, resume: bool) -> dict[str, dict]:
    """Records (by input path) of the images an earlier run finished, when resuming it.

    Refuses to resume a run made with other ``settings``; (re)writes the state files either
    way, so that a later resume finds this run's settings and records."""
    state_path, records_path = (os.path.join(output, n) for n in (STATE_FILE, RECORDS_FILE))
    records: dict[str, dict] = {}
    if resume and os.path.isfile(state_path):
        with open(state_path, encoding="utf-8") as f:
            before = json.load(f).get("settings", {})
        changed = [f"{k}: {before.get(k)!r} then, {v!r} now" for k, v in settings.items()
                   if before.get(k) != v]
        if changed:
            raise ConfigError(f"{output} holds results made with other settings ("
                              f"{'; '.join(changed)}); use another output folder or no resume")
        if os.path.isfile(records_path):
            with open(records_path, encoding="utf-8") as f:
                for line in f:
                    with contextlib.suppress(json.JSONDecodeError):  # a line cut short
                        record = json.loads(line)
                        records[record["file"]] = record
    os.makedirs(output, exist_ok=True)
    write_json(state_path, {"format": _FORMAT, "settings": settings})
    write_json(records_path, records.values(), lines=True)
    return records


def plan(files: list[str], done: dict[str, dict]) -> tuple[list[dict], int]:
    """Work items of the images still to do (ids and names kept from earlier runs), and the
    number already done. A changed file (size, mtime) or an unreadable one is done again."""
    next_id = max((r["image_id"] for r in done.values()), default=0) + 1
    used = {r["name"].lower() for r in done.values()}  # case-insensitive file systems too
    todo = []
    for path in files:
        try:
            stamp = [os.stat(path).st_size, os.stat(path).st_mtime_ns]
        except OSError:  # gone since it was listed: reported as unreadable
            stamp = None
        old = done.get(path)
        if old and old["status"] == "ok" and old["stamp"] == stamp:
            continue
        if old is None:
            name = safe_name(os.path.splitext(os.path.basename(path))[0])
            while name.lower() in used:  # x.jpg beside x.png, or a/x.jpg beside b/x.jpg
                name = f"{name}_{next_id}"
            old = {"image_id": next_id, "name": name}
            next_id += 1
            used.add(name.lower())
        todo.append({"file": path, "stamp": stamp, "image_id": old["image_id"],
                     "name": old["name"], "status": None, "error": None})
    return todo, len(files) - len(todo)
