"""Layers point one way: ``ais`` <- ``ports`` <- ``detectors`` <- ``shadowfleet``.

Every module of the four packages is parsed (not imported) and each of its imports is
checked, at module level and inside functions alike, relative ones resolved, and
``importlib.import_module("...")`` calls with a literal name counted too: a package may
import only from its own layer and the ones below it (DESIGN.md, "Layout";
CONVENTIONS.md, 15).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
LAYERS = ("ais", "ports", "detectors", "shadowfleet")      # lowest first
RANK = {name: k for k, name in enumerate(LAYERS)}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported_names(source: str, module: str, is_package: bool) -> list[tuple[int, str]]:
    """(line, absolute module name) of every import in ``source``, the source of
    ``module`` (a package's ``__init__`` when ``is_package``)."""
    found = []
    package = module.split(".") if is_package else module.split(".")[:-1]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[:len(package) - (node.level - 1)]
                name = ".".join(base + ([node.module] if node.module else []))
            else:
                name = node.module
            found.append((node.lineno, name))
        elif (isinstance(node, ast.Call) and node.args
              and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)
              and (isinstance(node.func, ast.Attribute) and node.func.attr == "import_module"
                   or isinstance(node.func, ast.Name) and node.func.id == "import_module")):
            found.append((node.lineno, node.args[0].value))
    return found


def upward_imports(source: str, module: str, is_package: bool = False) -> list[str]:
    """The imports of ``module`` that point to a higher layer than its own."""
    own = RANK[module.split(".")[0]]
    bad = []
    for line, name in imported_names(source, module, is_package):
        target = name.split(".")[0]
        if target in RANK and RANK[target] > own:
            bad.append(f"{module}:{line} imports {name}")
    return bad


def project_modules():
    for layer in LAYERS:
        for path in sorted((REPO / layer).rglob("*.py")):
            yield path


def test_every_package_is_parsed():
    modules = {module_name(p) for p in project_modules()}
    assert {"ais", "ports", "detectors", "shadowfleet", "ais._numba", "ports._geo",
            "shadowfleet.cli"} <= modules


def test_no_module_imports_from_a_higher_layer():
    bad = []
    for path in project_modules():
        bad += upward_imports(path.read_text(encoding="utf-8"), module_name(path),
                              path.name == "__init__.py")
    assert not bad, "imports that point up a layer:\n" + "\n".join(bad)


@pytest.mark.parametrize("source, module, is_package, expected", [
    pytest.param("from detectors._numba import njit\n", "ais.kernel", False,
                 ["ais.kernel:1 imports detectors._numba"], id="from-import"),
    pytest.param("def f():\n    import shadowfleet.cli\n", "ports.registry", False,
                 ["ports.registry:2 imports shadowfleet.cli"], id="inside-a-function"),
    pytest.param("from ..detectors import alerts\n", "ports.sub.mod", False,
                 [], id="relative-within-ports"),
    pytest.param("import importlib\nimportlib.import_module('shadowfleet.job')\n", "ais.x",
                 False, ["ais.x:2 imports shadowfleet.job"], id="import_module"),
    pytest.param("from ais import schema\nfrom ports import load_ports\n", "detectors.x",
                 False, [], id="downward-is-fine"),
    pytest.param("from . import columns\n", "detectors", True, [], id="package-relative"),
])
def test_the_checker_sees_what_it_should(source, module, is_package, expected):
    assert upward_imports(source, module, is_package) == expected
