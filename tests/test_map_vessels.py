"""Which vessels map.html shows (--map-vessels N): claims, watchlists, top alerts, then
fillers; and the size bound on a large archive."""

from __future__ import annotations

import time
import types

import pandas as pd
import pytest

from map_page_parse import features, page_data
from map_synthetic import big_result
from shadowfleet.outputs.map import MapBudget, write_map_stats
from shadowfleet.outputs.map_vessels import (ALERT, CLAIM, EVIDENCE, RANKED, RECEIVED, WATCHLIST,
                                             select_vessels)
from sim_result import make_result


def _positions(counts: dict[int, int]):
    rows = []
    for mmsi, n in counts.items():
        rows += [dict(mmsi=mmsi, timestamp=pd.Timestamp("2023-09-01T00:00Z") + pd.Timedelta(minutes=10 * i),
                      lat=42.0 + 0.001 * i, lon=131.0 + 0.01 * mmsi % 1) for i in range(n)]
    return rows


def _alert(alert_id, mmsi, score, kind="dark_period", summary=""):
    return dict(alert_id=alert_id, kind=kind, mmsi=mmsi, name="", imo=None, start_utc=None,
                end_utc=None, lat=42.0, lon=131.0, score=score, summary=summary, evidence="",
                claim_ids="")


@pytest.fixture()
def run():
    # ten vessels: 1 named in a claim, 2 on a watchlist, 3 evidence for a claim naming
    # nobody, 4..7 with alerts of falling scores, 8..10 only received (10 most often)
    res = make_result(_positions({m: 5 + m for m in range(1, 11)}))
    res.alerts = pd.DataFrame([_alert("A-w", 2, 0.3, "watchlist", "X is on OFAC SDN"),
                               _alert("A-4", 4, 0.9), _alert("A-5", 5, 0.8), _alert("A-5b", 5, 0.1),
                               _alert("A-6", 6, 0.5), _alert("A-7", 7, 0.2), _alert("A-1", 1, 0.05)])
    res.claims_evaluation = types.SimpleNamespace(
        results=(types.SimpleNamespace(claim=types.SimpleNamespace(id="c-named"),
                                       matches=(types.SimpleNamespace(given="IMO 1234567",
                                                                      mmsis=(1,)),)),),
        evidence=pd.DataFrame({"claim_id": ["c-any"], "mmsi": [3], "evidence_id": ["T-1"]}))
    return res


def test_priority_claims_watchlist_evidence_alerts_then_received(run):
    sel = select_vessels(run, 50)
    assert sel.mmsis == (1, 2, 3, 4, 5, 6, 7, 10, 9, 8)
    assert sel.groups[1] == CLAIM and sel.groups[2] == WATCHLIST and sel.groups[3] == EVIDENCE
    assert sel.groups[4] == ALERT and sel.groups[10] == RECEIVED
    assert sel.reasons[1] == ("named in claim c-named (IMO 1234567)",
                              "highest alert score 0.05 (dark_period A-1)")
    assert sel.reasons[2] == ("on a watchlist: X is on OFAC SDN",)
    assert sel.reasons[5] == ("highest alert score 0.80 (dark_period A-5)",)
    assert sel.total == 10 and sel.asked == 50
    assert sel.counts() == {CLAIM: 1, WATCHLIST: 1, EVIDENCE: 1, ALERT: 4, RECEIVED: 3}


@pytest.mark.parametrize("n,expected", [(0, ()), (1, (1,)), (3, (1, 2, 3)), (5, (1, 2, 3, 4, 5))])
def test_at_most_n(run, n, expected):
    assert select_vessels(run, n).mmsis == expected


def test_ranking_table_fills_before_reception(run):
    run.vessels = pd.DataFrame({"mmsi": [8, 9], "rank": [2, 1], "outlier_score": [0.1, 0.9]})
    sel = select_vessels(run, 9)
    assert sel.mmsis[-2:] == (9, 8) and sel.groups[9] == RANKED
    assert sel.reasons[9] == ("ranked 1 by behaviour (vessels.csv)",)


def test_map_shows_only_the_chosen_vessels_events(run, tmp_path):
    run.dark_periods = pd.DataFrame([dict(gap_id=f"G-{m}", mmsi=m, start_lat=42.0, start_lon=131.0,
                                          end_lat=42.1, end_lon=131.1) for m in (1, 4, 9)])
    stats = write_map_stats(run, tmp_path / "map.html", vessels=2)
    data = page_data(stats.path.read_text(encoding="utf-8"))
    assert [v["mmsi"] for v in data["vessels"]] == [1, 2]
    assert [f["properties"]["mmsi"] for f in features(data, "tracks")] == [1, 2]
    assert [f["properties"]["gap_id"] for f in features(data, "dark_periods")] == ["G-1"]
    dark = next(x for x in data["layers"] if x["id"] == "dark_periods")
    assert (dark["shown"], dark["total"]) == (1, 3)
    assert [f["properties"]["alert_id"] for f in features(data, "alerts")] == ["A-1", "A-w"]
    assert data["meta"]["vessels"] == {"shown": 2, "total": 10, "asked": 2,
                                       "groups": [[CLAIM, 1], [WATCHLIST, 1]], "note": ""}


def test_big_archive_map_is_small_and_fast(tmp_path, capsys):
    """600 vessels x 4,000 positions (2.4M), ~3,600 dark periods, 7,200 visits, 6,200 alerts:
    the map holds the 50 vessels of interest, under 5 MB, in well under a few seconds."""
    res = big_result()
    started = time.perf_counter()
    stats = write_map_stats(res, tmp_path / "map.html")
    seconds = time.perf_counter() - started
    with capsys.disabled():
        print(f"\nmap.html of {len(res.positions):,} positions / {len(res.alerts):,} alerts: "
              f"{stats.bytes / 1e6:.2f} MB in {seconds:.2f} s ({stats.vessels_shown} vessels, "
              f"{stats.track_vertices:,} track vertices)")
    assert stats.bytes < 5_000_000 and stats.path.stat().st_size == stats.bytes
    assert seconds < 10.0                      # about 0.5 s here; generous for a busy machine
    data = page_data(stats.path.read_text(encoding="utf-8"))
    shown = [v["mmsi"] for v in data["vessels"]]
    assert len(shown) == 50 and data["meta"]["vessels"]["total"] == 600
    assert shown[:3] == [*res.claimed, res.watchlisted]
    # every event drawn belongs to a shown vessel, and every such event is drawn
    gaps = res.dark_periods[res.dark_periods["mmsi"].isin(shown)]
    assert sorted(f["properties"]["gap_id"] for f in features(data, "dark_periods")) \
        == sorted(gaps["gap_id"])
    visits = res.port_visits[res.port_visits["mmsi"].isin(shown)]
    assert len(features(data, "port_visits")) == len(visits)


def test_any_input_fits_the_byte_limit(tmp_path):
    """A limit far below what the data need: vessels, tracks and events are cut until the
    page fits, and the legend says so."""
    res = big_result(n_vessels=60, n_positions=2000)
    stats = write_map_stats(res, tmp_path / "map.html", budget=MapBudget(max_bytes=600_000))
    assert stats.bytes <= 600_000 and stats.reduced
    data = page_data(stats.path.read_text(encoding="utf-8"))
    assert data["meta"]["vessels"]["note"].startswith("Cut to fit the page's limit of 0.6 MB")
    assert 1 <= data["meta"]["vessels"]["shown"] < 50
    # the highest-priority vessels stay
    assert [v["mmsi"] for v in data["vessels"]][:2] == list(res.claimed)


def test_budget_is_validated():
    from ais.errors import ConfigError

    with pytest.raises(ConfigError):
        MapBudget(track_points=0)
    with pytest.raises(ConfigError):
        MapBudget(max_bytes=True)
    with pytest.raises(ConfigError):
        MapBudget(port_tolerance_deg=-1.0)
