"""map.html of real runs: the demo with --map-vessels (ids of the run's CSV files on the
map, the page drawn in a browser), and the option on detect and job."""

from __future__ import annotations

import pandas as pd
import pytest
from click.testing import CliRunner

from map_browser import dump_dom, needs_chromium, screenshot
from map_page_parse import features, page_data
from shadowfleet.cli import main
from tests.test_claims_run_settings import feed_lines


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    out = tmp_path_factory.mktemp("map-demo") / "out"
    res = CliRunner().invoke(main, ["demo", "--out", str(out), "--map-vessels", "5"])
    assert res.exit_code == 0, res.output
    return out


def _csv(path):
    return pd.read_csv(path, keep_default_na=False)


def test_demo_map_shows_the_claims_vessels_first(demo):
    data = page_data((demo / "map.html").read_text(encoding="utf-8"))
    vessels = data["vessels"]
    assert len(vessels) == 5 and data["meta"]["vessels"]["asked"] == 5
    assert data["meta"]["vessels"]["total"] == pd.read_parquet(demo / "positions.parquet")["mmsi"].nunique()
    # the two shuttles stand in for the ships the claims name: they come first
    assert all(v["group"] == "named in a claim" for v in vessels[:2])
    assert all(r.startswith("named in claim") for v in vessels[:2] for r in v["reasons"][:1])
    assert data["meta"]["title"] == "SIMULATED DATA: shadowfleet map"


@pytest.mark.parametrize("csv,layer_id,id_column", [
    ("port_visits.csv", "port_visits", "visit_id"), ("dark_periods.csv", "dark_periods", "gap_id"),
    ("round_trips.csv", "round_trips", "trip_id"), ("alerts.csv", "alerts", "alert_id")])
def test_demo_map_features_are_the_csv_events_of_the_vessels_shown(demo, csv, layer_id, id_column):
    data = page_data((demo / "map.html").read_text(encoding="utf-8"))
    shown = {v["mmsi"] for v in data["vessels"]}
    table = _csv(demo / csv)
    expected = table.loc[table["mmsi"].isin(shown), id_column]
    got = [f["properties"][id_column] for f in features(data, layer_id)]
    assert len(got) == len(set(got)) and len(got)
    assert sorted(got) == sorted(expected)
    assert set(got) <= set(table[id_column])


@pytest.mark.parametrize("csv,layer_id,id_column,vessel_columns", [
    ("loitering.csv", "loitering", "loiter_id", ("mmsi",)),
    ("encounters.csv", "encounters", "encounter_id", ("mmsi_1", "mmsi_2")),
    ("stops.csv", "stops", "stop_id", ())])
def test_demo_map_shows_the_behaviour_events_with_their_ids(demo, csv, layer_id, id_column,
                                                            vessel_columns):
    """Encounters and loitering of the vessels shown (an encounter when either of its
    vessels is), every unlisted stop (a place, whoever used it); each popup leads with the
    event's id as the CSV file spells it."""
    data = page_data((demo / "map.html").read_text(encoding="utf-8"))
    shown = {v["mmsi"] for v in data["vessels"]}
    layer = next(x for x in data["layers"] if x["id"] == layer_id)
    assert layer["idField"] == id_column and layer["fields"][0] == id_column
    table = _csv(demo / csv)
    mask = pd.Series(not vessel_columns, index=table.index)
    for col in vessel_columns:
        mask |= table[col].isin(shown)
    got = [f["properties"][id_column] for f in features(data, layer_id)]
    assert len(got) and sorted(got) == sorted(table.loc[mask, id_column])
    assert layer["total"] == len(table)


@needs_chromium
def test_demo_map_in_a_browser(demo, tmp_path):
    page = demo / "map.html"
    data = page_data(page.read_text(encoding="utf-8"))
    dom = dump_dom(page, tmp_path / "profile")
    assert 'data-map-ready="%d"' % sum(x["shown"] for x in data["layers"]) in dom
    assert "data-map-error" not in dom.split("<body", 1)[0]
    assert dom.count("leaflet-interactive") >= sum(x["shown"] for x in data["layers"] if x["show"])
    assert "SIMULATED DATA: every vessel on this map is fictional" in dom
    from PIL import Image

    png = screenshot(page, tmp_path / "profile", tmp_path / "map.png")
    colours = Image.open(png).convert("RGB").getcolors(maxcolors=1 << 20)
    assert colours is not None and len(colours) > 50          # a drawn map, not a blank page


def test_detect_and_job_take_map_vessels(tmp_path):
    feed = tmp_path / "inbox" / "feed.nmea"
    feed.parent.mkdir()
    feed.write_text("\n".join(feed_lines()) + "\n", encoding="ascii")
    res = CliRunner().invoke(main, ["detect", str(feed), "--out", str(tmp_path / "d"),
                                    "--map-vessels", "1", "--quiet"])
    assert res.exit_code == 0, res.output
    data = page_data((tmp_path / "d" / "map.html").read_text(encoding="utf-8"))
    assert len(data["vessels"]) == 1 and data["meta"]["vessels"]["total"] == 2
    res = CliRunner().invoke(main, ["job", "--inbox", str(feed.parent), "--state",
                                    str(tmp_path / "state"), "--out", str(tmp_path / "j"),
                                    "--figures", "--map-vessels", "0"])
    assert res.exit_code == 0, res.output
    data = page_data((tmp_path / "j" / "map.html").read_text(encoding="utf-8"))
    assert data["vessels"] == [] and data["meta"]["vessels"]["asked"] == 0
    res = CliRunner().invoke(main, ["detect", str(feed), "--map-vessels", "-1"])
    assert res.exit_code == 2
