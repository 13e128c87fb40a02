"""The identity step of the pipeline (DESIGN.md, identity part; issue 17, item 2): the
positions of a shared MMSI are split into the tracks of its ships before the cleaning and
every other detector, so a second hull's fixes neither make nor hide a dark period, a
visit or a round trip of the first, and every event says which track it is on.

The case: one MMSI carried by two hulls 33-120 nm apart at once. Hull A calls at Najin,
crosses to Dunay, comes back with AIS off for 9 h on the way and calls at Najin again;
hull B lies at Posyet the whole time and goes on transmitting (positions and static
reports) while A is silent. A third vessel, nobody's twin, lies at Vladivostok.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import ais
from detectors.cleaning import clean_positions
from detectors.columns import (ALERT_COLUMNS, DARK_PERIOD_COLUMNS, IDENTITY_COLUMNS,
                               PORT_VISIT_COLUMNS)
from detectors.dark_periods import find_dark_periods
from detectors.identity_tracks import label_messages
from detectors.port_visits import find_port_visits
from shadowfleet.pipeline import analyse
from tests.claims_tables import registry
from tests.reference_gaps import make_positions

SHARED, OTHER = 273000001, 273000002
T0 = pd.Timestamp("2023-09-01T00:00:00Z")
NAJIN, DUNAY = (42.236, 130.300), (42.884, 132.345)
POSYET, VLADIVOSTOK = (42.650, 130.800), (43.106, 131.890)
STEP = pd.Timedelta(minutes=10)


def _stay(mmsi, place, start_h, hours):
    times = pd.date_range(T0 + pd.Timedelta(hours=start_h), periods=int(hours * 6), freq=STEP)
    return [(mmsi, t, place[0], place[1]) for t in times]


def _sail(mmsi, a, b, start_h, hours, silent=None):
    """Straight from a to b in ``hours``; ``silent``: (from, to) hours into the passage
    without a report."""
    n = int(hours * 6)
    rows = []
    for k in range(1, n):
        f = k / n
        h = k / 6
        if silent and silent[0] <= h < silent[1]:
            continue
        rows.append((mmsi, T0 + pd.Timedelta(hours=start_h + h),
                     a[0] + f * (b[0] - a[0]), a[1] + f * (b[1] - a[1])))
    return rows


def _hull_a():
    return (_stay(SHARED, NAJIN, 0, 12) + _sail(SHARED, NAJIN, DUNAY, 12, 10)
            + _stay(SHARED, DUNAY, 22, 12) + _sail(SHARED, DUNAY, NAJIN, 34, 13, (2, 11))
            + _stay(SHARED, NAJIN, 47, 12))


def _hull_b():
    return _stay(SHARED, POSYET, 6, 53)


def _statics(rows):
    """A static report from each position row given (same name and IMO: a clone)."""
    return pd.DataFrame({
        "mmsi": [r[0] for r in rows], "timestamp": [r[1] + pd.Timedelta(seconds=20) for r in rows],
        "imo": 9179842.0, "name": "ANGARA", "callsign": "UBXX1", "ship_type": 70.0,
        "length": 100.0, "beam": 16.0, "draught": 6.0, "destination": "", "eta": "",
        "msg_type": 5, "source": "test", "line": np.arange(len(rows))})


def _decoded():
    a, b = _hull_a(), _hull_b()
    c = _stay(OTHER, VLADIVOSTOK, 0, 59)
    positions = ais.schema.sort_by_vessel_time(make_positions(a + b + c))
    statics = pd.concat([_statics(a[::3]), _statics(b[::3]),
                         _statics(c[::3]).assign(imo=9124043.0, name="OTHER")],
                        ignore_index=True)
    statics = ais.schema.conform(statics, ais.STATIC_COLUMNS, ais.schema.STATIC_DTYPES)
    return ais.Decoded(positions, ais.schema.sort_by_vessel_time(statics))


@pytest.fixture(scope="module")
def run():
    return analyse(_decoded(), registry=registry(), pairs=[("Najin", "Dunay")])


def _track_near(frame, place, lat="lat", lon="lon"):
    d = np.hypot(frame[lat] - place[0], frame[lon] - place[1])
    return int(frame.loc[d.idxmin(), "track"])


def test_the_mmsi_is_split_and_said_to_be_shared(run):
    pos = run.positions[run.positions["mmsi"] == SHARED]
    a, b = _track_near(pos, DUNAY), _track_near(pos, POSYET)
    assert {a, b} == {0, 1}
    assert (run.positions.loc[run.positions["mmsi"] == OTHER, "track"] == 0).all()
    (row,) = run.identity[run.identity["kind"] == "shared_mmsi"].to_dict("records")
    assert row["mmsi"] == SHARED and row["imo"] == 9179842
    assert list(run.identity.columns[:len(IDENTITY_COLUMNS)]) == list(IDENTITY_COLUMNS)
    assert set(run.tracks["track"]) == {0, 1} and (run.tracks["mmsi"] == SHARED).all()
    assert run.jumps.empty                       # no hull's fix is a jump from the other's


def test_a_second_hull_neither_hides_a_dark_period_nor_makes_visits_or_trips(run):
    pos = run.positions[run.positions["mmsi"] == SHARED]
    a, b = _track_near(pos, DUNAY), _track_near(pos, POSYET)
    (gap,) = run.dark_periods.to_dict("records")          # A's silence, B heard meanwhile
    assert (gap["mmsi"], gap["track"]) == (SHARED, a)
    assert gap["hours"] == pytest.approx(9.0 + 1 / 6, abs=0.01)
    # B's static reports during it (some 18) are B's: only A's own report sent 20 s after
    # its last fix counts, so A switched off, it did not withhold its position
    a_statics = _statics(_hull_a()[::3])["timestamp"]
    inside = ((a_statics > gap["start_utc"]) & (a_statics < gap["end_utc"])).sum()
    assert gap["own_messages"] == inside <= 1
    b_statics = _statics(_hull_b()[::3])["timestamp"]
    assert ((b_statics > gap["start_utc"]) & (b_statics < gap["end_utc"])).sum() > 10
    visits = run.port_visits[run.port_visits["mmsi"] == SHARED]
    assert sorted(zip(visits["port"], visits["track"])) == sorted(
        [("Najin", a), ("Dunay", a), ("Najin", a), ("Posyet", b)])
    (trip,) = run.round_trips.to_dict("records")
    assert (trip["mmsi"], trip["track"], trip["origin"], trip["destination"],
            trip["status"]) == (SHARED, a, "Najin", "Dunay", "observed")
    # every event and alert of the shared MMSI says its track
    alerts = run.alerts[run.alerts["mmsi"] == SHARED]
    assert set(alerts.loc[alerts["kind"] == "dark_period", "track"]) == {a}
    assert set(alerts.loc[alerts["kind"] == "identity", "track"]) == {0}
    tagged = alerts[alerts["track"] != 0]
    assert tagged["summary"].str.contains(f"track {a if a else b} of a shared MMSI").all()


def test_without_the_split_the_other_hull_hides_the_silence(run):
    """The same frames through the cleaning and the detectors as one vessel: B's fixes
    fill A's silence and alternate with A's, so no dark period and a storm of jumps."""
    decoded = _decoded()
    cleaned, jumps = clean_positions(decoded.positions)
    gaps = find_dark_periods(cleaned, registry())
    assert gaps[gaps["mmsi"] == SHARED].empty and len(jumps) > 50


def test_an_unshared_mmsi_keeps_its_ids_and_track_0(run):
    other = run.positions[run.positions["mmsi"] == OTHER].drop(columns="track")
    plain = find_port_visits(other, registry())
    mine = run.port_visits[run.port_visits["mmsi"] == OTHER]
    assert list(mine["visit_id"]) == list(plain["visit_id"]) and (mine["track"] == 0).all()


def test_files_and_summary(run, tmp_path):
    run.write(tmp_path, figures=False)
    identity = pd.read_csv(tmp_path / "identity.csv")
    assert tuple(identity.columns[:len(IDENTITY_COLUMNS)]) == IDENTITY_COLUMNS
    assert list(identity["kind"]) == ["shared_mmsi"]
    for name, contract in (("port_visits.csv", PORT_VISIT_COLUMNS),
                           ("dark_periods.csv", DARK_PERIOD_COLUMNS),
                           ("alerts.csv", ALERT_COLUMNS)):
        header = pd.read_csv(tmp_path / name, nrows=0).columns
        assert tuple(header[:len(contract)]) == contract and header[len(contract)] == "track"
    events = run.summary["events"]
    assert events["identity_anomalies"] == 1 and events["shared_mmsis"] == 1
    assert run.summary["identity_by_kind"] == {"shared_mmsi": 1}
    assert run.summary["alerts_by_kind"]["identity"] == 1
    for key in ("segment_speed_kn", "shared_min_positions", "identity_min_reports",
                "imo_min_overlap_hours"):
        assert key in run.summary["thresholds"]


def test_static_reports_go_to_the_hull_heard_nearest_in_time():
    pos = make_positions([(1, 0, 42.0, 130.0), (1, 100, 43.0, 132.0), (1, 200, 42.0, 130.0),
                          (2, 50, 40.0, 120.0)]).assign(track=[0, 1, 0, 0])
    msgs = pd.DataFrame({"mmsi": [1, 1, 1, 2, 1, 3],
                         "timestamp": pd.to_datetime([10, 90, 160, 60, None, 5], unit="s",
                                                     utc=True)})
    assert label_messages(msgs, pos).tolist() == [0, 1, 0, 0, 0, 0]
    assert label_messages(msgs, pos.drop(columns="track")).tolist() == [0] * 6


def test_the_vessel_ranking_counts_the_identity_anomalies(run):
    """vessels.csv's ``identity_anomalies`` feature from the run's identity table (the
    ranking is wired into the pipeline with the behaviour detectors)."""
    from detectors.ranking import rank_vessels

    ranked = rank_vessels(run.positions, dark_periods=run.dark_periods,
                          port_visits=run.port_visits, identity=run.identity)
    counts = dict(zip(ranked["mmsi"], ranked["identity_anomalies"]))
    assert counts == {SHARED: 1, OTHER: 0}


def test_job_writes_identity_csv_as_detect_does(tmp_path):
    """identity.csv is one of the files of every run: a scheduled job over the first part
    of the bundled feed (where the invalid MMSI is already on the air) writes the rows
    detect finds in the same lines."""
    import gzip

    from shadowfleet.demo import bundled_feed
    from shadowfleet.job import run_job
    from shadowfleet.pipeline import detect

    lines = gzip.decompress(bundled_feed().read_bytes()).decode("ascii").splitlines()
    inbox, feed = tmp_path / "inbox", tmp_path / "part.nmea"
    inbox.mkdir()
    feed.write_text("\n".join(lines[:20000]) + "\n", encoding="ascii")
    (inbox / "part.nmea").write_bytes(feed.read_bytes())
    run_job(inbox, tmp_path / "state", tmp_path / "out")
    written = pd.read_csv(tmp_path / "out" / "identity.csv", keep_default_na=False)
    expected = detect([feed]).identity
    assert tuple(written.columns[:len(IDENTITY_COLUMNS)]) == IDENTITY_COLUMNS
    assert list(written["identity_id"]) == list(expected["identity_id"])
    assert "invalid_mmsi" in set(written["kind"])
