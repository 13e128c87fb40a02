"""Claims are evaluated with the run's own thresholds (``--config``) and port registry
(``--ports``) on every path: ``detect``, ``job``, ``watch`` and the Python API
(DESIGN.md, "Claims file": coverage uses the run's ``gap_hours``, ``near`` the run's
polygon of the port; caveats come from the data and the registry).

The feed: ANGARA (IMO 9179842) drifting at sea around 39.0 N 134.0 E, received every
30 minutes from 1 to 4 September 2023 except for 8 hours (2 September 08:00-16:00Z);
another vessel moored 48 nm to the north the whole time.
"""

from __future__ import annotations

import json

import pandas as pd
import pytest
from click.testing import CliRunner

from shadowfleet.cli import main
from tests._live_feeds import _position_sentence, _static_sentences, run_cli, tagged

T0 = pd.Timestamp("2023-09-01T00:00Z")
SILENCE = (pd.Timestamp("2023-09-02T08:00Z"), pd.Timestamp("2023-09-02T16:00Z"))
ANGARA, BETA_SHIP = 273000001, 273000005

COVERAGE_CLAIM = """\
source: Test source
claims:
  - id: covered-day
    statement: ANGARA made a round trip Najin - Dunay on 2 September 2023
    kind: round_trips
    ports: [Najin, Dunay]
    window: {start: 2023-09-02, end: 2023-09-02}
    vessels: {imo: [9179842]}
    at_least: 1
"""

NEAR_CLAIM = """\
source: Test source
claims:
  - id: dark-near-najin
    statement: ANGARA went dark near Najin in early September 2023
    kind: dark_periods
    near: Najin
    radius_nm: 20
    window: {start: 2023-09-01, end: 2023-09-03}
    vessels: {imo: [9179842]}
    at_least: 1
"""


def _box(name, lat, lon, half=0.05):
    ring = [[lon - half, lat - half], [lon + half, lat - half], [lon + half, lat + half],
            [lon - half, lat + half], [lon - half, lat - half]]
    return {"type": "Feature", "properties": {"name": name},
            "geometry": {"type": "Polygon", "coordinates": [ring]}}


def feed_lines(*, simulated: bool = False) -> list[str]:
    lines = []
    t, k = T0, 0
    while t <= pd.Timestamp("2023-09-04T00:00Z"):
        if not SILENCE[0] < t < SILENCE[1]:
            lat, lon = 39.0 + 0.0005 * (k % 7), 134.0 + 0.001 * (k % 11)
            lines.append((t.timestamp(), tagged(_position_sentence(ANGARA, lat, lon, 0.3, 90.0),
                                                t.timestamp())))
        lines.append((t.timestamp() + 5, tagged(_position_sentence(BETA_SHIP, 39.8, 134.0, 0.0,
                                                                   0.0), t.timestamp() + 5)))
        t += pd.Timedelta(minutes=30)
        k += 1
    first, second = _static_sentences(ANGARA, 9179842, "ANGARA", 1)
    when = (T0 + pd.Timedelta(minutes=10)).timestamp()
    lines += [(when, tagged(first, when)), (when + 1, tagged(second, when + 1))]
    text = [line for _, line in sorted(lines)]
    if simulated:
        from shadowfleet.simulator.feed import HEADER_NOTE

        text = ["# shadowfleet simulated feed: test", f"# {HEADER_NOTE}"] + text
    return text


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("run-settings")
    (d / "feed.nmea").write_text("\n".join(feed_lines()) + "\n", encoding="ascii")
    (d / "coverage.yaml").write_text(COVERAGE_CLAIM, encoding="utf-8")
    (d / "near.yaml").write_text(NEAR_CLAIM, encoding="utf-8")
    (d / "gap12.toml").write_text("gap_hours = 12\n", encoding="utf-8")
    # the user's registry draws Najin around the drifting ship, and a Beta Bay to the north
    ports = {"type": "FeatureCollection",
             "features": [_box("Najin", 39.0, 134.0), _box("Beta Bay", 39.8, 134.0)]}
    (d / "ports.geojson").write_text(json.dumps(ports), encoding="utf-8")
    return d


def _claims_csv(out):
    return pd.read_csv(out / "claims.csv", keep_default_na=False).set_index("claim_id")


def _detect(files, tmp_path, *args):
    out = tmp_path / "out"
    res = CliRunner().invoke(main, ["detect", str(files / "feed.nmea"), "--out", str(out),
                                    "--quiet", "--no-figures", *args])
    assert res.exit_code == 0, res.output
    return _claims_csv(out)


def test_detect_config_gap_hours_turns_not_observed_into_contradicted(files, tmp_path):
    claims = ["--claims", str(files / "coverage.yaml")]
    default = _detect(files, tmp_path / "a", *claims).loc["covered-day"]
    # with gap_hours 6 the 8 h silence is a dark period in the window: AIS does not
    # account for the whole day, so one round trip fewer than claimed leaves room
    assert (default["observed"], default["inferred"], default["verdict"]) == \
        (0, 0, "not_observed")
    assert "dark period G-" in default["coverage"]
    config = _detect(files, tmp_path / "b", *claims, "--config", str(files / "gap12.toml"))
    row = config.loc["covered-day"]
    # with gap_hours 12 there is no dark period and no silence over 12 h: received
    # throughout the window, no round trip: contradicted (DESIGN.md)
    assert (row["observed"], row["inferred"], row["verdict"]) == (0, 0, "contradicted")
    assert "received throughout the window with no dark period" in row["coverage"]
    assert "longest silence 8.0 h" in row["coverage"]
    assert row["data"] == "real"


def test_detect_ports_moves_a_near_claim_to_the_users_najin(files, tmp_path):
    claims = ["--claims", str(files / "near.yaml")]
    bundled = _detect(files, tmp_path / "a", *claims).loc["dark-near-najin"]
    # the bundled Najin is ~300 nm away: the dark period is not near it
    assert (bundled["observed"], bundled["verdict"]) == (0, "not_observed")
    mine = _detect(files, tmp_path / "b", *claims, "--ports", str(files / "ports.geojson"))
    row = mine.loc["dark-near-najin"]
    assert (row["observed"], row["verdict"]) == (1, "supported")
    assert row["evidence"].startswith("G-")
    # the caveat is measured in these data with this registry: where the silence began
    # and how far the nearest vessel received meanwhile was
    caveats = row["caveats"]
    assert "no other vessel was received within 20 nm of G-" in caveats
    assert "(it began in Najin and ended there)" in caveats
    assert "the nearest position received from another vessel meanwhile was 47." in caveats
    assert "nm away (that position in Beta Bay)" in caveats
    assert "Vladivostok" not in caveats and "88 nm" not in caveats


def test_python_api_uses_the_settings_and_registry_given(files):
    from ports import load_ports
    from shadowfleet.config import load_config
    from shadowfleet.pipeline import detect

    feed = files / "feed.nmea"
    result = detect([feed], claims=[files / "coverage.yaml"],
                    config=load_config(files / "gap12.toml"))
    assert result.claims.set_index("claim_id").loc["covered-day", "verdict"] == "contradicted"
    result = detect([feed], claims=[files / "near.yaml"],
                    ports=load_ports(files / "ports.geojson"))
    assert result.claims_evaluation.verdicts == {"dark-near-najin": "supported"}
    assert result.summary["data"] == "real" and "simulated" not in result.summary
    # the notebook entry point, with paths, and a note marking the outputs simulated
    import shadowfleet

    result = shadowfleet.detect(feed, claims=files / "near.yaml",
                                ports=files / "ports.geojson", config=files / "gap12.toml",
                                simulated="SIMULATED AIS: a test")
    row = result.claims.iloc[0]
    # gap_hours 12: the 8 h silence is no dark period, so none near the user's Najin
    assert (row["observed"], row["verdict"], row["data"]) == (0, "contradicted", "simulated")
    assert result.summary["simulated"] == "SIMULATED AIS: a test"


def test_job_evaluates_claims_with_its_config_and_ports(files, tmp_path):
    inbox, state, out = tmp_path / "inbox", tmp_path / "state", tmp_path / "out"
    inbox.mkdir()
    (inbox / "feed.nmea").write_bytes((files / "feed.nmea").read_bytes())
    res = CliRunner().invoke(main, ["job", "--inbox", str(inbox), "--state", str(state),
                                    "--out", str(out), "--claims", str(files / "coverage.yaml"),
                                    "--config", str(files / "gap12.toml")])
    assert res.exit_code == 0, res.output
    assert _claims_csv(out).loc["covered-day", "verdict"] == "contradicted"
    out2, state2 = tmp_path / "out2", tmp_path / "state2"
    res = CliRunner().invoke(main, ["job", "--inbox", str(inbox), "--state", str(state2),
                                    "--out", str(out2), "--claims", str(files / "near.yaml"),
                                    "--ports", str(files / "ports.geojson")])
    assert res.exit_code == 0, res.output
    assert _claims_csv(out2).loc["dark-near-najin", "verdict"] == "supported"


def test_watch_evaluates_claims_with_its_config(files, tmp_path):
    out = tmp_path / "out"
    done = run_cli("watch", "-", "--out", out, "--claims", files / "coverage.yaml",
                   "--config", files / "gap12.toml", input=(files / "feed.nmea").read_bytes())
    assert done.returncode == 0, done.stderr.decode()
    row = _claims_csv(out).loc["covered-day"]
    assert (row["verdict"], row["data"]) == ("contradicted", "real")
