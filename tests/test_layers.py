"""The import contract, checked over the installed names (CONTRIBUTING.md, "Layers").

hpsweep's four layers import only downwards: `hpsweep.workers` (tasks, model, trainer, results
layer) <- `hpsweep.analysis` <- `hpsweep.sweep` <- `hpsweep` (the API). No module may import one
of a higher layer, and no group of modules may import each other in a circle, whether the import
sits at the top of the file or inside a function (a lazy import still ties the two designs
together); only `if TYPE_CHECKING:` imports, which never run, are left out. The graph is read from the source with `ast`, so nothing is imported to check it.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# folder at the repository root -> installed package (pyproject.toml's package-dir)
PACKAGES = {"api": "hpsweep", "workers": "hpsweep.workers", "analysis": "hpsweep.analysis", "sweep": "hpsweep.sweep"}
RANK = {"hpsweep.workers": 0, "hpsweep.analysis": 1, "hpsweep.sweep": 2, "hpsweep": 3}


def module_files() -> dict[str, Path]:
    """Installed module name -> source file, for every module of the four layers."""
    found = {}
    for folder, package in PACKAGES.items():
        for path in sorted((ROOT / folder).rglob("*.py")):
            parts = list(path.relative_to(ROOT / folder).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found[".".join([package, *parts])] = path
    return found


def layer(module: str) -> str:
    for package in ("hpsweep.workers", "hpsweep.analysis", "hpsweep.sweep"):
        if module == package or module.startswith(package + "."):
            return package
    return "hpsweep"


def imported_modules(name: str, path: Path, known: set[str]) -> set[str]:
    """The hpsweep modules that `name` imports anywhere in its source (top level or in functions)."""
    is_package = path.name == "__init__.py"
    out = set()
    tree = ast.parse(path.read_text(), str(path))
    # `if TYPE_CHECKING:` imports exist for annotations only: they never run, so they tie nothing
    annotation_only = {
        id(n)
        for block in ast.walk(tree)
        if isinstance(block, ast.If) and ast.unparse(block.test) in ("TYPE_CHECKING", "typing.TYPE_CHECKING")
        for n in ast.walk(block)
    }
    for node in ast.walk(tree):
        if id(node) in annotation_only:
            continue
        targets = []
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against this module's package
                base = name.split(".") if is_package else name.split(".")[:-1]
                base = base[: len(base) - (node.level - 1)]
                stem = ".".join(base + ([node.module] if node.module else []))
            else:
                stem = node.module or ""
            targets = [stem] + [f"{stem}.{a.name}" for a in node.names]
        for target in targets:
            if target == "hpsweep" or target.startswith("hpsweep."):
                # `from hpsweep.workers import trainer` names a module; `from x import func` does not
                while target and target not in known:
                    target = target.rpartition(".")[0]
                if target and target != name:
                    out.add(target)
    return out


def import_graph() -> dict[str, set[str]]:
    files = module_files()
    known = set(files)
    return {name: imported_modules(name, path, known) for name, path in files.items()}


def test_the_graph_sees_every_layer():
    """A walk that found nothing would pass every check below: it must see all four layers."""
    graph = import_graph()
    assert {layer(m) for m in graph} == set(RANK)
    assert "hpsweep.workers.descriptors" in graph["hpsweep.sweep.plan"]


def test_no_module_imports_a_higher_layer():
    upward = sorted(
        f"{m} imports {t}" for m, targets in import_graph().items() for t in targets if RANK[layer(t)] > RANK[layer(m)]
    )
    assert not upward, "imports against the layers (workers <- analysis <- sweep <- hpsweep):\n" + "\n".join(upward)


def strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's algorithm, iterative: the groups of modules that reach each other."""
    index, low, on_stack, stack, groups, counter = {}, {}, set(), [], [], [0]
    for start in graph:
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = counter[0]
        counter[0] += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter[0]
                    counter[0] += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                group = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.append(member)
                    if member == node:
                        break
                if len(group) > 1:
                    groups.append(sorted(group))
    return groups


# A package's __init__ that re-exports its children is not a design circle: the children import
# siblings through the package name only when the package itself holds shared definitions.
def without_package_reexports(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    return {m: {t for t in targets if not m.startswith(t + ".")} for m, targets in graph.items()}


def test_no_circular_imports():
    circles = strongly_connected(without_package_reexports(import_graph()))
    assert not circles, "modules that import each other in a circle:\n" + "\n".join(" <-> ".join(c) for c in circles)


@pytest.mark.parametrize(
    "source, expected",
    [
        ("from hpsweep.sweep import store\n", {"hpsweep.sweep.store"}),
        ("from . import layout\n", {"hpsweep.workers.results.layout"}),
        ("def f():\n    from hpsweep.analysis.load import collect\n", {"hpsweep.analysis.load"}),
        ("if TYPE_CHECKING:\n    from hpsweep.sweep.store import X\n", set()),
    ],
)
def test_the_walk_reads_absolute_relative_and_lazy_imports(tmp_path, source, expected):
    path = tmp_path / "read.py"
    path.write_text(source)
    known = {"hpsweep.sweep.store", "hpsweep.workers.results.layout", "hpsweep.analysis.load"}
    assert imported_modules("hpsweep.workers.results.read", path, known) == expected
