"""No import circle anywhere in the package, lazy (in-function) imports included.

Two checks: the import graph read from the source (every ``import``, at the top or inside a
function, as Python resolves it), which has no cycle through these packages; and each module
imported first in a fresh interpreter, which fails on a circle that executes at import time.
"""
import ast
import os
import subprocess
import sys

import pytest

import maskrcnn

PACKAGES = ["maskrcnn"]  # the graph check: every module
# The fresh-interpreter check: packages that must also import without TensorFlow.
WITHOUT_TENSORFLOW = ["maskrcnn.cli", "maskrcnn.inference", "maskrcnn.data",
                      "maskrcnn.evaluation", "maskrcnn.visualize", "maskrcnn.checkpoint",
                      "maskrcnn.utils", "maskrcnn.config"]
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(maskrcnn.__file__)))


def modules(root=ROOT, top="maskrcnn"):
    """Module name -> file of every module under ``root/top``."""
    found = {}
    for folder, _, files in os.walk(os.path.join(root, top)):
        for name in files:
            if name.endswith(".py"):
                path = os.path.join(folder, name)
                parts = os.path.relpath(path, root)[:-3].split(os.sep)
                found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def import_graph(known):
    """Module -> the modules of ``known`` that importing it runs: those it names and their
    packages (except packages it already sits in, which run before it)."""
    graph = {}
    for name, path in known.items():
        package = name if path.endswith("__init__.py") else name.rpartition(".")[0]
        targets = set()
        with open(path, encoding="utf-8") as f:
            tree = ast.parse(f.read(), path)
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                targets.update(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = package.rsplit(".", node.level - 1)[0] if node.level else ""
                module = ".".join(p for p in (base, node.module) if p)
                targets.add(module)
                targets.update(f"{module}.{a.name}" for a in node.names
                               if f"{module}.{a.name}" in known)
        edges = set()
        for target in targets:
            parts = target.split(".")
            for k in range(1, len(parts) + 1):
                step = ".".join(parts[:k])
                if step in known and not (name == step or name.startswith(step + ".")):
                    edges.add(step)
        graph[name] = edges
    return graph


def cycles_through(graph, packages):
    """The strongly connected groups of ``graph`` (of 2 or more modules, or a module that
    imports itself) that hold a module of ``packages``."""
    index, low, stack, on_stack, groups = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1 or v in graph.get(v, ()):
                groups.append(sorted(group))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    ours = lambda m: any(m == p or m.startswith(p + ".") for p in packages)  # noqa: E731
    return [g for g in groups if any(ours(m) for m in g)]


def test_the_source_has_no_import_circle_through_these_packages():
    known = modules()
    for package in PACKAGES:
        assert package in known, f"{package} is not a package of {ROOT}"
    assert cycles_through(import_graph(known), PACKAGES) == []


def test_the_check_finds_a_lazy_circle(tmp_path):
    """The graph check itself: a circle hidden behind an import inside a function counts."""
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("")
    (tmp_path / "pkg" / "a.py").write_text("from .b import f\n")
    (tmp_path / "pkg" / "b.py").write_text("def f():\n    from .a import g\n")
    (tmp_path / "pkg" / "c.py").write_text("from . import a\n")
    graph = import_graph(modules(str(tmp_path), "pkg"))
    assert graph["pkg.c"] == {"pkg.a"}
    assert cycles_through(graph, ["pkg.a"]) == [["pkg.a", "pkg.b"]]
    assert cycles_through(graph, ["pkg.c"]) == []


@pytest.mark.parametrize("package", WITHOUT_TENSORFLOW)
def test_each_module_imports_first_in_a_fresh_interpreter(package):
    names = sorted(m for m in modules() if (m == package or m.startswith(package + "."))
                   and not m.endswith(".__main__"))  # that one runs the command
    script = ("import importlib, sys\n"
              f"for name in {names!r}:\n"
              "    for loaded in [m for m in sys.modules if m.split('.')[0] == 'maskrcnn']:\n"
              "        del sys.modules[loaded]\n"
              "    importlib.import_module(name)\n"
              "print('tensorflow' in sys.modules)\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=300, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.split()[-1] == "False", "importing it loaded TensorFlow"
