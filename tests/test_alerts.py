"""Alerts: one per event, scores in [0, 1] rising with their evidence, deterministic ids."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings, strategies as st

from detectors.alerts import build_alerts, gap_score
from detectors.columns import ALERT_COLUMNS, ALERT_TABLE
from detectors.cleaning import empty_jumps

T = pd.Timestamp("2023-09-01T00:00Z")


def gap(gap_id="G-1", mmsi=1, hours=24.0, others=0, start_port="", end_port="",
        reach="", open_=False, name=""):
    end = pd.NaT if open_ else T + pd.Timedelta(hours=hours)
    return {"gap_id": gap_id, "mmsi": mmsi, "name": name, "start_utc": T, "end_utc": end,
            "hours": hours, "start_lat": 42.2, "start_lon": 130.3,
            "end_lat": np.nan if open_ else 42.9, "end_lon": np.nan if open_ else 132.3,
            "distance_nm": np.nan if open_ else 98.0,
            "implied_speed_kn": np.nan if open_ else 98.0 / hours, "others_received": others,
            "possible_port_calls": reach, "start_port": start_port, "end_port": end_port,
            "open": open_}


def gaps(*rows):
    df = pd.DataFrame(list(rows))
    for c in ("start_utc", "end_utc"):
        df[c] = pd.to_datetime(df[c], utc=True)
    return df


def visits():
    return pd.DataFrame([
        {"visit_id": "V-a", "mmsi": 1, "name": "", "port": "Dunay", "arrival_utc": T - pd.Timedelta(hours=5),
         "departure_utc": T - pd.Timedelta(hours=1), "dwell_hours": 4.0, "n_positions": 9,
         "call_id": "V-a", "open_at_end": False, "lat": 42.88, "lon": 132.35},
        {"visit_id": "V-b", "mmsi": 1, "name": "", "port": "Dunay", "arrival_utc": T + pd.Timedelta(hours=30),
         "departure_utc": T + pd.Timedelta(hours=33), "dwell_hours": 3.0, "n_positions": 7,
         "call_id": "V-b", "open_at_end": False, "lat": 42.88, "lon": 132.35}])


def possible():
    return pd.DataFrame([{"call_id": "P-1", "mmsi": 1, "name": "", "port": "Najin",
                          "gap_id": "G-1", "start_utc": T, "end_utc": T + pd.Timedelta(hours=24),
                          "pair": "Dunay|Najin"}])


def trips():
    return pd.DataFrame([{
        "trip_id": "T-1", "mmsi": 1, "name": "", "origin": "Dunay", "destination": "Najin",
        "depart_origin_utc": T - pd.Timedelta(hours=1), "arrive_destination_utc": pd.NaT,
        "depart_destination_utc": T, "return_origin_utc": T + pd.Timedelta(hours=30),
        "duration_hours": 31.0, "status": "inferred", "pair": "Dunay|Najin",
        "call_ids": "V-a;P-1;V-b"}])


def jumps():
    j = empty_jumps()
    return pd.concat([j, pd.DataFrame([{
        "jump_id": "J-1", "mmsi": 2, "prev_utc": T, "utc": T + pd.Timedelta(minutes=10),
        "prev_lat": 42.0, "prev_lon": 130.0, "lat": 44.0, "lon": 135.0,
        "distance_nm": 250.0, "implied_speed_kn": 1500.0}])], ignore_index=True)


def everything(**kw):
    g = gaps(gap(others=5, reach="Najin;Vladivostok", start_port="Dunay", end_port="Dunay"))
    return build_alerts(visits(), trips(), possible(), g, jumps(),
                        ports_of_interest=("Najin", "Dunay"), **kw)


def test_one_alert_per_event_with_contract_columns():
    a = everything(names={1: "ANGARA"}, imos={1: 9179842})
    assert tuple(a.columns) == ALERT_TABLE and ALERT_TABLE[:len(ALERT_COLUMNS)] == ALERT_COLUMNS
    assert sorted(a["kind"]) == ["dark_period", "possible_port_call", "round_trip", "spoofing_jump"]
    assert a["alert_id"].str.match(r"^A-[0-9a-f]{12}$").all() and a["alert_id"].is_unique
    assert (a["claim_ids"] == "").all()
    by = a.set_index("kind")
    assert by.loc["dark_period", "name"] == "ANGARA" and by.loc["dark_period", "imo"] == 9179842
    assert by.loc["spoofing_jump", "imo"] is None and by.loc["spoofing_jump", "name"] == ""
    assert by.loc["dark_period", "evidence"] == "G-1"
    assert by.loc["possible_port_call", "evidence"] == "P-1;G-1"
    assert by.loc["round_trip", "evidence"] == "T-1;V-a;P-1;V-b;G-1"
    assert by.loc["spoofing_jump", "evidence"] == "J-1"
    # the round trip is placed at its first call, the possible call at the gap's start
    assert (by.loc["round_trip", "lat"], by.loc["round_trip", "lon"]) == (42.88, 132.35)
    assert by.loc["possible_port_call", "lat"] == 42.2
    assert a["mmsi"].tolist() == sorted(a["mmsi"])
    assert str(a["start_utc"].dtype) == "datetime64[ns, UTC]"


def test_summaries_are_one_readable_line():
    a = everything(names={1: "ANGARA"}).set_index("kind")
    for s in a["summary"]:
        assert "\n" not in s and len(s) < 300
    assert a.loc["dark_period", "summary"].startswith("ANGARA (MMSI 1) not received for 24.0 h")
    assert "5 other vessels received nearby" in a.loc["dark_period", "summary"]
    assert "could have called at Najin, Vladivostok" in a.loc["dark_period", "summary"]
    assert "inferred round trip Dunay -> Najin -> Dunay" in a.loc["round_trip", "summary"]
    assert "1500 kn" in a.loc["spoofing_jump", "summary"]
    assert a.loc["spoofing_jump", "summary"].startswith("MMSI 2 jumped 250.0 nm in 10 min")


def test_ids_are_deterministic_and_survive_a_gap_closing():
    assert everything()["alert_id"].tolist() == everything()["alert_id"].tolist()
    open_ = build_alerts(None, None, None, gaps(gap(open_=True)), None)
    closed = build_alerts(None, None, None, gaps(gap(open_=False)), None)
    assert open_["alert_id"].item() == closed["alert_id"].item()
    assert pd.isna(open_["end_utc"].item()) and not pd.isna(closed["end_utc"].item())
    assert "still dark" in open_["summary"].item()
    other = build_alerts(None, None, None, gaps(gap(gap_id="G-2", mmsi=2)), None)
    assert other["alert_id"].item() != closed["alert_id"].item()


def test_empty_inputs():
    a = build_alerts(None, None, None, None, None)
    assert tuple(a.columns) == ALERT_TABLE and a.empty
    a = build_alerts(visits().iloc[:0], trips().iloc[:0], possible().iloc[:0],
                     gaps(gap()).iloc[:0], empty_jumps())
    assert a.empty


@pytest.mark.parametrize("lower,higher", [
    (dict(hours=7), dict(hours=30)),
    (dict(others=0), dict(others=4)),
    (dict(), dict(reach="Najin")),
    (dict(reach="Najin"), dict(start_port="Najin")),
    (dict(hours=100, others=0), dict(hours=100, others=1)),
])
def test_score_rises_with_length_reception_and_proximity(lower, higher):
    poi = {"Najin", "Dunay"}
    assert gap_score(gap(**lower), poi) < gap_score(gap(**higher), poi)


def test_ports_of_interest_raise_round_trips_and_calls():
    g = gaps(gap(others=5, reach="Najin"))
    near = build_alerts(visits(), trips(), possible(), g, None, ports_of_interest=("Najin", "Dunay"))
    far = build_alerts(visits(), trips(), possible(), g, None, ports_of_interest=())
    for kind in ("round_trip", "possible_port_call", "dark_period"):
        hi = near.loc[near["kind"] == kind, "score"].item()
        lo = far.loc[far["kind"] == kind, "score"].item()
        assert hi > lo, kind
    observed = trips().assign(status="observed", call_ids="V-a;V-b")
    a = build_alerts(visits(), observed, None, None, None, ports_of_interest=("Najin", "Dunay"))
    assert a["score"].item() == 1.0


@settings(max_examples=50, deadline=None)
@given(hours=st.floats(6.0, 1e5), others=st.integers(0, 10_000),
       speed=st.one_of(st.floats(50.0, 1e12), st.just(float("inf"))), poi=st.booleans(),
       open_=st.booleans())
def test_scores_stay_in_unit_interval(hours, others, speed, poi, open_):
    g = gaps(gap(hours=hours, others=others, start_port="Najin", open_=open_, reach="Dunay"))
    j = jumps().assign(implied_speed_kn=speed)
    a = build_alerts(visits(), trips(), possible(), g, j,
                     ports_of_interest=("Najin", "Dunay") if poi else ())
    assert a["score"].between(0.0, 1.0).all()
    assert len(a) == 4
