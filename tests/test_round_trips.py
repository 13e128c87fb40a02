"""Legs and round trips from hand-made visit and dark-period tables (DESIGN.md's
examples), inference for pairs of interest, ids and row-order independence."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ais.errors import InputError
from detectors.columns import (LEG_COLUMNS, POSSIBLE_CALL_COLUMNS, ROUND_TRIP_COLUMNS,
                               ROUND_TRIP_TABLE)
from detectors.round_trips import RoundTripParams, find_round_trips
from ports import load_ports

T0 = pd.Timestamp("2023-08-15T00:00:00Z")
ABBR = {"N": "Najin", "D": "Dunay", "V": "Vostochny", "K": "Vladivostok"}


@pytest.fixture(scope="module")
def reg():
    return load_ports()


def calls(seq, mmsi=1, every_days=2, start=T0, dwell_hours=5):
    """A visits table: one call per letter of ``seq``, ``every_days`` apart."""
    rows = []
    for i, c in enumerate(seq):
        a = start + pd.Timedelta(days=every_days * i)
        rows.append({"visit_id": f"V{mmsi}-{i}", "mmsi": mmsi, "name": "", "port": ABBR[c],
                     "arrival_utc": a, "departure_utc": a + pd.Timedelta(hours=dwell_hours),
                     "dwell_hours": float(dwell_hours), "n_positions": 10,
                     "call_id": f"V{mmsi}-{i}", "open_at_end": False})
    return pd.DataFrame(rows)


def gap(gap_id, start_h, end_h, reach, mmsi=1, start=T0):
    """A dark period from ``start_h`` to ``end_h`` hours after ``start``."""
    return {"gap_id": gap_id, "mmsi": mmsi, "start_utc": start + pd.Timedelta(hours=start_h),
            "end_utc": None if end_h is None else start + pd.Timedelta(hours=end_h),
            "possible_port_calls": reach, "start_port": "", "end_port": ""}


def trips_of(res, status=None):
    t = res.round_trips
    if status:
        t = t[t.status == status]
    return [(r.origin, r.destination) for r in t.itertuples()]


def test_design_example_two_round_trips_and_an_open_leg(reg):
    res = find_round_trips(calls("NDNDN"), None, reg, [])
    assert tuple(res.round_trips.columns) == ROUND_TRIP_TABLE
    assert tuple(res.round_trips.columns[:len(ROUND_TRIP_COLUMNS)]) == ROUND_TRIP_COLUMNS
    assert ROUND_TRIP_COLUMNS[-1] == "dark_period_id"      # DESIGN.md: the last column
    assert tuple(res.legs.columns) == LEG_COLUMNS
    assert tuple(res.possible_calls.columns) == POSSIBLE_CALL_COLUMNS
    assert trips_of(res) == [("Najin", "Dunay")] * 2
    assert len(res.legs) == 4 and set(res.legs.status) == {"observed"}
    t = res.round_trips.iloc[0]
    assert t.call_ids == "V1-0;V1-1;V1-2" and t.pair == "Dunay|Najin"
    assert t.depart_origin_utc == T0 + pd.Timedelta(hours=5)
    assert t.arrive_destination_utc == T0 + pd.Timedelta(days=2)
    assert t.depart_destination_utc == T0 + pd.Timedelta(days=2, hours=5)
    assert t.return_origin_utc == T0 + pd.Timedelta(days=4)
    assert t.duration_hours == pytest.approx(4 * 24 - 5)
    assert t.dark_period_id == ""
    assert res.round_trips.trip_id.str.match(r"^T-[0-9a-f]{12}$").all()
    assert res.legs.leg_id.str.match(r"^L-[0-9a-f]{12}$").all()


def test_design_example_triangle_gives_no_round_trip(reg):
    res = find_round_trips(calls("NDVN"), None, reg, [("Najin", "Dunay")])
    assert trips_of(res) == [] and len(res.legs) == 3


@pytest.mark.parametrize("seq, expected", [
    ("NNDN", [("Najin", "Dunay")]),            # a repeated call makes no leg
    ("NDDN", [("Najin", "Dunay")]),
    ("DNDN", [("Dunay", "Najin")]),            # paired from the first leg
    ("NDVDN", [("Dunay", "Vostochny")]),       # N->D open, D->V->D a trip, D->N open
    ("NDNVN", [("Najin", "Dunay"), ("Najin", "Vostochny")]),
    ("N", []), ("", []),
])
def test_observed_pairing(reg, seq, expected):
    res = find_round_trips(calls(seq) if seq else calls("N").iloc[:0], None, reg, [])
    assert trips_of(res) == expected
    assert set(res.round_trips.status) <= {"observed"}


def test_repeated_call_trip_uses_the_last_destination_call(reg):
    res = find_round_trips(calls("NDDN"), None, reg, [])
    t = res.round_trips.iloc[0]
    assert t.call_ids == "V1-0;V1-1;V1-2;V1-3"
    assert t.depart_destination_utc == T0 + pd.Timedelta(days=4, hours=5)


def test_inference_inserts_a_possible_call_between_two_calls_at_the_same_port(reg):
    v = calls("NN", every_days=4)
    g = pd.DataFrame([gap("G1", 10, 90, "Dunay;Vladivostok")])
    res = find_round_trips(v, g, reg, [("Najin", "Dunay")], names={1: "ANGARA"})
    assert trips_of(res, "inferred") == [("Najin", "Dunay")]
    t = res.round_trips.iloc[0]
    assert t.status == "inferred" and t["name"] == "ANGARA" and t.pair == "Dunay|Najin"
    assert t.dark_period_id == "G1"
    # times at the possible call are unknown: empty cells, not the dark period's bounds
    assert t.depart_origin_utc == T0 + pd.Timedelta(hours=5)
    assert pd.isna(t.arrive_destination_utc) and pd.isna(t.depart_destination_utc)
    assert t.return_origin_utc == T0 + pd.Timedelta(days=4)
    # duration: first known departure to last known arrival
    assert t.duration_hours == pytest.approx(4 * 24 - 5)
    pc = res.possible_calls
    assert len(pc) == 1 and pc.port.iloc[0] == "Dunay" and pc.gap_id.iloc[0] == "G1"
    assert pc.call_id.iloc[0].startswith("P-") and pc.call_id.iloc[0] in t.call_ids
    # the possible call keeps the window it lies in: its dark period
    assert pc.start_utc.iloc[0] == T0 + pd.Timedelta(hours=10)
    assert pc.end_utc.iloc[0] == T0 + pd.Timedelta(hours=90)
    legs = res.legs
    assert list(legs.status) == ["inferred", "inferred"] and set(legs.pair) == {"Dunay|Najin"}
    assert set(legs.dark_period_id) == {"G1"}
    out, back = legs.iloc[0], legs.iloc[1]
    assert out.depart_origin_utc == T0 + pd.Timedelta(hours=5) and pd.isna(out.arrive_destination_utc)
    assert pd.isna(back.depart_origin_utc) and back.arrive_destination_utc == T0 + pd.Timedelta(days=4)


def test_design_example_each_leg_counted_once(reg):
    """DESIGN.md: calls N, D, [dark, N reachable], D, N give two round trips, N->D->N*
    and N*->D->N, both inferred, never one observed and two inferred."""
    v = calls("NDDN", every_days=4)
    g = pd.DataFrame([gap("G1", 4 * 24 + 10, 8 * 24 - 10, "Najin;Vladivostok")])
    res = find_round_trips(v, g, reg, [("Najin", "Dunay")])
    t = res.round_trips
    assert list(zip(t.origin, t.destination, t.status)) == [("Najin", "Dunay", "inferred")] * 2
    assert list(t.dark_period_id) == ["G1", "G1"]
    first, second = t.iloc[0], t.iloc[1]
    pc = res.possible_calls.call_id.iloc[0]
    assert first.call_ids == f"V1-0;V1-1;{pc}" and second.call_ids == f"{pc};V1-2;V1-3"
    assert pd.isna(first.return_origin_utc) and pd.isna(second.depart_origin_utc)
    assert first.duration_hours == pytest.approx(4 * 24 - 5)     # N left -> D reached
    assert second.duration_hours == pytest.approx(4 * 24 - 5)    # D left -> N reached
    assert second.trip_id != first.trip_id and t.trip_id.is_unique
    # four legs, each once: N->D, D->N*, N*->D, D->N
    assert len(res.legs) == 4 and res.legs.leg_id.is_unique
    assert list(res.legs.status) == ["observed", "inferred", "inferred", "observed"]
    # without the pair of interest the plain chain gives the one observed trip
    plain = find_round_trips(v, g, reg, [])
    assert list(plain.round_trips.status) == ["observed"] and plain.possible_calls.empty


def test_no_inference_outside_the_pairs_of_interest(reg):
    v = calls("NN", every_days=4)
    g = pd.DataFrame([gap("G1", 10, 90, "Dunay;Vladivostok")])
    res = find_round_trips(v, g, reg, [])
    assert res.round_trips.empty and res.possible_calls.empty and res.legs.empty
    res = find_round_trips(v, g, reg, [("Najin", "Vostochny")])
    assert res.round_trips.empty


@pytest.mark.parametrize("gaps, n_inferred", [
    ([gap("G1", 10, 90, "Vladivostok")], 0),           # the other port is not reachable
    ([gap("G1", 2, 90, "Dunay")], 0),                  # starts before the first departure
    ([gap("G1", 10, 97, "Dunay")], 0),                 # ends after the next arrival
    ([gap("G1", 5, 96, "Dunay")], 1),                  # bounds are inclusive
    ([gap("G1", 10, None, "Dunay")], 0),               # open: not between two calls
    ([gap("G1", 10, 40, "Dunay"), gap("G2", 50, 90, "Dunay")], 1),   # first one only
], ids=["unreachable", "early", "late", "inclusive", "open", "two-gaps"])
def test_which_dark_periods_insert(reg, gaps, n_inferred):
    res = find_round_trips(calls("NN", every_days=4), pd.DataFrame(gaps), reg, ["Najin,Dunay"])
    assert len(res.round_trips) == n_inferred
    assert len(res.possible_calls) == n_inferred
    if n_inferred:
        assert res.possible_calls.gap_id.iloc[0] == "G1"


def test_dark_period_starting_inside_the_port(reg):
    """The vessel goes dark in Najin: the gap starts at the visit's last position."""
    v = calls("NDN", every_days=4)
    g = pd.DataFrame([gap("G1", 5, 40, "Najin;Vostochny"), gap("G2", 4 * 24 + 5, 4 * 24 + 40,
                                                               "Najin")])
    res = find_round_trips(v, g, reg, [("Najin", "Dunay")])
    # N -> D -> N observed; no two consecutive calls at the same port: nothing inferred
    assert trips_of(res) == [("Najin", "Dunay")] and res.possible_calls.empty


def test_dark_period_between_calls_at_the_pairs_other_port(reg):
    v = calls("DD", every_days=4)
    g = pd.DataFrame([gap("G1", 10, 90, "Najin")])
    res = find_round_trips(v, g, reg, [("Najin", "Dunay")])
    assert trips_of(res, "inferred") == [("Dunay", "Najin")]


def test_each_pair_of_interest_has_its_own_chain(reg):
    v = calls("NN", every_days=4)
    g = pd.DataFrame([gap("G1", 10, 90, "Dunay;Vostochny")])
    res = find_round_trips(v, g, reg, [("Najin", "Dunay"), ("vostochny", "NAJIN"),
                                       ("Dunay", "Najin")])
    assert sorted(res.possible_calls.pair) == ["Dunay|Najin", "Najin|Vostochny"]
    assert sorted(trips_of(res, "inferred")) == [("Najin", "Dunay"), ("Najin", "Vostochny")]
    assert res.possible_calls.call_id.nunique() == 2


def test_observed_and_inferred_trips_together(reg):
    # N D N . N D N: the gap between the two Najin calls adds one inferred trip
    v = calls("NDNNDN", every_days=2)
    g = pd.DataFrame([gap("G1", 4 * 24 + 6, 6 * 24 - 1, "Dunay")])
    res = find_round_trips(v, g, reg, [("Najin", "Dunay")])
    assert trips_of(res, "observed") == [("Najin", "Dunay")] * 2
    assert trips_of(res, "inferred") == [("Najin", "Dunay")]
    assert (res.legs.status == "inferred").sum() == 2 and (res.legs.status == "observed").sum() == 4
    assert set(res.legs.pair) == {"Dunay|Najin"} and res.legs.leg_id.is_unique


def test_other_pairs_come_from_the_plain_chain(reg):
    """Legs and trips of a pair that is not of interest ignore the possible calls of the
    pairs of interest (no inference for them), and are listed once."""
    v = calls("VDDV", every_days=4)
    g = pd.DataFrame([gap("G1", 4 * 24 + 10, 8 * 24 - 10, "Najin")])
    res = find_round_trips(v, g, reg, [("Najin", "Dunay")])
    t = res.round_trips.set_index("pair")
    # V D [N*] D V: the pair of interest's chain gives D->N*->D; V->D->V (its
    # destination split by the dark period) comes from the plain chain
    assert dict(t.status) == {"Dunay|Vostochny": "observed", "Dunay|Najin": "inferred"}
    assert t.loc["Dunay|Vostochny", "call_ids"] == "V1-0;V1-1;V1-2;V1-3"
    legs = res.legs
    assert sorted(legs.pair) == ["Dunay|Najin", "Dunay|Najin", "Dunay|Vostochny",
                                 "Dunay|Vostochny"]
    assert list(legs[legs.pair == "Dunay|Najin"].status) == ["inferred", "inferred"]


def test_unknown_port_in_a_pair_is_an_input_error(reg):
    with pytest.raises(InputError, match="unknown port 'Rason'"):
        find_round_trips(calls("ND"), None, reg, [("Rason", "Dunay")])


def test_params_type_checked_and_keyword_only(reg):
    with pytest.raises(TypeError):
        find_round_trips(calls("ND"), None, reg, [], params={"gap_hours": 6})
    assert RoundTripParams() == RoundTripParams()


def test_vessels_are_independent_and_row_order_does_not_matter(reg):
    v = pd.concat([calls("NDNDN", mmsi=7), calls("NN", mmsi=3, every_days=4),
                   calls("DND", mmsi=5)], ignore_index=True)
    g = pd.DataFrame([gap("G1", 10, 90, "Dunay", mmsi=3), gap("G2", 10, 40, "Dunay", mmsi=7)])
    res = find_round_trips(v, g, reg, [("Najin", "Dunay")])
    assert list(res.round_trips.mmsi) == [3, 5, 7, 7]
    assert list(res.round_trips.status) == ["inferred", "observed", "observed", "observed"]
    again = find_round_trips(v.sample(frac=1, random_state=1), g.iloc[::-1], reg,
                             [("Dunay", "Najin")])
    for a, b in ((res.round_trips, again.round_trips), (res.legs, again.legs),
                 (res.possible_calls, again.possible_calls)):
        pd.testing.assert_frame_equal(a, b)


def reference_trip_count(seq: str) -> int:
    """Greedy pairing restated: collapse repeats, then walk the port string."""
    ports = [k for k, _ in itertools.groupby(seq)]
    n, i = 0, 0
    while i + 2 < len(ports):
        if ports[i] == ports[i + 2]:
            n += 1
            i += 2
        else:
            i += 1
    return n


@settings(max_examples=60, deadline=None)
@given(seq=st.text(alphabet="NDVK", max_size=14))
def test_greedy_pairing_property(seq):
    reg = load_ports()
    v = calls(seq) if seq else calls("N").iloc[:0]
    res = find_round_trips(v, None, reg, [])
    assert len(res.round_trips) == reference_trip_count(seq)
    t = res.round_trips
    assert (t.origin != t.destination).all()
    assert (t.depart_origin_utc < t.arrive_destination_utc).all()
    assert (t.depart_destination_utc < t.return_origin_utc).all()
    if len(v):
        assert (t.depart_origin_utc >= v.arrival_utc.min()).all()
        assert (t.return_origin_utc <= v.departure_utc.max()).all()
    # no call departs twice: trips never share a leg
    legs = [tuple(ids.split(";")[:2]) for ids in t.call_ids]
    assert len(legs) == len(set(legs))


def _trip_legs(row, possible: set[str]) -> list[tuple[str, str]]:
    """A trip's two legs as (origin call, destination call) pairs, from its call ids
    (origin, destination as arrived at [, as left], return)."""
    ids = row.call_ids.split(";")
    if len(ids) == 3:
        ids = [ids[0], ids[1], ids[1], ids[2]]
    return [(ids[0], ids[1]), (ids[2], ids[3])]


@st.composite
def _vessels(draw):
    """One to three vessels, each a random call sequence with random dark periods
    between its calls (some long enough to reach the other port, some not, some open)."""
    visits, gaps = [], []
    for mmsi in range(1, draw(st.integers(1, 3)) + 1):
        seq = draw(st.text(alphabet="NDVK", min_size=0, max_size=10))
        if not seq:
            continue
        v = calls(seq, mmsi=mmsi)
        visits.append(v)
        for i in range(len(seq) - 1):
            if draw(st.booleans()):
                reach = ";".join(draw(st.lists(st.sampled_from(list(ABBR.values())),
                                               max_size=3, unique=True)))
                start_h = 48 * i + draw(st.integers(5, 20))
                gaps.append(gap(f"G{mmsi}-{i}", start_h, start_h + draw(st.integers(7, 27)),
                                reach, mmsi=mmsi))
        if draw(st.booleans()):
            gaps.append(gap(f"G{mmsi}-open", 48 * len(seq), None, "Najin", mmsi=mmsi))
    v = pd.concat(visits, ignore_index=True) if visits else calls("N").iloc[:0]
    return v, pd.DataFrame(gaps, columns=list(gap("x", 0, 1, "").keys()))


@settings(max_examples=80, deadline=None)
@given(data=_vessels(), order=st.randoms(use_true_random=False),
       pairs=st.sampled_from([[("Najin", "Dunay")], [("Najin", "Dunay"), ("Najin", "Vostochny")],
                              [("Vladivostok", "Dunay"), ("Dunay", "Najin")], []]))
def test_properties_each_leg_once_row_order_and_time_span(data, order, pairs):
    """No leg of a vessel is used by two trips of the same pair, the legs table lists
    each leg once, trips do not depend on the input rows' order, and every event lies
    inside the data's time span (DESIGN.md "Each leg is counted once")."""
    reg = load_ports()
    v, g = data
    res = find_round_trips(v, g, reg, pairs)
    possible = set(res.possible_calls.call_id)
    used: dict[tuple, set] = {}
    for row in res.round_trips.itertuples():
        for leg in _trip_legs(row, possible):
            key = (row.mmsi, row.pair)
            assert leg not in used.setdefault(key, set()), (row.mmsi, row.pair, leg)
            used[key].add(leg)
    leg_keys = list(zip(res.legs.mmsi, res.legs.origin_call_id, res.legs.destination_call_id))
    assert len(leg_keys) == len(set(leg_keys))
    # every trip's legs are legs of the table, of the same pair
    table = {(m, a, b): p for m, a, b, p in zip(res.legs.mmsi, res.legs.origin_call_id,
                                                res.legs.destination_call_id, res.legs.pair)}
    for row in res.round_trips.itertuples():
        for a, b in _trip_legs(row, possible):
            assert table[(row.mmsi, a, b)] == row.pair
    # inferred exactly when a possible call is used, with its dark period named
    for row in res.round_trips.itertuples():
        uses = [c for c in row.call_ids.split(";") if c in possible]
        assert (row.status == "inferred") == bool(uses)
        assert bool(row.dark_period_id) == bool(uses)
    # row order does not matter
    rows = list(range(len(v)))
    order.shuffle(rows)
    again = find_round_trips(v.iloc[rows], g.iloc[::-1], reg, list(reversed(pairs)))
    for a, b in ((res.round_trips, again.round_trips), (res.legs, again.legs),
                 (res.possible_calls, again.possible_calls)):
        pd.testing.assert_frame_equal(a.reset_index(drop=True), b.reset_index(drop=True))
    # inside the data's time span
    if len(v):
        lo, hi = v.arrival_utc.min(), v.departure_utc.max()
        for col in ("depart_origin_utc", "arrive_destination_utc", "depart_destination_utc",
                    "return_origin_utc"):
            known = res.round_trips[col].dropna()
            assert ((known >= lo) & (known <= hi)).all()
        d = res.round_trips.duration_hours.dropna()
        assert (d >= 0).all() and (d <= (hi - lo).total_seconds() / 3600).all()


def test_end_to_end_from_positions(reg):
    """Positions -> visits -> legs and round trips at the bundled ports."""
    from detectors.port_visits import find_port_visits

    najin, dunay = (42.2333, 130.30), (42.8803, 132.3375)
    rows = []
    for k, (lat, lon) in enumerate([najin, dunay, najin, dunay]):
        for m in range(0, 180, 15):
            rows.append((T0 + pd.Timedelta(days=k, minutes=m), lat, lon))
        rows.append((T0 + pd.Timedelta(days=k, hours=8), 42.5, 131.2))   # at sea
    pos = pd.DataFrame({"mmsi": 273000001, "timestamp": [r[0] for r in rows],
                        "lat": [r[1] for r in rows], "lon": [r[2] for r in rows],
                        "source": "x", "line": np.arange(len(rows))})
    visits = find_port_visits(pos, reg)
    res = find_round_trips(visits, None, reg, [("Najin", "Dunay")])
    assert list(visits.port) == ["Najin", "Dunay", "Najin", "Dunay"]
    assert trips_of(res) == [("Najin", "Dunay")] and len(res.legs) == 3
