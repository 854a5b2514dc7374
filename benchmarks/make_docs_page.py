"""Write docs/benchmarks.md (and its plots) from benchmarks/results*.json:
``python benchmarks/make_docs_page.py``; ``--check`` only says whether the page is up to date
(the tests run it). Each results file becomes a section: its machine first (the keys that
describe it: CPUs, TensorFlow, matmul speed...), then its figures as tables; nested records
become sub-tables. Files added later (results_counting.json...) come in by themselves."""
from __future__ import annotations

import argparse
import glob
import json
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
PAGE = os.path.join(ROOT, "docs", "benchmarks.md")
PLOTS = os.path.join(ROOT, "docs", "img")
MACHINE = re.compile(r"cpu|machine|gpu|device|tensorflow|torch|matmul|gflop|platform", re.I)
SCRIPTS = {"results.json": "bench_vs_torchvision.py"}
# The head-to-head on real photos shown first (table and plot): the newest stop of
# results_real_data.json that has ``runs`` of ours, ultralytics YOLO-seg and torchvision.
HEADLINE_FILE, HEADLINE_KEY = "results_real_data.json", "stop_2026_12_07_one_core"
CURVE_PNG = "real_data_curve.png"


def _value(v) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    if isinstance(v, (list, dict)):
        text = json.dumps(v, separators=(", ", ": "))
        return text if len(text) <= 80 else text[:77] + "..."
    return str(v).replace("|", "\\|").replace("\n", " ")


def _table(rows: list[dict]) -> list[str]:
    keys = list(dict.fromkeys(k for r in rows for k in r))
    out = ["| " + " | ".join(keys) + " |", "|" + "---|" * len(keys)]
    out += ["| " + " | ".join(_value(r.get(k, "")) for k in keys) + " |" for r in rows]
    return out


def _section(data, level: int) -> list[str]:
    """Scalars as one key/value table; a list of records or a dict of records as a table;
    other dicts as sub-sections (two levels, then as text)."""
    if isinstance(data, list):
        if data and all(isinstance(r, dict) for r in data):
            return _table(data) + [""]
        return [_value(data), ""]
    scalars = {k: v for k, v in data.items() if not isinstance(v, dict)
               and not (isinstance(v, list) and v and all(isinstance(r, dict) for r in v))}
    out = []
    if scalars:
        out += ["| key | value |", "|---|---|"]
        out += [f"| {k} | {_value(v)} |" for k, v in scalars.items()] + [""]
    for key, value in data.items():
        if key in scalars:
            continue
        if isinstance(value, dict) and value and all(isinstance(v, dict) for v in value.values()) \
                and all(not isinstance(x, dict) for v in value.values() for x in v.values()):
            out += [f"{'#' * level} {key}", ""]
            out += _table([{"": k, **v} for k, v in value.items()]) + [""]
        elif level <= 4:
            out += [f"{'#' * level} {key}", ""] + _section(value, level + 1)
        else:
            out += [f"**{key}**: {_value(value)}", ""]
    return out


def _machine(data: dict) -> str:
    found = {k: v for k, v in data.items() if MACHINE.search(k) and not isinstance(v, dict)}
    return ", ".join(f"{k} = {_value(v)}" for k, v in found.items()) or "not recorded in the file"


def speed_plot(path: str) -> str | None:
    """Ours / torchvision time ratio per case of results.json, as a PNG; its file name."""
    with open(os.path.join(HERE, "results.json")) as f:
        results = json.load(f)["results"]
    if "ours" not in results or "torchvision" not in results:
        return None
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    cases = [c for c, v in results["ours"].items() if isinstance(v, dict)
             and isinstance(results["torchvision"].get(c), dict)
             and v.get("seconds") and results["torchvision"][c].get("seconds")]
    ratios = [results["ours"][c]["seconds"] / results["torchvision"][c]["seconds"]
              for c in cases]
    fig, ax = plt.subplots(figsize=(6, 3))
    ax.barh(cases, ratios)
    ax.axvline(1.0, color="k", lw=0.8)
    ax.set_xlabel("time, ours / torchvision (below 1: ours faster)")
    fig.tight_layout()
    fig.savefig(path, dpi=80, metadata={"Software": None})
    plt.close(fig)
    return os.path.basename(path)


def _headline() -> dict | None:
    path = os.path.join(HERE, HEADLINE_FILE)
    if not os.path.exists(path):
        return None
    with open(path) as f:
        record = json.load(f).get(HEADLINE_KEY)
    return record if isinstance(record, dict) and record.get("runs") else None


def curve_plot(path: str) -> str | None:
    """Mask AP on the val photos against training minutes, one line per framework and image
    size; beside it each one's CPU seconds per image. As a PNG; its file name."""
    record = _headline()
    if record is None:
        return None
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    names, runs = list(record["runs"]), list(record["runs"].values())
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(10, 3.8), width_ratios=(3, 2))
    for name, run in zip(names, runs):
        ax.plot([c["minutes"] for c in run["curve"]], [c["mask_AP"] for c in run["curve"]],
                marker="o", label=name)
    ax.set_xlabel("training minutes (1 CPU core)")
    ax.set_ylabel("mask AP on the 16 val photos")
    ax.set_xlim(left=0)
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    seconds = [r["seconds_per_image_median"] or 0 for r in runs]
    bx.barh(names, seconds, color=[f"C{i}" for i in range(len(runs))])
    bx.invert_yaxis()
    bx.set_xlabel("CPU seconds per image (median, 1 core)")
    bx.tick_params(axis="y", labelsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=80, metadata={"Software": None})
    plt.close(fig)
    return os.path.basename(path)


def _pct(v) -> str:
    return "-" if v is None else f"{100 * v:.0f} %"


def headline_section() -> list[str]:
    """Where we stand against ultralytics YOLO-seg and torchvision on kudzu: a table and
    the plot, with the machine and the command lines."""
    record = _headline()
    if record is None:
        return []
    runs = record["runs"]
    ours = runs.get("ours", {}).get("seconds_per_image_median")
    lines = [f"## Against YOLO-seg and torchvision on real photos ({HEADLINE_KEY})", "",
             record.get("summary", ""), "",
             f"Machine: {record.get('machine', 'not recorded')}.", "",
             "| framework | image size | training | minutes | mask AP | box AP | mask AP50 "
             "| count error (threshold from train) | count error (best threshold on val) "
             "| CPU s/image | s/image, ours = 1 |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for run in runs.values():
        done = (f"{run['steps']} steps" if run.get("steps") is not None
                else f"{run['epochs']} epochs" if run.get("epochs") is not None else "-")
        spi = run.get("seconds_per_image_median")
        speed = f"{spi:.3f} | {spi / ours:.2f}" if spi and ours else "- | -"
        lines.append(f"| {run['framework']} | {run['image_size']} | {done} "
                     f"| {run['wall_seconds'] / 60:.1f} | {run['mask_AP']:.1f} "
                     f"| {run['box_AP']:.1f} | {run['mask_AP50']:.1f} "
                     f"| {_pct(run.get('count_error_at_chosen'))} "
                     f"| {_pct(run.get('count_error_best_on_test'))} "
                     f"| {speed} |")
    lines += ["", f"![mask AP against training minutes; CPU seconds per image](img/{CURVE_PNG})",
              ""]
    for note in record.get("notes", []):
        lines += [f"- {note}"]
    if record.get("commands"):
        lines += ["", "Commands (from the repository root; `W` is a work folder):", "",
                  "```bash", "# not run: 20-minute trainings on ../shared/datasets/kudzu",
                  *record["commands"].values(), "```"]
    return lines + [""]


def page() -> str:
    lines = ["# Benchmarks", "",
             "Generated by `python benchmarks/make_docs_page.py` from `benchmarks/results*.json` "
             "(do not edit by hand; the tests check that it is up to date). Each figure was "
             "measured on the machine its section names; figures from different machines are "
             "not comparable. The scripts beside each file (`benchmarks/bench_*.py`) say what "
             "they measure; the README's old prose on these runs is in "
             "[Training runs](training-runs.md) and [Speed and memory](speed.md).", ""]
    lines += headline_section()
    if os.path.exists(os.path.join(HERE, "results.json")):
        lines += ["![ours / torchvision time per case](img/speed_ratio.png)", ""]
    for path in sorted(glob.glob(os.path.join(HERE, "results*.json"))):
        name = os.path.basename(path)
        with open(path) as f:
            data = json.load(f)
        if name == HEADLINE_FILE and _headline() is not None:
            data = {k: ("in the section at the top of this page" if k == HEADLINE_KEY
                        else v) for k, v in data.items()}
        script = SCRIPTS.get(name, "bench_" + name.removeprefix("results_").removesuffix(".json")
                             + ".py")
        lines += [f"## {name}", "", f"Script: `benchmarks/{script}`. Machine: "
                  + (_machine(data) if isinstance(data, dict) else "not recorded") + ".", ""]
        lines += _section(data, 3)
    return "\n".join(lines).rstrip() + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true",
                        help="exit 1 if docs/benchmarks.md differs from what the JSON gives")
    args = parser.parse_args(argv)
    text = page()
    if args.check:
        with open(PAGE, encoding="utf-8") as f:
            same = f.read() == text
        if not same:
            print("docs/benchmarks.md is out of date: python benchmarks/make_docs_page.py",
                  file=sys.stderr)
        return 0 if same else 1
    os.makedirs(PLOTS, exist_ok=True)
    speed_plot(os.path.join(PLOTS, "speed_ratio.png"))
    curve_plot(os.path.join(PLOTS, CURVE_PNG))
    with open(PAGE, "w", encoding="utf-8") as f:
        f.write(text)
    print(f"wrote {PAGE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
