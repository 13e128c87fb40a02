"""The behaviour detectors in the product: ``analyse`` runs encounters, loitering, stays
and unlisted stops and the ranking after cleaning; the Result holds their tables, the
outputs hold their files (contract columns first, text neutralised), summary.json counts
them, their alerts have deterministic ids, documented scores and readable summaries,
and their thresholds are config keys of the same names."""

from __future__ import annotations

import json
import math

import pandas as pd
import pytest

import ais
from ais.errors import ConfigError
from detectors.behaviour_alerts import encounter_score, loitering_score, stop_score
from detectors.columns import (ENCOUNTER_COLUMNS, ENCOUNTER_TABLE, LOITER_COLUMNS, LOITER_TABLE,
                               STAY_TABLE, STOP_COLUMNS, STOP_TABLE, VESSEL_TABLE)
from ports import load_ports
from shadowfleet.config import Settings, known_keys, load_config
from shadowfleet.pipeline import analyse
from tests.reference_behaviour import T0, offset, stationary
from tests.reference_gaps import make_positions

SEA = (42.30, 131.50)        # open sea, ~20 nm from Zarubino, the nearest bundled port
PIER = (42.35, 131.70)       # a place no registry has
H = 3600
NAMES = {1: "ANGARA", 2: '=HYPERLINK("http://x")', 3: "PIER USER"}


def _statics(names) -> pd.DataFrame:
    rows = [{"mmsi": m, "timestamp": pd.Timestamp(T0, unit="s", tz="UTC"), "imo": float(i),
             "name": n, "callsign": "", "ship_type": 70.0, "length": 100.0, "beam": 15.0,
             "draught": 5.0, "destination": "", "eta": "", "msg_type": 5, "source": "test",
             "line": k + 1}
            for k, (m, n, i) in enumerate((m, n, 9179842 if m == 1 else 0)
                                          for m, n in names.items())]
    frame = pd.DataFrame(rows)
    frame["imo"] = frame["imo"].where(frame["imo"] > 0)
    return frame[list(ais.schema.STATIC_COLUMNS)]


def _decoded() -> ais.Decoded:
    """1 and 2 lie 200 m apart at sea for 5 h (an encounter, loitering of both); 3 stays
    three times 3 h at a pier no registry has, silent 7 h between (dark periods)."""
    near = offset(*SEA, north_m=200)
    rows = stationary(1, *SEA, T0, 5.0) + stationary(2, *near, T0, 5.0)
    for k in range(3):
        rows += stationary(3, *PIER, T0 + k * 10 * H, 3.0)
    return ais.Decoded(make_positions(rows), _statics(NAMES))


@pytest.fixture(scope="module")
def registry():
    return load_ports()


@pytest.fixture(scope="module")
def result(registry):
    return analyse(_decoded(), registry=registry)


def test_result_holds_the_behaviour_tables(result):
    assert tuple(result.encounters.columns) == ENCOUNTER_TABLE
    assert tuple(result.loitering.columns) == LOITER_TABLE
    assert tuple(result.stops.columns) == STOP_TABLE
    assert tuple(result.stays.columns) == STAY_TABLE
    assert tuple(result.vessels.columns) == VESSEL_TABLE
    e = result.encounters
    assert len(e) == 1 and (e["mmsi_1"].iat[0], e["mmsi_2"].iat[0]) == (1, 2)
    assert e["hours"].iat[0] == pytest.approx(5.0)
    assert sorted(result.loitering["mmsi"]) == [1, 2]
    assert len(result.stops) == 1 and result.stops["mmsis"].iat[0] == "3"
    assert result.stops["n_stays"].iat[0] == 3
    assert (result.stays["stop_id"] == result.stops["stop_id"].iat[0]).sum() == 3
    assert set(result.vessels["mmsi"]) == {1, 2, 3}
    assert result.vessels["rank"].tolist() == [1, 2, 3]
    ranked = result.vessels.set_index("mmsi")
    assert ranked.loc[1, "encounters"] == 1 and ranked.loc[3, "unlisted_stops"] == 1
    assert ranked.loc[3, "dark_periods"] == 2 and ranked.loc[1, "imo"] == 9179842


def test_alerts_of_each_behaviour_kind(result):
    a = result.alerts
    kinds = a.groupby("kind")["mmsi"].apply(sorted).to_dict()
    assert kinds["encounter"] == [1, 2]          # one per vessel of the encounter
    assert kinds["loitering"] == [1, 2]
    assert kinds["unlisted_stop"] == [3]
    # 1 and 2 fall silent after the meeting until the end of the data (open dark
    # periods), 3 is silent 7 h between its stays
    gaps = result.dark_periods.groupby("mmsi")["gap_id"].apply(list).to_dict()
    assert [len(gaps[m]) for m in (1, 2, 3)] == [1, 1, 2]
    enc = a[(a["kind"] == "encounter") & (a["mmsi"] == 1)].iloc[0]
    eid = result.encounters["encounter_id"].iat[0]
    assert enc["evidence"].split(";") == [eid, *gaps[1], *gaps[2]]
    assert enc["score"] == pytest.approx(encounter_score(5.0, True), abs=1e-4)
    assert enc["score"] == pytest.approx(0.3 + 0.4 * 5 / 11 + 0.3, abs=1e-4)
    s = enc["summary"]
    assert "ANGARA (MMSI 1) met" in s and "(MMSI 2)" in s and "5.0 h" in s
    assert "200 m apart" in s and " nm from Zarubino" in s and gaps[2][0] in s
    lo = a[(a["kind"] == "loitering") & (a["mmsi"] == 1)].iloc[0]
    assert lo["evidence"].split(";") == [result.loitering.set_index("mmsi").loc[1, "loiter_id"],
                                         eid, *gaps[1]]
    assert f"during its encounter {eid}" in lo["summary"]
    d = result.loitering.set_index("mmsi").loc[1, "port_distance_nm"]
    assert lo["score"] == pytest.approx(loitering_score(5.0, d, True), abs=1e-4)
    stop = a[a["kind"] == "unlisted_stop"].iloc[0]
    assert stop["evidence"].split(";") == [result.stops["stop_id"].iat[0], *gaps[3]]
    assert stop["score"] == pytest.approx(stop_score(3, 1, True), abs=1e-4)
    assert stop["score"] == pytest.approx(0.3 + 0.3 * 3 / 6 + 0.2, abs=1e-4)
    assert "PIER USER (MMSI 3) stayed 3 times (9.0 h in all)" in stop["summary"]
    assert "used 3 times by 1 vessel" in stop["summary"]
    assert stop["start_utc"] == pd.Timestamp(T0, unit="s", tz="UTC")
    assert all(0.0 <= x <= 1.0 for x in a["score"])
    assert all("\n" not in x for x in a["summary"])


def test_ids_and_scores_are_the_same_on_a_rerun_and_any_row_order(result, registry):
    decoded = _decoded()
    shuffled = ais.Decoded(decoded.positions.sample(frac=1.0, random_state=3), decoded.statics)
    again = analyse(shuffled, registry=registry)
    cols = ["alert_id", "kind", "mmsi", "score", "evidence", "summary"]
    pd.testing.assert_frame_equal(again.alerts[cols], result.alerts[cols])
    for attr, key in (("encounters", "encounter_id"), ("loitering", "loiter_id"),
                      ("stops", "stop_id"), ("stays", "stay_id")):
        assert getattr(again, attr)[key].tolist() == getattr(result, attr)[key].tolist()
    pd.testing.assert_frame_equal(again.vessels, result.vessels)


def test_files_have_the_contract_columns_first_and_neutralised_text(result, tmp_path):
    result.write(tmp_path, figures=False)
    for name, columns in (("encounters.csv", ENCOUNTER_COLUMNS), ("loitering.csv", LOITER_COLUMNS),
                          ("stops.csv", STOP_COLUMNS), ("vessels.csv", VESSEL_TABLE),
                          ("stays.csv", STAY_TABLE)):
        header = (tmp_path / name).read_text(encoding="utf-8").splitlines()[0].split(",")
        assert tuple(header[:len(columns)]) == columns, name
    enc = pd.read_csv(tmp_path / "encounters.csv", keep_default_na=False)
    assert enc["name_2"].iat[0] == "'" + NAMES[2]
    assert enc["start_utc"].iat[0].endswith("Z")
    vessels = pd.read_csv(tmp_path / "vessels.csv", keep_default_na=False)
    assert set(vessels.loc[vessels["mmsi"] == 2, "name"]) == {"'" + NAMES[2]}
    assert pd.api.types.is_numeric_dtype(vessels["outlier_score"])
    summary = json.loads((tmp_path / "summary.json").read_text())
    events = summary["events"]
    assert (events["encounters"], events["loitering"], events["unlisted_stops"],
            events["stays"]) == (1, 2, 1, 5)
    assert summary["alerts_by_kind"]["encounter"] == 2
    assert summary["alerts_by_kind"]["unlisted_stop"] == 1
    assert summary["thresholds"]["encounter_distance_m"] == 500
    assert summary["thresholds"]["stop_cluster_min_stays"] == 3


def test_thresholds_are_config_keys_of_the_same_names(registry, tmp_path):
    keys = set(known_keys())
    assert {"encounter_distance_m", "encounter_min_minutes", "encounter_max_speed_kn",
            "encounter_port_distance_nm", "encounter_step_minutes", "loiter_max_speed_kn",
            "loiter_min_hours", "loiter_port_distance_nm", "stop_min_hours",
            "stop_cluster_radius_m", "stop_cluster_min_stays", "stop_stay_radius_m",
            "ranking_trees", "ranking_random_state"} <= keys
    config = tmp_path / "c.toml"
    config.write_text("encounter_min_minutes = 360\nloiter_min_hours = 6\n"
                      "stop_cluster_min_stays = 4\ngap_hours = 12\n")
    settings = load_config(config)
    assert settings.stops.gap_hours == 12 == settings.gaps.gap_hours
    strict = analyse(_decoded(), registry=registry, params=settings)
    assert strict.encounters.empty and strict.loitering.empty and strict.stops.empty
    assert not set(strict.alerts["kind"]) & {"encounter", "loitering", "unlisted_stop"}
    # a shared key sets the stays too: a 7-hour silence no longer ends a stay
    loose = analyse(_decoded(), registry=registry,
                    params=Settings.defaults().replace(gap_hours=12))
    assert len(loose.stays[loose.stays["mmsi"] == 3]) == 1


@pytest.mark.parametrize("text,key", [
    pytest.param("stop_cluster_min_stays = 2.5\n", "stop_cluster_min_stays", id="not-whole"),
    pytest.param("encounter_distance_m = 0\n", "encounter_distance_m", id="zero-distance"),
    pytest.param("loiter_min_hours = -1\n", "loiter_min_hours", id="negative"),
    pytest.param('ranking_trees = "many"\n', "ranking_trees", id="not-a-number"),
])
def test_bad_behaviour_thresholds_are_one_line_config_errors(tmp_path, text, key):
    config = tmp_path / "c.toml"
    config.write_text("gap_hours = 6\n" + text)
    with pytest.raises(ConfigError) as info:
        load_config(config)
    message = str(info.value)
    assert f"{config}:2:" in message and key in message and "\n" not in message


def test_nothing_found_gives_empty_tables_and_files(registry, tmp_path):
    from tests.reference_behaviour import sailing

    decoded = ais.Decoded(make_positions(sailing(5, *SEA, T0, 6.0, 12.0, 90.0)), _statics({5: "X"}))
    res = analyse(decoded, registry=registry)
    assert res.encounters.empty and res.loitering.empty and res.stops.empty
    assert len(res.vessels) == 1 and math.isnan(res.vessels["outlier_score"].iat[0])
    res.write(tmp_path, figures=False)
    assert (tmp_path / "encounters.csv").read_text().strip() == ",".join(
        pd.read_csv(tmp_path / "encounters.csv").columns)
