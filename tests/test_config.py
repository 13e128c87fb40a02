"""TOML thresholds: every key sets the same-named field everywhere; unknown keys fail."""

import dataclasses

import pytest

from ais.errors import ConfigError
from shadowfleet.config import Settings, known_keys, load_config


def test_defaults_match_design():
    s = Settings.defaults()
    flat = s.as_dict()
    assert flat["gap_hours"] == 6
    assert flat["min_dwell_minutes"] == 60
    assert flat["max_speed_kn"] == 50
    assert flat["reach_speed_kn"] == 15
    assert flat["reception_radius_nm"] == 20


def test_shared_key_sets_every_detector(tmp_path):
    p = tmp_path / "c.toml"
    p.write_text("gap_hours = 12\nmin_dwell_minutes = 90\npairs = [['Najin', 'Vostochny']]\n")
    s = load_config(p)
    for part in (s.visits, s.gaps):
        assert part.gap_hours == 12
    for part in (s.visits, s.gaps):
        if any(f.name == "min_dwell_minutes" for f in dataclasses.fields(part)):
            assert part.min_dwell_minutes == 90
    assert s.pairs == (("Najin", "Vostochny"),)


def test_unknown_key_names_key_and_line(tmp_path):
    p = tmp_path / "c.toml"
    p.write_text("gap_hours = 12\n\ngap_hourz = 3\n")
    with pytest.raises(ConfigError) as info:
        load_config(p)
    text = str(info.value)
    assert f"{p}:3:" in text and "gap_hourz" in text and "known keys" in text


def test_wrong_type_and_invalid_value(tmp_path):
    p = tmp_path / "c.toml"
    p.write_text('gap_hours = "six"\n')
    with pytest.raises(ConfigError, match="gap_hours"):
        load_config(p)
    p.write_text("gap_hours = -1\n")
    with pytest.raises(ConfigError):
        load_config(p)


def test_bad_toml_and_missing_file(tmp_path):
    p = tmp_path / "c.toml"
    p.write_text("gap_hours = = 3\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(p)
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "missing.toml")


def test_every_key_is_documented_in_known_keys():
    keys = known_keys()
    assert "pairs" in keys
    assert set(Settings.defaults().as_dict()) <= set(keys)


def test_identity_keys_set_the_track_split_and_identity_detectors(tmp_path):
    """The thresholds of the track split and the identity anomalies are config keys of
    the same names; max_speed_kn is the cleaning's and the split's at once."""
    p = tmp_path / "c.toml"
    p.write_text("max_speed_kn = 40\nsegment_speed_kn = 20\nshared_min_positions = 12\n"
                 "identity_min_reports = 3\nimo_min_overlap_hours = 2.5\n")
    s = load_config(p)
    assert s.cleaning.max_speed_kn == s.tracks.max_speed_kn == 40
    assert (s.tracks.segment_speed_kn, s.tracks.shared_min_positions) == (20, 12)
    assert (s.identity.identity_min_reports, s.identity.imo_min_overlap_hours) == (3, 2.5)
    flat = s.as_dict()
    for key in ("segment_speed_kn", "shared_min_positions", "shared_min_hours",
                "track_time_tolerance_minutes", "echo_distance_nm", "identity_min_reports",
                "imo_min_overlap_hours"):
        assert key in flat and key in known_keys()


@pytest.mark.parametrize("text, key", [
    ("segment_speed_kn = 60\n", "segment_speed_kn"),        # above max_speed_kn 50
    ("max_speed_kn = 20\n", "max_speed_kn"),                # below segment_speed_kn 25
    ("identity_min_reports = 0\n", "identity_min_reports"),
    ("shared_min_positions = 2.5\n", "shared_min_positions"),
    ("imo_min_overlap_hours = -1\n", "imo_min_overlap_hours"),
])
def test_identity_keys_are_validated(tmp_path, text, key):
    p = tmp_path / "c.toml"
    p.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_config(p)
    assert f"{p}:1:" in str(info.value) and key.split("_")[0] in str(info.value)
