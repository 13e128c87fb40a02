"""Alert versioning (new / changed / retracted) and the append-only log with torn-line repair."""

import numpy as np
import pandas as pd
import pytest

from shadowfleet.errors import StateError
from detectors.columns import ALERT_COLUMNS
from shadowfleet.alert_book import (LOG_HEADER, append_log, live_alerts, log_lines, repair_log,
                                    update_book)
from shadowfleet.outputs.columns import ALERT_BOOK_COLUMNS


def make_alerts(*rows):
    """Alert rows from (alert_id, start hour, end hour or None, summary)."""
    base = pd.Timestamp("2023-09-07T00:00:00Z")
    data = []
    for aid, start, end, summary in rows:
        data.append({"alert_id": aid, "kind": "dark_period", "mmsi": 273000001,
                     "name": "ANGARA", "imo": 9179842.0,
                     "start_utc": base + pd.Timedelta(hours=start),
                     "end_utc": pd.NaT if end is None else base + pd.Timedelta(hours=end),
                     "lat": 42.2, "lon": 130.3, "score": 0.5, "summary": summary,
                     "evidence": f"G-{aid}", "claim_ids": ""})
    if not data:
        return pd.DataFrame({c: pd.Series([], dtype=object) for c in ALERT_COLUMNS})
    return pd.DataFrame(data)[list(ALERT_COLUMNS)]


def test_first_run_gives_version_one_and_status_from_end():
    up = update_book(None, make_alerts(("A-1", 0, 10, "x"), ("A-2", 5, None, "y")))
    book = up.book.set_index("alert_id")
    assert book.loc["A-1", "version"] == 1 and book.loc["A-1", "status"] == "closed"
    assert book.loc["A-2", "version"] == 1 and book.loc["A-2", "status"] == "open"
    assert up.counts == {"new": 2, "changed": 0, "retracted": 0}
    assert list(up.changes.columns) == list(ALERT_BOOK_COLUMNS)


def test_unchanged_alerts_are_not_logged_again():
    first = update_book(None, make_alerts(("A-1", 0, 10, "x")))
    again = update_book(first.book, make_alerts(("A-1", 0, 10, "x")))
    assert again.changes.empty
    assert again.book["version"].tolist() == [1]


def test_open_alert_closing_is_a_new_version():
    first = update_book(None, make_alerts(("A-1", 0, None, "open gap")))
    closed = update_book(first.book, make_alerts(("A-1", 0, 14, "gap of 14 h")))
    row = closed.book.iloc[0]
    assert (row["status"], row["version"]) == ("closed", 2)
    assert closed.counts == {"new": 0, "changed": 1, "retracted": 0}


def test_vanished_alert_is_retracted_once_then_revived():
    first = update_book(None, make_alerts(("A-1", 0, 10, "x"), ("A-2", 1, 9, "y")))
    gone = update_book(first.book, make_alerts(("A-1", 0, 10, "x")))
    assert gone.counts == {"new": 0, "changed": 0, "retracted": 1}
    row = gone.book.set_index("alert_id").loc["A-2"]
    assert (row["status"], row["version"]) == ("retracted", 2)
    still_gone = update_book(gone.book, make_alerts(("A-1", 0, 10, "x")))
    assert still_gone.changes.empty, "a retraction is logged once"
    back = update_book(still_gone.book, make_alerts(("A-1", 0, 10, "x"), ("A-2", 1, 9, "y")))
    row = back.book.set_index("alert_id").loc["A-2"]
    assert (row["status"], row["version"]) == ("closed", 3)
    assert live_alerts(back.book)["alert_id"].tolist() == ["A-1", "A-2"]


def test_one_row_per_alert_id_even_if_the_input_repeats_one():
    up = update_book(None, make_alerts(("A-1", 0, 10, "x"), ("A-1", 0, 10, "x")))
    assert up.book["alert_id"].tolist() == ["A-1"]


def test_book_is_independent_of_input_row_order():
    rows = [("A-%d" % i, i, i + 3, "s") for i in range(6)]
    a = update_book(None, make_alerts(*rows)).book
    b = update_book(None, make_alerts(*reversed(rows))).book
    pd.testing.assert_frame_equal(a.reset_index(drop=True), b.reset_index(drop=True))


def test_log_lines_are_one_record_per_line_and_neutralised():
    up = update_book(None, make_alerts(("A-1", 0, 10, "=cmd()\nsecond line"), ("A-2", 1, None, "y")))
    lines = log_lines(up.changes, pd.Timestamp("2023-09-08T00:00:00Z"), data="simulated")
    assert len(lines) == 2 and all(line.endswith("\n") and line.count("\n") == 1 for line in lines)
    assert "'=cmd() second line" in lines[0]
    assert lines[0].rstrip("\n").endswith("2023-09-08T00:00:00Z,simulated")
    assert ",open,1," in lines[1]


def test_repair_log_creates_cuts_torn_line_and_keeps_whole_ones(tmp_path):
    log = tmp_path / "alerts_log.csv"
    assert repair_log(log) == 0
    assert log.read_text() == LOG_HEADER
    up = update_book(None, make_alerts(("A-1", 0, 10, "x"), ("A-2", 1, 9, "y")))
    lines = log_lines(up.changes, pd.Timestamp("2023-09-08T00:00:00Z"), data="real")
    append_log(log, lines[:1])
    with open(log, "a") as fh:          # a run killed in the middle of its append
        fh.write(lines[1][:17])
    assert repair_log(log) == 1
    assert log.read_text() == LOG_HEADER + lines[0]
    append_log(log, lines[1:])
    assert repair_log(log) == 2
    frame = pd.read_csv(log)
    assert frame["alert_id"].tolist() == ["A-1", "A-2"]


def test_repair_log_rewrites_a_torn_header_and_refuses_a_foreign_file(tmp_path):
    log = tmp_path / "alerts_log.csv"
    log.write_text(LOG_HEADER[:9])
    assert repair_log(log) == 0 and log.read_text() == LOG_HEADER
    other = tmp_path / "other.csv"
    other.write_text("a,b\n1,2\n")
    with pytest.raises(StateError):
        repair_log(other)


def test_a_log_of_before_the_data_column_is_upgraded_once(tmp_path):
    from shadowfleet.outputs.columns import ALERT_BOOK_COLUMNS as BOOK_COLUMNS

    log = tmp_path / "alerts_log.csv"
    legacy = ",".join(BOOK_COLUMNS + ("logged_utc",)) + "\n"
    up = update_book(None, make_alerts(("A-1", 0, 10, "x"), ("A-2", 1, 9, "y")))
    old = [line.rsplit(",", 1)[0] + "\n"
           for line in log_lines(up.changes, pd.Timestamp("2023-09-08T00:00:00Z"), data="real")]
    log.write_text(legacy + old[0] + old[1][:12])     # and a torn last line
    assert repair_log(log) == 1
    assert log.read_text() == LOG_HEADER + old[0].rstrip("\n") + ",\n"
    append_log(log, log_lines(up.changes.iloc[1:], pd.Timestamp("2023-09-09T00:00:00Z"),
                              data="real"))
    assert repair_log(log) == 2
    frame = pd.read_csv(log, keep_default_na=False)
    assert frame["alert_id"].tolist() == ["A-1", "A-2"]
    assert frame["data"].tolist() == ["", "real"]


def test_random_sequences_of_alert_sets_keep_versions_consistent():
    rng = np.random.default_rng(7)
    book, history = None, {}
    for _ in range(30):
        ids = sorted(rng.choice(8, size=rng.integers(0, 8), replace=False))
        rows = [(f"A-{i}", int(i), None if rng.random() < 0.3 else int(i) + 5,
                 f"s{rng.integers(0, 2)}") for i in ids]
        up = update_book(book, make_alerts(*rows))
        book = up.book
        assert book["alert_id"].is_unique
        for _, r in up.changes.iterrows():
            assert r["version"] == history.get(r["alert_id"], 0) + 1
            history[r["alert_id"]] = r["version"]
        assert set(live_alerts(book)["alert_id"]) == {f"A-{i}" for i in ids}


from hypothesis import given, settings, strategies as st  # noqa: E402

_alert = st.tuples(st.integers(0, 5), st.booleans(), st.sampled_from(["a", "b"]))


@settings(max_examples=20, deadline=None)
@given(runs=st.lists(st.lists(_alert, max_size=6), min_size=1, max_size=6))
def test_book_properties_over_any_sequence_of_runs(runs):
    """Live alerts are the last run's; each logged change is the previous version + 1;
    a run identical to the one before logs nothing."""
    book, versions = None, {}
    for run in runs:
        rows = {i: (f"A-{i}", i, None if open_ else i + 4, text) for i, open_, text in run}
        current = make_alerts(*rows.values())
        up = update_book(book, current)
        for _, r in up.changes.iterrows():
            assert r["version"] == versions.get(r["alert_id"], 0) + 1
            versions[r["alert_id"]] = r["version"]
        assert set(live_alerts(up.book)["alert_id"]) == {f"A-{i}" for i in rows}
        assert update_book(up.book, current).changes.empty
        book = up.book
