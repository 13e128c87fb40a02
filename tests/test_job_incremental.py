"""`job` run after each of 10 slices of a feed finds exactly what one `detect` finds."""

import shutil

import pandas as pd
import pytest

from benchmarks.job_kill import comparable  # alerts without run-specific columns, by id
from shadowfleet.outputs.columns import ALERT_BOOK_COLUMNS, ALERT_LOG_COLUMNS
from shadowfleet.job import Analysis, run_job
from shadowfleet.pipeline import detect
from tests._live_feeds import scenario_lines, slice_lines, write_feed

PAIRS = (("Najin", "Dunay"),)


@pytest.fixture(scope="module")
def feed(tmp_path_factory):
    base = tmp_path_factory.mktemp("feed")
    lines = scenario_lines(seed=3)
    whole = base / "whole.nmea"
    write_feed(whole, lines)
    slices = []
    for i, part in enumerate(slice_lines(lines, 10)):
        # names deliberately not in time order: the job orders by receive time
        path = base / f"slice-{(7 * i) % 10:02d}-{i}.nmea"
        write_feed(path, part)
        slices.append(path)
    return whole, slices


@pytest.fixture(scope="module")
def truth(feed):
    whole, _ = feed
    return detect([whole], pairs=list(PAIRS))


@pytest.fixture(scope="module")
def analysis():
    return Analysis.load(pairs=PAIRS)


def read_alerts_csv(path) -> pd.DataFrame:
    return pd.read_csv(path, keep_default_na=False, na_values=[""],
                       dtype={"name": str, "summary": str, "evidence": str, "claim_ids": str})


def test_the_scenario_has_alerts_spanning_slices(truth):
    assert len(truth.alerts) >= 3
    assert truth.alerts["alert_id"].is_unique


def test_job_after_each_slice_equals_one_detect(tmp_path, feed, truth, analysis):
    _, slices = feed
    inbox, state, out = tmp_path / "inbox", tmp_path / "state", tmp_path / "out"
    inbox.mkdir()
    logged = 0
    for i, path in enumerate(slices):
        shutil.copy(path, inbox / path.name)
        report = run_job(inbox, state, out, analysis=analysis)
        assert report.new_files == [path.name]
        assert len(report.skipped_files) == i
        log = pd.read_csv(out / "alerts_log.csv", keep_default_na=False)
        assert len(log) == logged + sum(report.counts.values())
        logged = len(log)

    book = read_alerts_csv(out / "alerts.csv")
    assert list(book.columns[:len(ALERT_BOOK_COLUMNS)]) == list(ALERT_BOOK_COLUMNS)
    assert book["alert_id"].is_unique
    live = book[book["status"] != "retracted"]
    pd.testing.assert_frame_equal(comparable(live), comparable(truth.alerts))
    assert set(book["status"]) <= {"open", "closed", "retracted"}

    log = pd.read_csv(out / "alerts_log.csv", keep_default_na=False)
    assert list(log.columns) == list(ALERT_LOG_COLUMNS)
    assert not log.duplicated(["alert_id", "version"]).any()
    # a dark period open in the runs that ended inside it is versioned, not duplicated
    opened = set(log.loc[log["status"] == "open", "alert_id"])
    assert opened, "some dark period was open in a run ending inside it"
    indexed = book.set_index("alert_id")
    for aid in opened:
        rows = log[log["alert_id"] == aid]
        assert rows["status"].iloc[-1] == "closed"
        assert rows["version"].iloc[-1] > rows.loc[rows["status"] == "open", "version"].max()
        assert indexed.loc[aid, "status"] == "closed" and indexed.loc[aid, "version"] == len(rows)
        assert rows["end_utc"].iloc[0] == ""
    # every version logged once, versions 1..n without gaps, the last one is the book's
    for aid, rows in log.groupby("alert_id"):
        assert rows["version"].tolist() == list(range(1, len(rows) + 1))
        assert int(book.set_index("alert_id").loc[aid, "version"]) == len(rows)


def test_renamed_and_redelivered_files_are_not_processed_twice(tmp_path, feed, truth, analysis):
    _, slices = feed
    inbox, state, out = tmp_path / "inbox", tmp_path / "state", tmp_path / "out"
    inbox.mkdir()
    for path in slices[:5]:
        shutil.copy(path, inbox / path.name)
    first = run_job(inbox, state, out, analysis=analysis)
    assert len(first.new_files) == 5
    shutil.copy(slices[2], inbox / "renamed-copy.nmea")
    (inbox / slices[0].name).rename(inbox / "moved.nmea")
    (inbox / ".hidden-part.nmea").write_bytes(slices[7].read_bytes())
    (inbox / "incoming.nmea.part").write_bytes(slices[8].read_bytes())
    again = run_job(inbox, state, out, analysis=analysis)
    assert again.new_files == [] and again.counts == {"new": 0, "changed": 0, "retracted": 0}
    before = (out / "alerts_log.csv").read_bytes()
    for path in slices[5:]:
        shutil.copy(path, inbox / path.name)
    run_job(inbox, state, out, analysis=analysis)
    book = read_alerts_csv(out / "alerts.csv")
    pd.testing.assert_frame_equal(comparable(book[book["status"] != "retracted"]),
                                  comparable(truth.alerts))
    assert (out / "alerts_log.csv").read_bytes().startswith(before)


def test_all_slices_in_one_run_equal_detect_and_give_version_one(tmp_path, feed, truth, analysis):
    _, slices = feed
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for path in slices:
        shutil.copy(path, inbox / path.name)
    report = run_job(inbox, tmp_path / "state", tmp_path / "out", analysis=analysis)
    assert report.counts == {"new": len(truth.alerts), "changed": 0, "retracted": 0}
    assert report.new_files == [p.name for p in slices], "receive-time order, not name order"
    # the type 5 message split between slices 3 and 4 is assembled as in one detect
    statics = pd.read_parquet(tmp_path / "out" / "statics.parquet")
    assert len(statics) == len(truth.statics) == 3
    positions = pd.read_parquet(tmp_path / "out" / "positions.parquet")
    assert len(positions) == len(truth.positions)
    book = read_alerts_csv(tmp_path / "out" / "alerts.csv")
    assert (book["version"] == 1).all() and set(book["status"]) <= {"open", "closed"}
    pd.testing.assert_frame_equal(comparable(book), comparable(truth.alerts))
    for name in ("port_visits.csv", "dark_periods.csv", "round_trips.csv", "summary.json",
                 "positions.parquet", "rejects.csv"):
        assert (tmp_path / "out" / name).exists(), name


def test_a_late_file_retracts_the_dark_periods_it_fills(tmp_path, feed, truth, analysis):
    _, slices = feed
    inbox, state, out = tmp_path / "inbox", tmp_path / "state", tmp_path / "out"
    inbox.mkdir()
    late = slices[5:7]                          # about 12 h of every vessel's reports
    for path in slices:
        if path not in late:
            shutil.copy(path, inbox / path.name)
    run_job(inbox, state, out, analysis=analysis)
    before = read_alerts_csv(out / "alerts.csv")
    for path in late:
        shutil.copy(path, inbox / path.name)
    report = run_job(inbox, state, out, analysis=analysis)
    assert sorted(report.new_files) == sorted(p.name for p in late)
    assert report.counts["retracted"] >= 1
    book = read_alerts_csv(out / "alerts.csv")
    retracted = book[book["status"] == "retracted"]
    assert set(retracted["alert_id"]) <= set(before["alert_id"])
    # a silence also cut the slow legs at sea in two loiterings: the late file joins
    # them into one, and the alert of a piece that ends or starts in the silence goes
    assert set(retracted["kind"]) <= {"dark_period", "loitering"}
    assert (retracted["kind"] == "dark_period").any()
    live = book[(book["kind"] == "loitering") & (book["status"] != "retracted")]
    for r in retracted[retracted["kind"] == "loitering"].to_dict("records"):
        assert ((live["mmsi"] == r["mmsi"]) & (live["start_utc"] <= r["start_utc"])
                & (live["end_utc"] >= r["end_utc"])).any(), r
    assert (retracted["version"] == 2).all()
    pd.testing.assert_frame_equal(comparable(book[book["status"] != "retracted"]),
                                  comparable(truth.alerts))


def test_a_file_without_receive_times_is_refused_once(tmp_path, feed, truth, analysis):
    from tests._live_feeds import run_cli

    _, slices = feed
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    shutil.copy(slices[0], inbox / slices[0].name)
    untimed = b"".join(line.split(b"\\")[-1] + b"\n"
                       for line in slices[1].read_bytes().splitlines())
    (inbox / "no-times.nmea").write_bytes(untimed)
    args = ("job", "--inbox", inbox, "--state", tmp_path / "state", "--out", tmp_path / "out")
    first = run_cli(*args)
    assert first.returncode == 1
    assert b"no-times.nmea" in first.stdout and b"no receive time" in first.stdout
    assert b"1 new file(s)" in first.stdout
    second = run_cli(*args)
    assert second.returncode == 0 and b"0 new file(s); 2 already processed" in second.stdout


def test_an_empty_inbox_writes_nothing_and_a_missing_inbox_is_an_error(tmp_path):
    from tests._live_feeds import run_cli

    (tmp_path / "inbox").mkdir()
    report = run_job(tmp_path / "inbox", tmp_path / "state", tmp_path / "out")
    assert report.new_files == [] and not (tmp_path / "out" / "alerts.csv").exists()
    bad = run_cli("job", "--inbox", tmp_path / "missing", "--state", tmp_path / "s2",
                  "--out", tmp_path / "o2")
    assert bad.returncode == 1 and b"inbox is not a directory" in bad.stderr


def test_a_vessel_dark_across_runs_writes_one_version_until_it_closes(tmp_path, feed, analysis):
    """DESIGN.md "Scale": an open dark period growing longer is not a new version."""
    inbox, state, out = tmp_path / "inbox", tmp_path / "state", tmp_path / "out"
    inbox.mkdir()
    seen = []           # per run: (status, version, summary) of MARIA's dark periods
    for i, part in enumerate(slice_lines(scenario_lines(seed=3), 40)):   # about 1.5 h each
        write_feed(inbox / f"part-{i:02d}.nmea", part)
        run_job(inbox, state, out, analysis=analysis)
        book = read_alerts_csv(out / "alerts.csv")
        dark = book[(book["kind"] == "dark_period") & (book["mmsi"] == 273000002)]
        seen.append({a: (s, v, t) for a, s, v, t in zip(dark["alert_id"], dark["status"],
                                                         dark["version"], dark["summary"])})
    ever_open = {a for run in seen for a, (s, _, _) in run.items() if s == "open"}
    assert ever_open, "the scenario must keep MARIA dark across a run boundary"
    log = pd.read_csv(out / "alerts_log.csv", keep_default_na=False)
    for alert in ever_open:
        runs_open = [run[alert] for run in seen if alert in run and run[alert][0] == "open"]
        assert len(runs_open) >= 2
        assert len({t for _, _, t in runs_open}) == len(runs_open)   # the length grew ...
        assert {v for _, v, _ in runs_open} == {1}                  # ... in one version
        mine = log[log["alert_id"] == alert]
        assert mine["status"].tolist() == ["open", "closed"]
        assert mine["version"].tolist() == [1, 2]
        assert seen[-1][alert][:2] == ("closed", 2)
