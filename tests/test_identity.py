"""Identity anomalies of static reports and MMSIs: identity_change (with its persistence
rule, against a slow reference), invalid_imo, imo_on_several_mmsi, invalid_mmsi, and the
merged identity table."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from ais.errors import ConfigError, ShadowfleetError
from ais.schema import STATIC_COLUMNS
from detectors.identity import (COLUMNS, CONTRACT_COLUMNS, IdentityParams,
                                find_identity_anomalies, find_identity_changes,
                                find_imo_on_several_mmsi, find_invalid_imos,
                                find_invalid_mmsis, vessel_imos)
from detectors.identity_tracks import split_tracks
from tests.reference_identity import positions, ref_identity_changes, ship

T = pd.Timestamp("2023-09-01", tz="UTC")
A, B = 273000001, 273000002


def statics(rows) -> pd.DataFrame:
    """A statics frame from (mmsi, minutes, imo, name, callsign, ship_type[, msg_type])."""
    recs = []
    for i, r in enumerate(rows):
        m, minutes, imo, name, call, stype = r[:6]
        recs.append({"mmsi": m, "timestamp": T + pd.Timedelta(minutes=minutes),
                     "imo": np.nan if imo is None else float(imo), "name": name,
                     "callsign": call, "ship_type": np.nan if stype is None else float(stype),
                     "length": np.nan, "beam": np.nan, "draught": np.nan, "destination": None,
                     "eta": None, "msg_type": r[6] if len(r) > 6 else 5, "source": "test",
                     "line": i + 1})
    frame = pd.DataFrame(recs, columns=list(STATIC_COLUMNS))
    return frame.astype({"mmsi": "int64", "msg_type": "int64", "line": "int64"})


def reports(m, minutes, imo=9179842, name="ANGARA", call="UBRH7", stype=70, msg_type=5):
    return [(m, t, imo, name, call, stype, msg_type) for t in minutes]


def _changes(frame, **kw):
    out = find_identity_changes(frame, IdentityParams(**kw))
    return [(r.mmsi, r.field, r.before, r.after) for r in out.itertuples()]


# -- identity_change -----------------------------------------------------------------------

CHANGE_CASES = {
    "rename": (reports(A, [0, 6, 12]) + reports(A, [600, 606], name="MAIA-1"),
               [(A, "name", "ANGARA", "MAIA-1")]),
    "one-off-noise-between-is-no-change": (
        reports(A, [0, 6]) + reports(A, [12], name="ANG!RA X") + reports(A, [18, 24]), []),
    "a-value-seen-once-at-the-end-is-not-yet-a-change": (
        reports(A, [0, 6, 12]) + reports(A, [600], name="OTHER"), []),
    "spelling-padding-case-are-no-change": (
        reports(A, [0, 6]) + reports(A, [12, 18], name="angara@@@@") +
        reports(A, [24, 30], name="ANG-ARA"), []),
    "empty-values-are-ignored": (
        reports(A, [0, 6]) + reports(A, [12, 18], imo=None, name="@@@@@@@", call="", stype=0)
        + reports(A, [24, 30]), []),
    "hazard-category-is-no-ship-type-change": (
        reports(A, [0, 6], stype=70) + reports(A, [12, 18], stype=71), []),
    "tanker-to-cargo-is": (
        reports(A, [0, 6], stype=80) + reports(A, [12, 18], stype=70),
        [(A, "ship_type", "80", "70")]),
    "imo-and-call-sign-change-together": (
        reports(A, [0, 6]) + reports(A, [60, 66], imo=9358010, call="UBRH8"),
        [(A, "callsign", "UBRH7", "UBRH8"), (A, "imo", "9179842", "9358010")]),
    "back-and-forth-gives-two-changes": (
        reports(A, [0, 6]) + reports(A, [60, 66], name="X") + reports(A, [120, 126]),
        [(A, "name", "ANGARA", "X"), (A, "name", "X", "ANGARA")]),
    "decoded-table-rows-persist-alone": (
        reports(A, [0], msg_type=0) + reports(A, [600], name="MAIA-1", msg_type=0),
        [(A, "name", "ANGARA", "MAIA-1")]),
    "vessels-do-not-mix": (reports(A, [0, 6]) + reports(B, [3, 9], name="OTHER"), []),
}


@pytest.mark.parametrize("name", sorted(CHANGE_CASES))
def test_identity_change_cases(name):
    rows, want = CHANGE_CASES[name]
    got = _changes(statics(rows))
    assert sorted(got) == sorted(want)


def test_identity_change_row_times_evidence_and_ids():
    frame = statics(reports(A, [0, 6, 12]) + reports(A, [13], name="MAR!A")
                    + reports(A, [600, 606], name="MAIA-1"))
    out = find_identity_changes(frame, imos={A: 9179842})
    assert list(out.columns) == list(COLUMNS) and list(COLUMNS[:9]) == list(CONTRACT_COLUMNS)
    (row,) = out.to_dict("records")
    assert row["kind"] == "identity_change" and row["field"] == "name"
    assert row["start_utc"] == T + pd.Timedelta(minutes=12)      # last report of the old name
    assert row["end_utc"] == T + pd.Timedelta(minutes=600)       # first report of the new one
    assert row["imo"] == 9179842
    assert "1 other value(s) seen fewer than 2 times in between ignored" in row["evidence"]
    again = find_identity_changes(frame.iloc[::-1].reset_index(drop=True), imos={A: 9179842})
    assert again["identity_id"].tolist() == [row["identity_id"]]


def test_min_reports_one_takes_every_value():
    frame = statics(reports(A, [0, 6]) + reports(A, [12], name="X") + reports(A, [18]))
    assert _changes(frame) == []
    assert sorted(_changes(frame, identity_min_reports=1)) == [
        (A, "name", "ANGARA", "X"), (A, "name", "X", "ANGARA")]


def test_reports_without_time_are_left_out():
    frame = statics(reports(A, [0, 6]) + reports(A, [12, 18], name="X"))
    frame.loc[2:, "timestamp"] = pd.NaT
    assert _changes(frame) == []


_VALUES = {"imo": [9179842, 9358010, None], "name": ["ANGARA", "MAIA-1", "", "angara@@"],
           "callsign": ["UBRH7", "UBRH8", None], "ship_type": [70, 71, 80, 0]}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_identity_changes_match_the_reference(data):
    n = data.draw(st.integers(0, 25))
    rows = []
    for i in range(n):
        rows.append((data.draw(st.sampled_from([A, B])), i * 7,
                     data.draw(st.sampled_from(_VALUES["imo"])),
                     data.draw(st.sampled_from(_VALUES["name"])),
                     data.draw(st.sampled_from(_VALUES["callsign"])),
                     data.draw(st.sampled_from(_VALUES["ship_type"])),
                     data.draw(st.sampled_from([5, 5, 5, 0]))))
    frame = statics(rows)
    min_reports = data.draw(st.integers(1, 3))
    out = find_identity_changes(frame, IdentityParams(identity_min_reports=min_reports))
    got = sorted((int(r.mmsi), r.field, r.before, r.after, r.start_utc.value, r.end_utc.value)
                 for r in out.itertuples())
    assert got == ref_identity_changes(frame, min_reports)
    # row order of the input does not matter; rows come sorted, start <= end
    shuffled = frame.sample(frac=1.0, random_state=data.draw(st.integers(0, 99)))
    again = find_identity_changes(shuffled, IdentityParams(identity_min_reports=min_reports))
    pd.testing.assert_frame_equal(again, out)
    assert (out["start_utc"] <= out["end_utc"]).all()


# -- invalid_imo ---------------------------------------------------------------------------

@pytest.mark.parametrize("rows,flagged", [
    pytest.param(reports(A, [0, 6], imo=9179843), [9179843], id="persisting-bad-imo"),
    pytest.param(reports(A, [0], imo=1234568), [1234568], id="the-only-imo-sent-once"),
    pytest.param(reports(A, [0, 6, 12]) + reports(A, [18], imo=9179843) + reports(A, [24]), [],
                 id="one-off-among-valid-is-noise"),
    pytest.param(reports(A, [0, 6], imo=None), [], id="imo-0-is-missing-not-invalid"),
    pytest.param(reports(A, [0, 6], imo=12345678), [12345678], id="eight-digits"),
    pytest.param(reports(A, [0, 6], imo=9161003), [], id="lady-r-valid"),
])
def test_invalid_imo(rows, flagged):
    out = find_invalid_imos(statics(rows))
    assert out["imo"].tolist() == flagged
    assert (out["kind"] == "invalid_imo").all()


# -- imo_on_several_mmsi -------------------------------------------------------------------

def test_one_imo_on_two_mmsis_at_once_flags_both():
    frame = statics(reports(A, range(0, 300, 6)) + reports(B, range(60, 400, 6), name="ANGARA 2"))
    out = find_imo_on_several_mmsi(frame)
    assert out["mmsi"].tolist() == [A, B] and (out["imo"] == 9179842).all()
    assert (out["start_utc"] == T + pd.Timedelta(minutes=60)).all()
    assert "also broadcast by MMSI 273000002" in out["evidence"].iloc[0]


def test_hand_over_to_a_new_mmsi_is_not_flagged():
    # re-flagged: the old MMSI stops, the new one starts 10 minutes later
    frame = statics(reports(A, range(0, 300, 6)) + reports(B, range(304, 600, 6)))
    assert find_imo_on_several_mmsi(frame).empty


def test_overlap_shorter_than_the_threshold_is_a_hand_over():
    frame = statics(reports(A, range(0, 300, 6)) + reports(B, range(260, 600, 6)))
    assert find_imo_on_several_mmsi(frame).empty                      # 34 minutes
    assert len(find_imo_on_several_mmsi(frame, IdentityParams(imo_min_overlap_hours=0.5))) == 2


def test_an_imo_holds_until_the_mmsi_is_last_received():
    # A sent its static report once an hour ago and positions since: it still holds the IMO
    frame = statics(reports(A, [0, 6]) + reports(B, range(120, 400, 6)))
    assert find_imo_on_several_mmsi(frame).empty
    pos = positions(ship(A, 42.0, 131.0, start=int(T.value / 1e9), n=60))   # 10 h of fixes
    assert len(find_imo_on_several_mmsi(frame, positions=pos)) == 2


def test_an_imo_ends_when_the_mmsi_reports_another():
    frame = statics(reports(A, [0, 6]) + reports(A, [60, 66], imo=9358010)
                    + reports(B, range(120, 400, 6)))
    assert find_imo_on_several_mmsi(frame).empty


def test_invalid_imos_are_not_matched_across_mmsis():
    frame = statics(reports(A, range(0, 300, 6), imo=1234568)
                    + reports(B, range(0, 300, 6), imo=1234568))
    assert find_imo_on_several_mmsi(frame).empty


# -- invalid_mmsi and the merged table -----------------------------------------------------

def test_invalid_mmsi_from_positions_and_statics():
    pos = positions(ship(123456789, 42.0, 131.0, n=3) + ship(2734567, 42.0, 131.0, n=3)
                    + ship(A, 42.0, 131.0, n=3))
    st_ = statics(reports(200123456, [0, 6]))
    out = find_invalid_mmsis(pos, st_)
    assert out["mmsi"].tolist() == [123456789, 200123456]
    assert "3 positions" in out["evidence"].iloc[0]
    assert "2 static reports" in out["evidence"].iloc[1] and "MID 200" in out["evidence"].iloc[1]


def test_find_identity_anomalies_merges_every_kind_in_order():
    pos = positions(ship(A, 42.0, 131.0, start=int(T.value / 1e9), n=30)
                    + ship(A, 35.0, 20.0, start=int(T.value / 1e9), n=12, offset_s=300)
                    + ship(123456789, 42.0, 131.0, n=2))
    st_ = statics(reports(A, [0, 6, 12]) + reports(A, [600, 606], name="MAIA-1")
                  + reports(B, range(0, 300, 6)) + reports(B, [400, 406], imo=9179843))
    split = split_tracks(pos)
    out = find_identity_anomalies(pos, st_, shared=split.shared)
    assert list(out.columns) == list(COLUMNS)
    # by (mmsi, start): A's IMO shared with B from 00:00, its second ship from 00:05, its
    # rename from 00:12; B's IMO change at 06:34 (last report of the old one), then the
    # new, invalid IMO from 06:40
    assert out["kind"].tolist() == ["invalid_mmsi", "imo_on_several_mmsi", "shared_mmsi",
                                    "identity_change", "imo_on_several_mmsi",
                                    "identity_change", "invalid_imo"]
    assert out["mmsi"].is_monotonic_increasing
    shared = out[out["kind"] == "shared_mmsi"].iloc[0]
    assert shared["imo"] == 9179842                      # filled from the statics
    assert out["identity_id"].is_unique
    assert vessel_imos(st_) == {A: 9179842, B: 9179843}


def test_empty_inputs_and_params():
    out = find_identity_anomalies(None, None)
    assert out.empty and list(out.columns) == list(COLUMNS)
    assert str(out["start_utc"].dtype) == "datetime64[ns, UTC]" and str(out["imo"].dtype) == "Int64"
    out = find_identity_anomalies(positions([]), statics([]))
    assert out.empty
    for bad in (dict(identity_min_reports=0), dict(identity_min_reports=1.5),
                dict(imo_min_overlap_hours=-1)):
        with pytest.raises(ConfigError) as err:
            IdentityParams(**bad)
        assert isinstance(err.value, ShadowfleetError)
    with pytest.raises(TypeError):
        find_identity_anomalies(None, None, params=object())
