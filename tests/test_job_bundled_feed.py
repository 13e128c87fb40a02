"""`job` after each of 10 slices of the bundled simulated Najin-Dunay feed (two receiving
stations, duplicates, multi-fragment statics, AIS switched off) equals one `detect`."""

import gzip
import json
import shutil

import pandas as pd
import pytest

from shadowfleet.job import Analysis, run_job
from shadowfleet.pipeline import detect
from tests._live_feeds import REPO, slice_lines
from tests.test_job_incremental import comparable, read_alerts_csv

FEED = REPO / "shadowfleet" / "data" / "demo" / "najin-dunay-2023.nmea.gz"
PAIRS = (("Najin", "Dunay"),)


@pytest.mark.skipif(not FEED.exists(), reason="bundled feed not generated")
def test_job_over_ten_slices_of_the_bundled_feed_equals_detect(tmp_path):
    lines = gzip.decompress(FEED.read_bytes()).decode("ascii").splitlines()
    truth = detect([FEED], pairs=list(PAIRS))
    assert len(truth.alerts) > 50
    analysis = Analysis.load(pairs=PAIRS)
    inbox, state, out = tmp_path / "inbox", tmp_path / "state", tmp_path / "out"
    inbox.mkdir()
    staging = tmp_path / "staging"
    staging.mkdir()
    changed = 0
    for i, part in enumerate(slice_lines(lines, 10)):
        path = staging / f"feed-{i:02d}.nmea"
        path.write_text("\n".join(part) + "\n", encoding="ascii")
        shutil.move(path, inbox / path.name)
        report = run_job(inbox, state, out, analysis=analysis)
        assert report.new_files == [path.name]
        changed += report.counts["changed"] + report.counts["retracted"]
    book = read_alerts_csv(out / "alerts.csv")
    assert book["alert_id"].is_unique
    pd.testing.assert_frame_equal(comparable(book[book["status"] != "retracted"]),
                                  comparable(truth.alerts))
    log = pd.read_csv(out / "alerts_log.csv", keep_default_na=False)
    assert not log.duplicated(["alert_id", "version"]).any()
    assert changed > 0, "events spanning slices were updated in later runs"
    # positions.parquet holds what the last run analysed (the vessels' tails and the new
    # data), every vessel's last position among them; summary.json counts all positions
    got = pd.read_parquet(out / "positions.parquet")
    assert 0 < len(got) < len(truth.positions)
    last = truth.positions.groupby("mmsi")["timestamp"].max()
    pd.testing.assert_series_equal(got.groupby("mmsi")["timestamp"].max(), last,
                                   check_dtype=False)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["positions"] == truth.summary["positions"]
    assert summary["vessels"] == truth.summary["vessels"]
    # the behaviour files too: the same events, the same ids, as one detect
    for name, attr, key in (("encounters.csv", "encounters", "encounter_id"),
                            ("loitering.csv", "loitering", "loiter_id"),
                            ("stops.csv", "stops", "stop_id"), ("stays.csv", "stays", "stay_id"),
                            ("vessels.csv", "vessels", "mmsi")):
        got = pd.read_csv(out / name, keep_default_na=False)
        assert got[key].tolist() == getattr(truth, attr)[key].tolist(), name
