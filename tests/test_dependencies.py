"""Every third-party module the package imports is declared in pyproject.toml: a
dependency that arrives only through another one's dependencies breaks when that one drops it."""

import ast
import re
import sys
from importlib.metadata import packages_distributions
from pathlib import Path

import tomllib

ROOT = Path(__file__).resolve().parents[1]
CODE = ("api", "sweep", "workers", "analysis")


def _imported_top_level_modules() -> dict[str, str]:
    found = {}
    for folder in CODE:
        for path in sorted((ROOT / folder).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                if isinstance(node, ast.Import):
                    names = [a.name for a in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names = [node.module]
                else:
                    continue
                for name in names:
                    found.setdefault(name.split(".")[0], str(path.relative_to(ROOT)))
    return found


def _declared() -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = list(project["dependencies"])
    for extra in project.get("optional-dependencies", {}).values():
        reqs += extra
    return {re.split(r"[\s\[<>=!~;]", r, maxsplit=1)[0].lower().replace("_", "-") for r in reqs}


def test_every_third_party_import_is_declared():
    dists = packages_distributions()
    declared = _declared()
    missing = []
    for module, where in _imported_top_level_modules().items():
        if module in sys.stdlib_module_names or module in ("hpsweep", "__future__"):
            continue
        names = {d.lower().replace("_", "-") for d in dists.get(module, [module])}
        if not names & declared:
            missing.append(f"{module} ({where}; distribution {sorted(names)})")
    assert missing == [], "imported but not declared in pyproject.toml: " + ", ".join(missing)
