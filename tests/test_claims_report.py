"""claims.md: per claim the statement, source, verdict sentence, evidence table with times
and caveats; text from the air escaped."""

from shadowfleet.outputs.claims_report import md, write_claims_report
from shadowfleet.outputs.tables import write_csv
from tests.claims_tables import (ANGARA, ANGARA_IMO, claim, evaluate, gaps, positions, possible,
                                 statics, track, trips)


def _evaluation():
    st = statics((ANGARA, "2023-09-01T00:00Z", ANGARA_IMO, "ANGARA|<b>"))
    t = trips(("T-1", ANGARA, "Najin", "Dunay", "2023-09-02T06:00Z", "2023-09-05T00:00Z",
               "observed", ("V-1", "V-2", "V-3")),
              ("T-2", ANGARA, "Najin", "Dunay", "2023-09-10T06:00Z", "2023-09-13T00:00Z",
               "inferred", ("V-3", "P-4", "V-5")))
    pc = possible(("P-4", ANGARA, "Dunay", "G-4", "2023-09-10T08:00Z", "2023-09-12T00:00Z",
                   "Dunay|Najin"))
    g = gaps(("G-4", ANGARA, "2023-09-10T08:00Z", "2023-09-12T00:00Z", 0, "Dunay"))
    claims = [claim(id="two-trips", imo=[ANGARA_IMO], at_least=2, url="https://example.org/a",
                    published="2023-10-16", statement="Two round trips"),
              claim(id="far-away", imo=[ANGARA_IMO], at_least=1, start="2023-11-01",
                    end="2023-11-02", statement="Claim contradicted by coverage"),
              claim(id="anyone", at_least=9, statement="Nine trips, no ship named")]
    pos = positions(track(ANGARA, "2023-10-31T00:00Z", "2023-11-04T00:00Z"))
    return evaluate(claims, round_trips=t, possible_calls=pc, dark_periods=g, statics=st,
                           positions=pos)


def test_report_sections(tmp_path):
    ev = _evaluation()
    assert ev.verdicts == {"two-trips": "consistent_with_dark_activity",
                           "far-away": "contradicted", "anyone": "not_observed"}
    path = write_claims_report(ev, tmp_path / "claims.md")
    text = path.read_text(encoding="utf-8")
    assert text.startswith("# Claims: what the AIS shows")
    assert "| [two-trips](#two-trips) | Test source | 2023-08-15 .. 2023-10-14 |" in text
    assert "## two-trips: consistent with dark activity" in text
    assert "> Two round trips" in text
    assert "Source: Test source, published 2023-10-16, <https://example.org/a>." in text
    assert "**Verdict: consistent with dark activity.** Consistent with dark activity:" in text
    assert "| T-1 | round trip | observed | ANGARA\\|&lt;b> (273000001) | 2023-09-02T06:00Z | " \
           "2023-09-05T00:00Z | Najin -> Dunay -> Najin | V-1, V-2, V-3 |" in text
    assert "- ANGARA\\|&lt;b> (IMO 9179842): MMSI 273000001 by IMO" in text
    assert "| T-2 | round trip | inferred |" in text and "(no other vessel received nearby)" in text
    assert "- Reception: no other vessel was received within 20 nm of G-4 while it lasted" in text
    assert "## far-away: contradicted" in text
    assert "received throughout the window with no dark period" in text
    assert "Evidence: no event of this kind in the window." in text
    assert "Vessels: none named; every vessel in the data counts." in text


def test_claims_csv_round_trip_through_the_writer(tmp_path):
    import pandas as pd

    ev = _evaluation()
    path = write_csv(ev.table, tmp_path / "claims.csv")
    back = pd.read_csv(path, keep_default_na=False)
    assert list(back.columns[:10]) == ["claim_id", "source", "window_start", "window_end", "ports",
                                       "expected", "observed", "inferred", "verdict", "evidence"]
    row = back.iloc[0]
    assert (row["claim_id"], row["observed"], row["inferred"], row["evidence"]) == \
        ("two-trips", 1, 1, "T-1;T-2;G-4")
    assert back.loc[0, "window_start_utc"] == "2023-08-15T00:00:00Z"
    assert back.loc[0, "window_end_utc"] == "2023-10-15T00:00:00Z"


def test_markdown_escaping():
    assert md("A|B <script> *x* [l](u) a<->b") == "A\\|B &lt;script> \\*x\\* \\[l\\](u) a<->b"
    assert md(None) == "" and md("two\nlines") == "two lines"


def test_empty_evaluation(tmp_path):
    text = write_claims_report(evaluate([]), tmp_path / "c.md").read_text()
    assert "No claims were evaluated." in text


def test_hostile_url_and_source_text_cannot_inject_markup(tmp_path):
    from shadowfleet.outputs.claims_report import url

    hostile = 'https://example.org/a><script>alert(1)</script>"`|[x](javascript:y)'
    c = claim(id="hostile", imo=[ANGARA_IMO], at_least=1, url=hostile,
              source="<img src=x onerror=alert(2)>", published="2023-10")
    text = write_claims_report(evaluate([c]), tmp_path / "c.md").read_text()
    assert "<script" not in text and "<img" not in text
    assert ("Source: &lt;img src=x onerror=alert(2)>, published 2023-10, "
            "<https://example.org/a%3E%3Cscript%3Ealert(1)%3C/script%3E%22%60%7C"
            "[x](javascript:y)>.") in text
    assert url("javascript:alert(1)") == "" and url("") == ""
    assert url("https://example.org/a b") == "<https://example.org/a%20b>"


def test_untestable_claims_are_on_record_with_their_reason(tmp_path):
    import datetime as dt

    import pandas as pd

    from shadowfleet.claims.model import Claim, Vessels, Window

    untestable = Claim(id="containers", kind="untestable", statement="Over 1,000 containers",
                       ports=(), window=Window(dt.date(2023, 9, 7), dt.date(2023, 10, 1)),
                       vessels=Vessels(), at_least=None, source="White House",
                       reason="AIS reports where ships are, not what they carry")
    ev = evaluate([untestable, claim(id="trips", at_least=1)])
    assert ev.verdicts == {"containers": "untestable", "trips": "not_observed"}
    r = ev.results[0]
    assert (r.observed, r.inferred, r.evidence_ids, r.caveats) == (None, None, (), ())
    path = write_csv(ev.table, tmp_path / "claims.csv")
    back = pd.read_csv(path, keep_default_na=False).set_index("claim_id")
    row = back.loc["containers"]
    assert (row["expected"], row["observed"], row["inferred"], row["verdict"], row["ports"]) == \
        ("", "", "", "untestable", "")
    assert row["summary"] == "Untestable with AIS: AIS reports where ships are, not what they carry"
    assert back.loc["trips", "observed"] == "0"
    text = write_claims_report(ev, tmp_path / "claims.md").read_text()
    assert "| [containers](#containers) | White House | 2023-09-07 .. 2023-10-01 |  |  |  |  | " \
           "**untestable** |" in text
    assert "## containers: untestable" in text
    assert "Claim: not testable with AIS, window 2023-09-07 .. 2023-10-01." in text
    assert "**Verdict: untestable.** Untestable with AIS: AIS reports where ships are" in text
