"""Every contract column list is declared once (CONVENTIONS.md, 17).

The lists live in one module per layer: ``ais.schema`` (positions, statics, rejects),
``detectors.columns`` (the event tables) and ``shadowfleet.outputs.columns`` (the files
only the application writes). Any other module (tests and benchmarks included) that
assigns a literal list of column names beginning as one of them begins (its first
``RUN`` names, or all of a shorter one), or assigns one of their names, declares it a
second time: this test fails on it. (A list of a few columns picked for some use, such
as the time columns of a table, is not a copy.)
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
OWNERS = ("ais.schema", "detectors.columns", "shadowfleet.outputs.columns")
SCANNED = ("ais", "ports", "detectors", "shadowfleet", "tests", "benchmarks")
RUN = 4         # first names in common that make a list a copy


def _declared_names(owner: str) -> set[str]:
    """Names assigned at module level in ``owner`` (not those it imports)."""
    tree = ast.parse((REPO / (owner.replace(".", "/") + ".py")).read_text(encoding="utf-8"))
    return {t.id for node in tree.body if isinstance(node, ast.Assign)
            for t in node.targets if isinstance(t, ast.Name)}


def owned_lists() -> dict[str, tuple[str, ...]]:
    lists = {}
    for owner in OWNERS:
        module = importlib.import_module(owner)
        for name in _declared_names(owner):
            value = getattr(module, name)
            if (name.isupper() and isinstance(value, tuple) and value
                    and all(isinstance(v, str) for v in value)):
                lists[f"{owner}.{name}"] = value
    return lists


def _literal_names(node) -> tuple[str, ...] | None:
    if isinstance(node, (ast.Tuple, ast.List)) and node.elts and all(
            isinstance(e, ast.Constant) and isinstance(e.value, str) for e in node.elts):
        return tuple(e.value for e in node.elts)
    return None


def _copies(literal: tuple[str, ...], columns: tuple[str, ...]) -> bool:
    n = min(RUN, len(columns))
    return len(literal) >= n and literal[:n] == columns[:n]


def redeclarations(source: str, where: str, lists: dict[str, tuple[str, ...]]) -> list[str]:
    """Module- and class-level assignments in ``source`` that declare a contract list again."""
    owned_names = {qual.rsplit(".", 1)[1] for qual in lists}
    found = []
    tree = ast.parse(source)
    bodies = [tree.body] + [n.body for n in ast.walk(tree) if isinstance(n, ast.ClassDef)]
    for body in bodies:
        for node in body:
            if isinstance(node, ast.Assign):
                targets, value = node.targets, node.value
            elif isinstance(node, ast.AnnAssign) and node.value is not None:
                targets, value = [node.target], node.value
            else:
                continue
            names = [t.id for t in targets if isinstance(t, ast.Name)]
            literal = _literal_names(value)
            if literal is not None:
                for qual, columns in lists.items():
                    if _copies(literal, columns):
                        found.append(f"{where}:{node.lineno} {names} repeats {qual}")
            for name in names:
                if name in owned_names and not isinstance(value, (ast.Name, ast.Attribute)):
                    found.append(f"{where}:{node.lineno} assigns {name}")
    return found


def test_owners_declare_the_design_lists():
    lists = owned_lists()
    for name in ("ais.schema.POSITION_COLUMNS", "detectors.columns.ALERT_COLUMNS",
                 "detectors.columns.ROUND_TRIP_COLUMNS", "detectors.columns.PORT_VISIT_COLUMNS",
                 "detectors.columns.DARK_PERIOD_COLUMNS", "shadowfleet.outputs.columns.CLAIM_COLUMNS"):
        assert name in lists, name
    # a detector's table is its file's contract columns first
    from detectors import columns as c
    for contract, table in ((c.PORT_VISIT_COLUMNS, c.PORT_VISIT_TABLE),
                            (c.ROUND_TRIP_COLUMNS, c.ROUND_TRIP_TABLE),
                            (c.DARK_PERIOD_COLUMNS, c.DARK_PERIOD_TABLE)):
        assert table[:len(contract)] == contract


def test_no_module_declares_a_contract_list_again():
    lists = owned_lists()
    owner_files = {REPO / (o.replace(".", "/") + ".py") for o in OWNERS}
    found = []
    for top in SCANNED:
        for path in sorted((REPO / top).rglob("*.py")):
            if path in owner_files:
                continue
            found += redeclarations(path.read_text(encoding="utf-8"),
                                    str(path.relative_to(REPO)), lists)
    assert not found, "contract column lists declared a second time:\n" + "\n".join(found)


@pytest.mark.parametrize("source, expected", [
    pytest.param('ALERTS = ("alert_id", "kind", "mmsi", "name", "x")\n', 1, id="copied-start"),
    pytest.param('class T:\n    COLS = ["alert_id", "kind", "mmsi", "name"]\n', 1, id="in-a-class"),
    pytest.param('TEXT = ("alert_id", "kind", "name", "summary")\n', 0, id="a-selection"),
    pytest.param('ALERT_COLUMNS = BASE + ("x",)\n', 1, id="owned-name-rebuilt"),
    pytest.param('from detectors.columns import ALERT_COLUMNS\nA = ALERT_COLUMNS\n', 0,
                 id="a-reference-is-fine"),
    pytest.param('def f():\n    cols = ("alert_id", "kind", "mmsi", "name")\n', 0,
                 id="inside-a-function"),
    pytest.param('KINDS = ("dark_period", "round_trip")\n', 0, id="unrelated"),
])
def test_the_checker_sees_what_it_should(source, expected):
    lists = {"detectors.columns.ALERT_COLUMNS": ("alert_id", "kind", "mmsi", "name", "imo",
                                                 "start_utc")}
    assert len(redeclarations(source, "m.py", lists)) == expected
