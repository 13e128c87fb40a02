"""The real samples copied into tests/data are what tests/data/SOURCES.md says they are."""

import re

from tests._shared import LOCAL, SHARED, shared


def _listed() -> list[str]:
    text = (LOCAL / "SOURCES.md").read_text(encoding="utf-8")
    return re.findall(r"^\| `([^`]+)`", text, re.M)


def test_every_copy_is_listed_with_its_origin_and_licence():
    listed = set(_listed())
    present = {p.relative_to(LOCAL).as_posix() for p in LOCAL.rglob("*")
               if p.is_file() and p.name not in ("SOURCES.md",) and not p.name.startswith("LICENSE")}
    assert present == listed
    assert (LOCAL / "ais" / "kystverket" / "LICENSE.NLOD").exists()   # NLOD asks for it


def test_copies_are_the_bytes_of_the_shared_files():
    shared("ais")
    for name in _listed():
        if name.endswith("_excerpt.csv"):
            continue
        assert (LOCAL / name).read_bytes() == (SHARED / name).read_bytes(), name


def test_the_excerpt_is_rows_of_the_whole_list_in_order():
    whole = shared("sanctions", "sdn_vessels.csv").read_bytes().split(b"\r\n")
    rows = (LOCAL / "sanctions" / "sdn_vessels_excerpt.csv").read_bytes().split(b"\r\n")
    assert rows[-1] == b"" and len(rows) - 1 == 15
    at = [whole.index(r) for r in rows[:-1]]
    assert at == sorted(at)
