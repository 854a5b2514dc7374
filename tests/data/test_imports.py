"""The shape of maskrcnn.data: one-way imports, readers independent, no TensorFlow on import."""
import ast
import importlib
import pathlib
import subprocess
import sys

import maskrcnn.data

PACKAGE = pathlib.Path(maskrcnn.data.__file__).parent
PRIMITIVES = {"dataset", "image_io", "instances", "problems", "files"}


def module_imports() -> dict:
    """Module (relative to maskrcnn.data, e.g. ``readers.coco``) -> the modules of
    maskrcnn.data it imports, from every import statement (also ones inside functions)."""
    modules = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(PACKAGE).with_suffix("").parts)
        package = parts[:-1]
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.level:
                depth = len(package) - node.level + 1
                if depth < 0:
                    continue  # above maskrcnn.data (maskrcnn.errors...)
                target = package[:depth] + (node.module.split(".") if node.module else [])
                found.add(".".join(target))
                found.update(".".join(target + [a.name]) for a in node.names)
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                names = [node.module] if isinstance(node, ast.ImportFrom) else [
                    a.name for a in node.names]
                found.update(n.removeprefix("maskrcnn.data.") for n in names
                             if n and n.startswith("maskrcnn.data."))
        modules[name] = found
    return {m: {t for t in found if t in modules and t != m} for m, found in modules.items()}


def test_no_import_circle_inside_the_package():
    graph = module_imports()
    state = {}

    def visit(module, path):
        state[module] = "open"
        for target in sorted(graph[module]):
            shown = " -> ".join(m or "__init__" for m in path + [target])
            assert state.get(target) != "open", f"import circle: {shown}"
            if target not in state:
                visit(target, path + [target])
        state[module] = "done"

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])


def test_readers_import_only_the_shared_primitives():
    graph = module_imports()
    readers = [m for m in graph if m.startswith("readers.")]
    assert {"readers.coco", "readers.via", "readers.bdd", "readers.openimages",
            "readers.shapes"} <= set(readers)
    for reader in readers:
        assert graph[reader] <= PRIMITIVES, (reader, graph[reader] - PRIMITIVES)
    for primitive in PRIMITIVES:
        assert graph[primitive] <= PRIMITIVES, (primitive, graph[primitive] - PRIMITIVES)


def test_importing_the_data_package_loads_no_tensorflow():
    code = ("import sys, maskrcnn.data; from maskrcnn.data import load_coco, open_dataset; "
            "print(sorted(m for m in ('tensorflow', 'keras') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]"


def test_old_reader_module_paths_still_import():
    from maskrcnn.data.readers import coco

    old = importlib.import_module("maskrcnn.data.coco")
    assert old is coco and old.load_coco is maskrcnn.data.load_coco
