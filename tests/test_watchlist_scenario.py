"""Watchlists on the bundled feed, after the detectors: listed vessels get a watchlist
alert and their other alerts carry the list name; nobody else's alerts change."""

import json
from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
FEED = FIXTURES.parent / "shadowfleet" / "data" / "demo" / "najin-dunay-2023.nmea.gz"
TRUTH = FIXTURES / "najin-dunay-2023.truth.json"


@pytest.mark.skipif(not (FEED.exists() and TRUTH.exists()), reason="bundled feed not built")
def test_watchlist_on_the_bundled_feed(tmp_path):
    import ais
    from detectors.alerts import build_alerts
    from detectors.cleaning import clean_positions
    from detectors.dark_periods import find_dark_periods
    from detectors.port_visits import find_port_visits
    from detectors.round_trips import find_round_trips
    from ports import load_ports
    from detectors.columns import ALERT_COLUMNS
    from shadowfleet.watchlist import apply_watchlists, load_watchlists

    truth = json.loads(TRUTH.read_text(encoding="utf-8"))
    by_role = {}
    for v in truth["vessels"]:
        by_role.setdefault(v["role"], []).append(v)
    first, second = by_role["shuttle"][:2]
    liner = by_role["liner"][0]
    path = tmp_path / "watch.csv"
    path.write_text("list,imo,mmsi,name\n"
                    f"Research list,{first['imo']},,\n"
                    f"Research list,,{second['mmsi']},\n"
                    f"Names only,,,{liner['name'].lower()}\n", encoding="utf-8")

    registry = load_ports()
    decoded = ais.read_inputs([FEED], require_times=True)
    positions, jumps = clean_positions(decoded.positions)
    visits = find_port_visits(positions, registry)
    gaps = find_dark_periods(positions, registry)
    trips = find_round_trips(visits, gaps, registry, [("Najin", "Dunay")])
    alerts = build_alerts(visits, trips.round_trips, trips.possible_calls, gaps, jumps,
                          ports_of_interest=["Najin", "Dunay"])
    out = apply_watchlists(alerts, load_watchlists([path]), positions=positions,
                           statics=decoded.statics)

    assert tuple(out.columns[:len(ALERT_COLUMNS)]) == ALERT_COLUMNS
    assert out["alert_id"].is_unique and len(out) == len(alerts) + 3
    wl = out[out["kind"] == "watchlist"].set_index("mmsi")
    assert wl.loc[first["mmsi"], "summary"].startswith(f"{first['name']} (IMO {first['imo']}) "
                                                       "is on Research list")
    assert "matched by IMO" in wl.loc[first["mmsi"], "summary"]
    assert "matched by MMSI" in wl.loc[second["mmsi"], "summary"]
    # the liner broadcasts its (fictional) IMO, the list has none: a weak name match
    assert wl.loc[liner["mmsi"], "summary"].startswith("Possible match:")
    assert wl.loc[liner["mmsi"], "score"] == 0.3
    others = out[out["kind"] != "watchlist"]
    tag = others["summary"].str.contains("[watchlist: Research list (IMO)]", regex=False)
    assert tag.any() and (others.loc[tag, "mmsi"] == first["mmsi"]).all()
    assert tag.sum() == int((alerts["mmsi"] == first["mmsi"]).sum())
    untouched = ~others["mmsi"].isin([first["mmsi"], second["mmsi"], liner["mmsi"]])
    before = alerts.set_index("alert_id")["summary"]
    assert (others.loc[untouched, "summary"].values
            == before.loc[others.loc[untouched, "alert_id"]].values).all()
