"""Vessel ranking: features from the event tables, a deterministic IsolationForest
score, independent of row order; an obvious outlier comes first."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from ais.errors import ConfigError
from detectors.columns import VESSEL_TABLE, VESSEL_COLUMNS, VESSEL_FEATURES
from detectors.dark_periods import find_dark_periods
from detectors.encounters import find_encounters
from detectors.loitering import find_loitering
from detectors.port_visits import find_port_visits
from detectors.ranking import RankingParams, rank_vessels, vessel_features
from detectors.stops import find_unlisted_stops
from tests.reference_behaviour import T0, box_registry, offset, sailing, stationary
from tests.reference_gaps import make_positions

H = 3600
DAY = 86400


@pytest.fixture(scope="module")
def bay():
    return box_registry(("Bay", 131.0, 42.0, 131.1, 42.1), ("Cove", 131.6, 42.5, 131.7, 42.6))


def _fleet(seed=0, n=40):
    """``n`` ordinary vessels sailing through for two days, each calling at Bay or Cove
    once, plus vessel 999 that goes dark for a day, meets 998 at sea, loiters and
    stops three times at an unlisted pier."""
    rng = np.random.default_rng(seed)
    rows = []
    for v in range(n):
        mmsi = 273000000 + v
        port = (42.05, 131.05) if v % 2 else (42.55, 131.65)
        t = T0 + int(rng.integers(0, 6)) * 600
        rows += stationary(mmsi, *port, t, 3)
        rows += sailing(mmsi, *offset(*port, 3000, 3000), t + 4 * H, 40, 11, rng.uniform(0, 360))
    sea = (42.30, 131.40)
    rows += sailing(999, 42.2, 131.3, T0, 6, 10, 20)
    rows += stationary(999, *sea, T0 + 30 * H, 6)                   # after 24 h dark
    rows += stationary(998, *offset(*sea, 150, 0), T0 + 30 * H, 6)
    pier = (42.62, 131.2)
    for d in (2, 3, 4):
        rows += stationary(999, *pier, T0 + d * DAY, 5)
    return make_positions(rows)


def _tables(pos, reg):
    return dict(dark_periods=find_dark_periods(pos, reg), port_visits=find_port_visits(pos, reg),
                encounters=find_encounters(pos, reg), loitering=find_loitering(pos, reg),
                stays=find_unlisted_stops(pos, reg).stays)


def test_columns_order_and_types(bay):
    pos = _fleet()
    ranked = rank_vessels(pos, **_tables(pos, bay), names={999: "SHADOW"}, imos={999: 9179842})
    assert tuple(ranked.columns) == VESSEL_TABLE
    assert VESSEL_TABLE[:len(VESSEL_COLUMNS)] == VESSEL_COLUMNS
    assert VESSEL_TABLE[len(VESSEL_COLUMNS):] == VESSEL_FEATURES
    assert len(ranked) == pos["mmsi"].nunique() and ranked["mmsi"].is_unique
    assert ranked["rank"].tolist() == list(range(1, len(ranked) + 1))
    assert (np.diff(ranked["outlier_score"].to_numpy()) <= 0).all()
    assert ranked["outlier_score"].between(0, 1).all()
    top = ranked.iloc[0]
    assert top["mmsi"] == 999 and top["name"] == "SHADOW" and top["imo"] == 9179842
    assert pd.isna(ranked.loc[ranked["mmsi"] == 998, "imo"].item())
    assert ranked["dark_periods"].dtype == np.int64 and ranked["rank"].dtype == np.int64


def test_features_of_the_outlier(bay):
    pos = _fleet()
    t = _tables(pos, bay)
    f = vessel_features(pos, **t).loc[999]
    gaps = t["dark_periods"][t["dark_periods"]["mmsi"] == 999]
    assert f["hours_dark"] == pytest.approx(gaps["hours"].sum()) and f["hours_dark"] > 24
    assert f["dark_periods"] == len(gaps) >= 3
    assert f["possible_port_calls"] == sum(len([p for p in s.split(";") if p])
                                           for s in gaps["possible_port_calls"])
    assert f["encounters"] == 1 and f["unlisted_stops"] == 1 and f["ports_called"] == 0
    assert f["loitering_hours"] == pytest.approx(6.0 + 5.0 * 3)
    first = pos.loc[pos["mmsi"] == 999, "timestamp"].min()
    span_h = (pos["timestamp"].max() - first).total_seconds() / 3600
    assert f["share_received"] == pytest.approx(1 - f["hours_dark"] / span_h)
    assert f["identity_anomalies"] == 0
    ident = pd.DataFrame({"mmsi": [999, 999, 273000001], "kind": ["invalid_imo"] * 3})
    g = vessel_features(pos, **t, identity=ident)
    assert g.loc[999, "identity_anomalies"] == 2 and g.loc[273000001, "identity_anomalies"] == 1
    ordinary = vessel_features(pos, **t).loc[273000001]
    assert ordinary["ports_called"] == 1 and ordinary["encounters"] == 0


def test_same_input_same_ranking_whatever_the_row_order(bay):
    pos = _fleet(seed=3)
    t = _tables(pos, bay)
    ranked = rank_vessels(pos, **t)
    pd.testing.assert_frame_equal(rank_vessels(pos, **t), ranked)
    rng = np.random.default_rng(1)
    shuffled = {k: v.sample(frac=1.0, random_state=rng.integers(2**31)) for k, v in t.items()}
    again = rank_vessels(pos.sample(frac=1.0, random_state=7), **shuffled)
    pd.testing.assert_frame_equal(again, ranked)
    # another random_state is another forest (scores differ), still a ranking of all
    other = rank_vessels(pos, **t, params=RankingParams(ranking_random_state=5))
    assert not np.allclose(other["outlier_score"], ranked["outlier_score"])
    assert other["mmsi"].iloc[0] == 999


def test_without_event_tables_and_tiny_inputs():
    pos = make_positions(stationary(1, 42.3, 131.5, T0, 2) + stationary(2, 42.3, 131.6, T0, 1))
    ranked = rank_vessels(pos)
    assert len(ranked) == 2 and (ranked[list(VESSEL_FEATURES[:-1])] == 0).all().all()
    assert ranked["share_received"].tolist() == [1.0, 1.0]
    one = rank_vessels(make_positions(stationary(1, 42.3, 131.5, T0, 2)))
    assert len(one) == 1 and one["rank"].item() == 1 and math.isnan(one["outlier_score"].item())
    empty = rank_vessels(make_positions([]))
    assert empty.empty and tuple(empty.columns) == VESSEL_TABLE


@pytest.mark.parametrize("bad", [dict(ranking_trees=0), dict(ranking_trees=1.5),
                                  dict(ranking_random_state=-1), dict(ranking_trees=True)])
def test_bad_params(bad):
    with pytest.raises(ConfigError):
        RankingParams(**bad)
