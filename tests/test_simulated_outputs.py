"""Simulated data says so (DESIGN.md): every output made from a feed the simulator wrote
carries the mark where a reader sees it, on every path (detect, job, watch); real data
carries ``data`` = ``real`` and no banner."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from click.testing import CliRunner
from PIL import Image

from shadowfleet.cli import main
from tests._live_feeds import run_cli
from tests.test_claims_run_settings import COVERAGE_CLAIM, feed_lines

BANNER = "> **SIMULATED DATA.**"


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """detect (with figures) on the same feed, with and without the simulator's mark."""
    d = tmp_path_factory.mktemp("simulated")
    (d / "claims.yaml").write_text(COVERAGE_CLAIM, encoding="utf-8")
    out = {}
    for kind in ("simulated", "real"):
        feed = d / f"{kind}.nmea"
        feed.write_text("\n".join(feed_lines(simulated=kind == "simulated")) + "\n",
                        encoding="ascii")
        res = CliRunner().invoke(main, ["detect", str(feed), "--claims", str(d / "claims.yaml"),
                                        "--out", str(d / kind), "--quiet"])
        assert res.exit_code == 0, res.output
        out[kind] = d / kind
    return out


def _csv(path):
    return pd.read_csv(path, keep_default_na=False)


@pytest.mark.parametrize("name", ["claims.csv", "alerts.csv"])
def test_csv_files_end_with_the_data_column(runs, name):
    from shadowfleet.pipeline import EVENT_FILES

    contract = dict(EVENT_FILES.values())[name]
    for kind in ("simulated", "real"):
        table = _csv(runs[kind] / name)
        assert tuple(table.columns[:len(contract)]) == contract
        assert table.columns[-1] == "data"
        assert len(table) and set(table["data"]) == {kind}, (name, kind)


def test_claims_summaries_say_simulated_data(runs):
    sim = _csv(runs["simulated"] / "claims.csv")
    assert all(s.startswith("SIMULATED DATA: ") for s in sim["summary"])
    real = _csv(runs["real"] / "claims.csv")
    assert not any("SIMULATED" in s for s in real["summary"])


def test_claims_md_opens_with_a_banner(runs):
    text = (runs["simulated"] / "claims.md").read_text(encoding="utf-8")
    assert text.startswith(BANNER)
    assert "every vessel, MMSI and IMO in it is fictional" in text
    assert "## covered-day: not observed (SIMULATED DATA)" in text
    assert "SIMULATED AIS: every vessel, MMSI and IMO in this file is fictional" in text
    real = (runs["real"] / "claims.md").read_text(encoding="utf-8")
    assert real.startswith("# Claims: what the AIS shows") and "SIMULATED" not in real


def test_summary_json_marks_the_run_and_the_input(runs):
    sim = json.loads((runs["simulated"] / "summary.json").read_text())
    assert sim["data"] == "simulated" and sim["simulated"].startswith("SIMULATED AIS")
    assert sim["inputs"][0]["simulated"].startswith("SIMULATED AIS")
    real = json.loads((runs["real"] / "summary.json").read_text())
    assert real["data"] == "real" and "simulated" not in real
    assert "simulated" not in real["inputs"][0]


def test_map_title_says_simulated_data(runs):
    import re

    sim = (runs["simulated"] / "map.html").read_text(encoding="utf-8")
    assert re.search(r"<title>SIMULATED DATA: shadowfleet map</title>", sim)
    assert "SIMULATED DATA: every vessel on this map is fictional" in sim
    real = (runs["real"] / "map.html").read_text(encoding="utf-8")
    assert "<title>shadowfleet map</title>" in real and "SIMULATED" not in real


def test_timeline_title_says_simulated_data(runs):
    assert Image.open(runs["simulated"] / "timeline.png").info["Title"].startswith(
        "SIMULATED DATA: ")
    assert "SIMULATED" not in Image.open(runs["real"] / "timeline.png").info["Title"]


def test_timeline_drawn_title_text(tmp_path):
    """The title a reader sees, read from the figure's text objects."""
    import matplotlib.pyplot as plt

    from shadowfleet.outputs.timeline import draw_timeline
    from sim_result import make_result

    result = make_result([dict(mmsi=1, timestamp=t, lat=42.5, lon=131.5)
                          for t in ("2023-09-01T00:00Z", "2023-09-02T00:00Z")])
    for note, expected in ((None, "Port visits"), ("SIMULATED AIS: x", "SIMULATED DATA: Port")):
        result.simulated_note = note
        fig = draw_timeline(result)
        try:
            texts = [t.get_text() for t in fig.findobj(plt.Text) if t.get_text()]
            assert fig.axes[0].get_title().startswith(expected)
            assert any(t.startswith(expected) for t in texts)
            assert (note is None) == (not any("SIMULATED" in t for t in texts))
        finally:
            plt.close(fig)


def test_job_alert_files_are_marked_and_stay_marked(tmp_path):
    lines = feed_lines(simulated=True)
    inbox, state, out = tmp_path / "inbox", tmp_path / "state", tmp_path / "out"
    inbox.mkdir()
    half = len(lines) // 2
    (inbox / "a.nmea").write_text("\n".join(lines[:half]) + "\n", encoding="ascii")
    args = ["job", "--inbox", str(inbox), "--state", str(state), "--out", str(out)]
    assert CliRunner().invoke(main, args).exit_code == 0
    # the first file is gone by the next run; the second has no mark of its own
    (inbox / "a.nmea").unlink()
    (inbox / "b.nmea").write_text("\n".join(lines[half:]) + "\n", encoding="ascii")
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 0, res.output
    book = _csv(out / "alerts.csv")
    assert list(book.columns[-3:]) == ["status", "version", "data"]
    assert len(book) and set(book["data"]) == {"simulated"}
    log = _csv(out / "alerts_log.csv")
    assert list(log.columns[-2:]) == ["logged_utc", "data"]
    assert len(log) and set(log["data"]) == {"simulated"}
    assert json.loads((out / "summary.json").read_text())["data"] == "simulated"


def test_job_on_real_data_logs_real(tmp_path):
    inbox, out = tmp_path / "inbox", tmp_path / "out"
    inbox.mkdir()
    (inbox / "a.nmea").write_text("\n".join(feed_lines()) + "\n", encoding="ascii")
    res = CliRunner().invoke(main, ["job", "--inbox", str(inbox), "--state",
                                    str(tmp_path / "state"), "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert set(_csv(out / "alerts.csv")["data"]) == {"real"}
    assert set(_csv(out / "alerts_log.csv")["data"]) == {"real"}


def test_watch_of_a_simulated_stream_is_marked(tmp_path):
    out = tmp_path / "out"
    feed = ("\n".join(feed_lines(simulated=True)) + "\n").encode("ascii")
    done = run_cli("watch", "-", "--out", out, input=feed)
    assert done.returncode == 0, done.stderr.decode()
    assert set(_csv(out / "alerts.csv")["data"]) == {"simulated"}
    assert set(_csv(out / "alerts_log.csv")["data"]) == {"simulated"}
    assert json.loads((out / "summary.json").read_text())["data"] == "simulated"


def test_decode_summary_marks_a_simulated_input(tmp_path):
    feed = tmp_path / "sim.nmea"
    feed.write_text("\n".join(feed_lines(simulated=True)) + "\n", encoding="ascii")
    res = CliRunner().invoke(main, ["decode", str(feed), "--out", str(tmp_path / "out"),
                                    "--quiet"])
    assert res.exit_code == 0, res.output
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["inputs"][0]["simulated"].startswith("SIMULATED AIS")
