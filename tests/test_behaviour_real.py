"""The behaviour kernels against their references on real AIS: a week of New York
harbour (MarineCadastre, 172,679 points of 140 vessels, ../shared/data). No port
registry: the harbour is all "sea" here, so ships at anchor and at berths make
encounters, loitering and stops to compare."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from detectors.encounters import find_encounters
from detectors.loitering import find_loitering
from detectors.stops import find_stays
from tests.reference_behaviour import (assert_encounters_match, assert_loitering_match,
                                       assert_stays_match, ref_encounters, ref_loitering,
                                       ref_stays)
from tests.reference_gaps import make_positions

WEEK = (Path(__file__).resolve().parents[1].parent / "shared" / "data" / "decoded"
        / "marinecadastre" / "NYHarbor_2020_12_first_week.points.csv.gz")

pytestmark = pytest.mark.skipif(not WEEK.exists(), reason=f"shared sample not present ({WEEK})")


@pytest.fixture(scope="module")
def week():
    df = pd.read_csv(WEEK)
    seconds = pd.to_datetime(df["timestamp"], utc=True).dt.as_unit("ns").astype("int64") // 10**9
    return make_positions(zip(df["mmsi"], seconds.astype(float), df["lat"], df["lon"]))


def test_loitering_and_stays_match_the_references(week):
    lo = find_loitering(week, None)
    assert len(lo) > 50
    assert_loitering_match(lo, ref_loitering(week, None))
    stays = find_stays(week, None)
    assert len(stays) > 100
    assert_stays_match(stays, ref_stays(week, None))


def test_encounters_match_the_all_pairs_reference_on_a_subset(week):
    enc = find_encounters(week, None)
    assert len(enc) > 20
    rng = np.random.default_rng(0)
    met = sorted(set(enc["mmsi_1"].head(8)) | set(enc["mmsi_2"].head(8)))
    others = [m for m in rng.permutation(week["mmsi"].unique()) if m not in met][:12]
    subset = set(met) | set(others)
    sub = week[week["mmsi"].isin(subset)]
    ref = ref_encounters(sub, None)
    assert_encounters_match(find_encounters(sub, None), ref)
    full = enc[enc["mmsi_1"].isin(subset) & enc["mmsi_2"].isin(subset)].reset_index(drop=True)
    assert_encounters_match(full, ref)
