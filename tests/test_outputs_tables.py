import pandas as pd

from shadowfleet.outputs.tables import format_utc, neutralise, write_csv


def test_neutralise_formula_starters():
    for bad in ["=HYPERLINK(\"x\")", "+1", "-2+3", "@SUM(A1)", "\tx", "\rx"]:
        assert neutralise(bad) == "'" + bad
    assert neutralise("NAJIN") == "NAJIN"
    assert neutralise(5) == 5


def test_write_csv_formats_times_and_keeps_numbers(tmp_path):
    df = pd.DataFrame({"name": ["=cmd|' /C calc'!A0", "OK"],
                       "t": pd.to_datetime(["2023-09-07 12:00", None], utc=True),
                       "x": [-1.5, 2.0]})
    path = write_csv(df, tmp_path / "a.csv", columns=("name", "t", "x"))
    text = path.read_text()
    assert "'=cmd" in text
    assert "2023-09-07T12:00:00Z" in text
    assert "-1.5" in text and "'-1.5" not in text


def test_format_utc_empty_for_nat():
    s = format_utc(pd.Series(pd.to_datetime([None, "2023-01-01T00:00:00Z"], utc=True)))
    assert list(s) == ["", "2023-01-01T00:00:00Z"]


def test_whole_numbers_beside_a_missing_value_stay_whole(tmp_path):
    """An object column of IMOs with a vessel that has none (a Class B craft) is written
    as whole numbers, not as floats."""
    frame = pd.DataFrame({"imo": pd.Series([None, 9179842, 8517839], dtype=object),
                          "name": ["=X", "A", None]})
    path = write_csv(frame, tmp_path / "t.csv")
    assert path.read_text().splitlines() == ["imo,name", ",'=X", "9179842,A", "8517839,"]
