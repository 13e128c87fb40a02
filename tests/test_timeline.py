"""timeline.png from hand-made tables: rows, ordering, open dark periods, claim windows."""

from __future__ import annotations

import struct

import pandas as pd
import pytest

from shadowfleet.outputs.timeline import MAX_ROWS, _rows, write_timeline
from sim_result import make_result


def _png_size(path):
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


def _positions(mmsis, days=5):
    t0 = pd.Timestamp("2023-09-01T00:00Z")
    return [dict(mmsi=m, timestamp=t0 + pd.Timedelta(hours=h), lat=42.5, lon=131.5)
            for m in mmsis for h in range(0, 24 * days, 3)]


def _visit(mmsi, port, a, b, name=""):
    return dict(visit_id=f"V-{mmsi}-{a}", mmsi=mmsi, name=name, port=port, arrival_utc=a,
                departure_utc=b, dwell_hours=1.0, n_positions=5)


@pytest.fixture()
def result():
    visits = [_visit(1, "Dunay", "2023-09-01T00:00Z", "2023-09-01T20:00Z", "<b>BOLD</b>"),
              _visit(1, "Dunay", "2023-09-03T10:00Z", "2023-09-04T08:00Z", "<b>BOLD</b>"),
              _visit(2, "Vladivostok", "2023-09-02T00:00Z", "2023-09-03T00:00Z")]
    gaps = [dict(gap_id="G-1", mmsi=1, name="", start_utc="2023-09-01T22:00Z",
                 end_utc="2023-09-03T08:00Z", hours=34.0, start_lat=0, start_lon=0, end_lat=0,
                 end_lon=0, distance_nm=0, implied_speed_kn=0, others_received=0,
                 possible_port_calls="Najin"),
            dict(gap_id="G-2", mmsi=3, name="", start_utc="2023-09-04T00:00Z", end_utc=None,
                 hours=24.0, start_lat=0, start_lon=0, end_lat=None, end_lon=None,
                 distance_nm=None, implied_speed_kn=None, others_received=0, possible_port_calls="")]
    calls = [dict(call_id="P-1", mmsi=1, name="", port="Najin", gap_id="G-1",
                  start_utc="2023-09-01T22:00Z", end_utc="2023-09-03T08:00Z", pair="Dunay|Najin")]
    claims = [dict(claim_id="c-a", source="s", window_start="2023-09-01", window_end="2023-09-03",
                   ports="Najin;Dunay", expected=5, observed=0, inferred=1,
                   verdict="not_observed", evidence=""),
              dict(claim_id="c-b", source="s", window_start="2023-09-01", window_end="2023-09-03",
                   ports="Najin;Dunay", expected=1, observed=0, inferred=1,
                   verdict="consistent_with_dark_activity", evidence="")]
    return make_result(_positions([1, 2, 3]), visits=visits, gaps=gaps, calls=calls, claims=claims)


def test_writes_a_png(result, tmp_path):
    width, height = _png_size(write_timeline(result, tmp_path / "timeline.png"))
    assert width > 1000 and height > 300


def test_vessels_with_possible_calls_come_first_then_dark_hours(result):
    assert _rows(result) == [1, 3, 2]


def test_height_grows_with_vessels_and_rows_are_capped(tmp_path):
    small = _png_size(write_timeline(make_result(_positions([1, 2])), tmp_path / "a.png"))[1]
    many = make_result(_positions(range(1, 61), days=1))
    big = _png_size(write_timeline(many, tmp_path / "b.png"))[1]
    assert big > small
    assert len(_rows(many)) == MAX_ROWS


def test_empty_result(tmp_path):
    _png_size(write_timeline(make_result([]), tmp_path / "empty.png"))


def test_datetime_and_string_times_draw_the_same(result, tmp_path):
    a = write_timeline(result, tmp_path / "a.png").read_bytes()
    result.port_visits["arrival_utc"] = result.port_visits["arrival_utc"].dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    b = write_timeline(result, tmp_path / "b.png").read_bytes()
    assert a == b


def test_claim_windows_share_bands_and_list_those_outside_the_data():
    from shadowfleet.outputs.timeline import claim_windows

    claims = pd.DataFrame({"claim_id": ["a", "b", "c", "d"],
                           "window_start": ["2023-09-01", "2023-09-01", "2024-03-10", "2023-08-01"],
                           "window_end": ["2023-09-03", "2023-09-03", "2024-03-15", "2023-08-31"]})
    t0, t1 = pd.Timestamp("2023-09-01T00:00Z"), pd.Timestamp("2023-09-05T00:00Z")
    windows, outside = claim_windows(claims, t0, t1)
    # the window of a and b runs to the end of 3 September; d ends at 1 September 00:00Z,
    # the first instant of the data, so it still touches it
    assert windows == {(pd.Timestamp("2023-09-01T00:00Z"), pd.Timestamp("2023-09-04T00:00Z")): ["a", "b"],
                       (pd.Timestamp("2023-08-01T00:00Z"), pd.Timestamp("2023-09-01T00:00Z")): ["d"]}
    assert outside == ["c"]


def test_untestable_claims_get_no_window_band():
    from shadowfleet.outputs.timeline import claim_windows

    claims = pd.DataFrame({"claim_id": ["trips", "containers", "judgement"],
                           "window_start": ["2023-09-01", "2023-09-01", ""],
                           "window_end": ["2023-09-03", "2023-09-03", ""],
                           "verdict": ["not_observed", "untestable", "untestable"]})
    t0, t1 = pd.Timestamp("2023-09-01T00:00Z"), pd.Timestamp("2023-09-05T00:00Z")
    windows, outside = claim_windows(claims, t0, t1)
    assert list(windows.values()) == [["trips"]] and outside == []


def _behaviour(result):
    """The result with an encounter of 2 and 3, loitering of 2 and stays of 3 at a stop."""
    t = pd.Timestamp
    result.encounters = pd.DataFrame({
        "encounter_id": ["E-1"], "mmsi_1": [2], "name_1": [""], "mmsi_2": [3], "name_2": [""],
        "start_utc": [t("2023-09-02T03:00Z")], "end_utc": [t("2023-09-02T09:00Z")],
        "hours": [6.0], "lat": [42.5], "lon": [131.5]})
    result.loitering = pd.DataFrame({
        "loiter_id": ["LO-1"], "mmsi": [2], "name": [""], "start_utc": [t("2023-09-02T01:00Z")],
        "end_utc": [t("2023-09-02T10:00Z")], "hours": [9.0], "lat": [42.5], "lon": [131.5]})
    result.stays = pd.DataFrame({
        "stay_id": ["ST-1", "ST-2", "ST-3"], "mmsi": [3, 3, 2], "name": ["", "", ""],
        "start_utc": [t("2023-09-01T01:00Z"), t("2023-09-03T01:00Z"), t("2023-09-02T03:00Z")],
        "end_utc": [t("2023-09-01T05:00Z"), t("2023-09-03T05:00Z"), t("2023-09-02T09:00Z")],
        "hours": [4.0, 4.0, 6.0], "lat": [42.6] * 3, "lon": [131.6] * 3,
        "n_positions": [20, 20, 30], "stop_id": ["S-1", "S-1", ""]})
    return result


def test_behaviour_at_sea_is_drawn_on_the_vessels_rows(result):
    import matplotlib.pyplot as plt

    from shadowfleet.outputs.timeline import draw_timeline

    fig = draw_timeline(_behaviour(result))
    try:
        ax = fig.axes[0]
        gids = [c.get_gid() for c in ax.collections]
        assert gids.count("encounter") == 2          # one outline per side
        assert gids.count("loitering") == 1 and gids.count("unlisted_stop") == 1
        stop = next(c for c in ax.collections if c.get_gid() == "unlisted_stop")
        assert len(stop.get_paths()) == 2            # only the stays at a stop
        link = [ln for ln in ax.lines if ln.get_gid() == "encounter_link"]
        assert len(link) == 1
        rows = _rows(result)
        assert sorted(link[0].get_ydata()) == sorted([rows.index(2), rows.index(3)])
        labels = [t.get_text() for t in ax.get_legend().get_texts()]
        assert {"loitering at sea", "stay at an unlisted stop",
                "encounter at sea (line joins the two vessels)"} <= set(labels)
    finally:
        plt.close(fig)


def test_behaviour_ranks_rows_after_dark_hours(result):
    result = _behaviour(result)
    result.dark_periods = result.dark_periods[result.dark_periods["mmsi"] != 3]
    # no dark hours for 2 and 3: 3 (an encounter, two stays at a stop) before 2 (an
    # encounter, a loitering), though 2 has more port visits
    assert _rows(result) == [1, 3, 2]
    result.stays = result.stays[result.stays["mmsi"] != 3]
    assert _rows(result) == [1, 2, 3]
