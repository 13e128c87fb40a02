"""The bundled feed's outputs equal the golden files in fixtures/expected/.

The golden files are written by ``python tools/regenerate_fixtures.py --expected``,
never by hand: when a detector changes on purpose, rerun it and review the diff.
"""

from pathlib import Path

import pytest

from shadowfleet.demo import bundled_feed
from tools.regenerate_fixtures import EXPECTED_FILES, write_expected

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
GOLDEN = sorted((FIXTURES / "expected").iterdir())


def test_golden_files_exist():
    names = {p.name for p in GOLDEN}
    assert set(EXPECTED_FILES) <= names


@pytest.fixture(scope="module")
def fresh(tmp_path_factory):
    out = tmp_path_factory.mktemp("expected")
    write_expected(bundled_feed(), out)
    return out


@pytest.mark.parametrize("golden", GOLDEN, ids=lambda p: p.name)
def test_output_equals_golden(fresh, golden):
    got = (fresh / golden.name).read_text(encoding="utf-8")
    want = golden.read_text(encoding="utf-8")
    assert got == want, (f"{golden.name} differs from the golden file; if the change is "
                         "intended, run: python tools/regenerate_fixtures.py --expected")
