"""Real public samples for the tests.

``../shared/data`` beside the clone holds them all (its ``SOURCES.md``); a test that
needs one of its files calls ``shared(...)``, which skips the test with a clear reason
when the folder is not there (a user's clone). The few samples the tests cannot do
without are copied into ``tests/data`` (``tests/data/SOURCES.md``): ``sample(...)``.
Tests over every AIS file use ``ais_files()``: all of ``../shared/data/ais`` when it is
there, else the copies.
"""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data"
LOCAL = REPO / "tests" / "data"
MISSING = (f"needs {SHARED} (the shared public samples), which is not beside this clone; "
           "the tests on the copies in tests/data run instead")


def have_shared() -> bool:
    return SHARED.is_dir()


def shared(*parts: str) -> Path:
    """A file of ``../shared/data``; skips the calling test when it is not there."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{'/'.join(parts)}: {MISSING}")
    return path


def sample(*parts: str) -> Path:
    """A real sample copied into ``tests/data`` (the bytes of ``../shared/data/<parts>``)."""
    path = LOCAL.joinpath(*parts)
    assert path.exists(), f"{path} is missing from the checkout"
    return path


def _nmea_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file()
                  and p.suffix not in (".chk", ".json", ".md") and not p.name.startswith("LICENSE"))


def ais_files(max_bytes: int | None = None) -> list[Path]:
    """Every NMEA sample: ``../shared/data/ais`` when present, else ``tests/data/ais``."""
    files = _nmea_files(SHARED / "ais") if have_shared() else _nmea_files(LOCAL / "ais")
    return [p for p in files if max_bytes is None or p.stat().st_size < max_bytes]


def file_id(path: Path) -> str:
    return f"{path.parent.name}/{path.name}"


def ais_sample(name: str) -> Path:
    """``../shared/data/ais/<name>`` when present, else its copy in ``tests/data/ais``;
    skips the calling test when neither holds it."""
    for root in ((SHARED / "ais") if have_shared() else None, LOCAL / "ais"):
        if root is not None and (root / name).exists():
            return root / name
    pytest.skip(f"ais/{name}: {MISSING}")
