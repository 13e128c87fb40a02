"""`job` with short tails: events straddle run boundaries, positions leave the tails for
the archive, and the alerts still equal one `detect` over all the files."""

import pandas as pd

from benchmarks.job_kill import comparable
from shadowfleet.job import run_job
from shadowfleet.job_state import load_state, read_archive
from shadowfleet.job_tails import TailParams, pins, tail_mask, event_spans
from tests._live_feeds import scenario_lines, slice_lines, write_feed
from tests.test_job_incremental import analysis, feed, read_alerts_csv, truth  # noqa: F401

SHORT = TailParams(tail_hours=14)       # the least the default thresholds allow


def test_short_tails_over_30_runs_equal_one_detect(tmp_path, truth, analysis):
    inbox, state, out = tmp_path / "inbox", tmp_path / "state", tmp_path / "out"
    inbox.mkdir()
    retired_runs = 0
    for i, part in enumerate(slice_lines(scenario_lines(seed=3), 30)):
        write_feed(inbox / f"part-{i:02d}.nmea", part)
        report = run_job(inbox, state, out, analysis=analysis, tail=SHORT)
        kept = load_state(state)
        assert len(kept.positions) <= report.positions
        retired_runs += len(kept.positions) < report.positions
    assert retired_runs >= 2, "positions must have left the tails"
    archived = read_archive(state, kept.archive)
    assert len(archived) + len(kept.positions) == report.positions == len(truth.positions)
    book = read_alerts_csv(out / "alerts.csv")
    pd.testing.assert_frame_equal(comparable(book[book["status"] != "retracted"]),
                                  comparable(truth.alerts))
    for name, frame in (("port_visits.csv", truth.port_visits),
                        ("dark_periods.csv", truth.dark_periods)):
        got = pd.read_csv(out / name)
        assert len(got) == len(frame), name


def test_an_open_event_pins_the_tail_and_a_settled_one_does_not():
    h = 3_600_000_000_000
    spans = pd.DataFrame({"mmsi": [1, 2, 2], "start": [2 * h, 1 * h, 30 * h],
                          "end": [2**63 - 1, 3 * h, 31 * h]})
    pin = pins(pd.Index([1, 2, 3]).to_numpy(), spans, 40 * h, 7 * h)
    assert pin.to_dict() == {1: 2 * h, 2: 40 * h, 3: 40 * h}   # 2: ended 9 h before
    t = pd.to_datetime([0, h, 2 * h, 29 * h, 41 * h, 5 * h], utc=True)
    pos = pd.DataFrame({"mmsi": [1, 1, 1, 2, 2, 3], "timestamp": t, "lat": 1.0, "lon": 1.0,
                        "spoofed": False})
    keep, cut = tail_mask(pos, pin)
    # vessel 1 from the fix before its open event, 2 from the fix before its pin, and 3
    # (silent since long before the horizon) keeps its last position
    assert keep.tolist() == [False, True, True, True, True, True]
    assert event_spans({}, None).empty
