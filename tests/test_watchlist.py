"""Watchlists: the OFAC SDN list parses every vessel row; matching by IMO, then MMSI,
then (weak, flagged) name; watchlist alerts with deterministic ids; other alerts tagged.

The real SDN vessel rows come from ``../shared/data/sanctions/sdn_vessels.csv`` (all 851)
when it is beside the clone, and from the excerpt in ``tests/data`` (15 of them) always."""

import numpy as np
import pandas as pd
import pytest

from shadowfleet.errors import WatchlistError
from detectors.columns import ALERT_COLUMNS
from shadowfleet.watchlist import (apply_watchlists, load_watchlist, load_watchlists,
                                   match_watchlists)
from tests._shared import sample, shared
from tests.claims_tables import (ANGARA, ANGARA_IMO, MARIA, OTHER, positions, statics, track)

EXCERPT = sample("sanctions", "sdn_vessels_excerpt.csv")


@pytest.fixture(scope="module", params=["excerpt", "whole list"])
def sdn(request):
    """The SDN vessel rows: the excerpt, and the whole list when it is beside the clone
    (matching gives the same results on both)."""
    if request.param == "excerpt":
        return load_watchlist(EXCERPT)
    return load_watchlist(shared("sanctions", "sdn_vessels.csv"))


def test_the_whole_sdn_list_parses_every_vessel_row():
    path = shared("sanctions", "sdn_vessels.csv")
    sdn = load_watchlist(path)
    raw = path.read_text(encoding="utf-8").splitlines()
    assert len(sdn.entries) == len(raw) == 851 and sdn.format == "sdn"
    assert all(e.list_name == "OFAC SDN" and e.name and e.ref.isdigit() for e in sdn.entries)
    assert len({e.ref for e in sdn.entries}) == 851
    # every "IMO nnnnnnn" of the file is found, on the right row
    assert sum(len(e.imos) for e in sdn.entries) >= sum(line.count("IMO ") for line in raw) - 1
    assert sum(1 for e in sdn.entries if e.mmsis) == sum(1 for line in raw if "MMSI " in line)


def test_sdn_rows_give_imos_mmsis_aliases_and_programs(sdn):
    by_name = {e.name: e for e in sdn.entries}
    for name, imo in (("ANGARA", 9179842), ("MARIA", 8517839), ("MAIA-1", 9358010),
                      ("LADY R", 9161003)):
        assert by_name[name].imos == (imo,) and by_name[name].program == "RUSSIA-EO14024"
    assert by_name["ARTAVIL"].mmsis == (572469210,) and by_name["ARTAVIL"].aliases == ("ALPHA",)
    assert by_name["ST. VITAMIN"].imos == () and by_name["ST. VITAMIN"].mmsis == (375311000,)
    # a bare registration number is an IMO only when its check digit holds
    assert by_name["FU YUAN YU 8683"].imos == (9894387,)
    assert by_name["BONU 5"].imos == ()
    assert by_name["MAR AZUL"].imos == () and by_name["MAR AZUL"].mmsis == ()
    assert "IRAN; NPWMD; IFSR" in {e.program for e in sdn.entries}


def test_plain_csv(tmp_path):
    path = tmp_path / "mylist.csv"
    path.write_text("list,imo,mmsi,name\nEU,9179842,,ANGARA\n,,273000002,\nUK,IMO 9161003,,LADY R\n",
                    encoding="utf-8")
    (wl,) = load_watchlists([path])
    assert wl.format == "plain" and wl.names == ("EU", "mylist", "UK")
    assert [(e.imos, e.mmsis, e.name, e.ref) for e in wl.entries] == [
        ((9179842,), (), "ANGARA", "line 2"), ((), (273000002,), "", "line 3"),
        ((9161003,), (), "LADY R", "line 4")]


@pytest.mark.parametrize("text,where,message", [
    pytest.param("list,imo,mmsi,name\nEU,9179843,,X\n", ":2: ",
                 "IMO 9179843 fails the IMO check digit", id="imo-typo"),
    pytest.param("list,imo,mmsi,name\nEU,,2730,\n", ":2: ", "MMSI '2730' is not 9 digits",
                 id="mmsi-digits"),
    pytest.param("list,imo,mmsi,name\nEU,,,\n", ":2: ", "a row with no IMO, MMSI or name",
                 id="empty-row"),
    pytest.param("a,b\n1,2\n", ":1: ", "neither the OFAC SDN CSV format", id="unknown-format"),
    pytest.param("", ": ", "the file is empty", id="empty-file"),
    pytest.param(EXCERPT.read_text(encoding="utf-8").splitlines()[0] + '\n1,"X","vessel"\n', ":2: ",
                 "3 columns where the SDN CSV has 12",
                 id="short-sdn-row"),
])
def test_bad_watchlists_are_one_line_errors(tmp_path, text, where, message):
    path = tmp_path / "bad.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(WatchlistError) as info:
        load_watchlist(path)
    assert str(info.value).startswith(f"{path}{where}{message}")
    assert "\n" not in str(info.value) and "; " in str(info.value)


def test_missing_file():
    with pytest.raises(WatchlistError, match="no such file"):
        load_watchlist("/nonexistent/list.csv")


def _data():
    st = statics((ANGARA, "2023-09-01T00:00Z", ANGARA_IMO, "ANGARA"),
                 (OTHER, "2023-09-01T00:00Z", 9124043, "ANGARA"),       # the other ANGARA
                 (MARIA, "2023-09-01T00:00Z", None, "MARIA@@@@"),        # no IMO broadcast
                 (375311000, "2023-09-01T00:00Z", 9999996, "SOMETHING"),  # listed MMSI, no listed IMO
                 (572469210, "2023-09-01T00:00Z", 9999996, "OTHER"))  # listed MMSI, other IMO
    pos = positions(track(ANGARA, "2023-09-01T00:00Z", "2023-09-02T00:00Z", lat=42.2, lon=130.3),
                    track(OTHER, "2023-09-01T00:00Z", "2023-09-01T05:00Z"),
                    track(MARIA, "2023-09-03T00:00Z", "2023-09-03T05:00Z"))
    return pos, st


def test_matching_prefers_imo_then_mmsi_and_flags_name_only(sdn):
    pos, st = _data()
    m = match_watchlists([sdn], positions=pos, statics=st)
    got = {(r.mmsi, r.entry_name): (r.matched_by, r.weak, r.score) for r in m.itertuples()}
    assert got[(ANGARA, "ANGARA")] == ("imo", False, 1.0)
    assert (OTHER, "ANGARA") not in got                    # a namesake with another IMO
    assert got[(MARIA, "MARIA")] == ("name", True, 0.3)     # no IMO broadcast: weak
    assert got[(MARIA, "MARIA E")] == ("name", True, 0.3)   # its former name is MARIA
    assert got[(375311000, "ST. VITAMIN")] == ("mmsi", False, 0.8)
    assert got[(572469210, "ARTAVIL")] == ("mmsi", True, 0.5)  # listed MMSI, other IMO
    assert "broadcasts IMO 9999996, the list gives 9187629" in set(m["note"])
    row = m[m["mmsi"] == ANGARA].iloc[0]
    assert row["imo"] == ANGARA_IMO and row["program"] == "RUSSIA-EO14024"
    assert row["first_utc"] == pd.Timestamp("2023-09-01T00:00Z")
    assert (row["lat"], row["lon"]) == (42.2, 130.3)


def test_watchlist_alerts_and_tagging_are_deterministic(sdn):
    pos, st = _data()
    other = pd.DataFrame([{"alert_id": "A-000000000001", "kind": "dark_period", "mmsi": ANGARA,
                           "name": "ANGARA", "imo": float(ANGARA_IMO),
                           "start_utc": pd.Timestamp("2023-09-05T00:00Z"),
                           "end_utc": pd.Timestamp("2023-09-06T00:00Z"), "lat": 42.0, "lon": 131.0,
                           "score": 0.7, "summary": "dark for 24 h", "evidence": "G-1",
                           "claim_ids": ""}], columns=list(ALERT_COLUMNS))
    out = apply_watchlists(other, [sdn], positions=pos, statics=st)
    assert tuple(out.columns[:len(ALERT_COLUMNS)]) == ALERT_COLUMNS
    wl = out[out["kind"] == "watchlist"]
    assert len(wl) == 5 and wl["alert_id"].str.match(r"^A-[0-9a-f]{12}$").all()
    angara = wl[wl["mmsi"] == ANGARA].iloc[0]
    assert "ANGARA (IMO 9179842) is on OFAC SDN (entry 37059 ANGARA, RUSSIA-EO14024)" \
        in angara["summary"]
    assert angara["evidence"] == "watchlist:OFAC SDN:37059" and angara["score"] == 1.0
    maria = wl[(wl["mmsi"] == MARIA) & wl["summary"].str.contains("46773")].iloc[0]
    assert maria["summary"].startswith("Possible match:") and "name only (weak)" in maria["summary"]
    tagged = out[out["alert_id"] == "A-000000000001"].iloc[0]
    assert tagged["summary"] == "dark for 24 h [watchlist: OFAC SDN (IMO)]"
    assert out["imo"].dtype == "Int64" and out.loc[out["mmsi"] == MARIA, "imo"].isna().all()
    # same input, same ids; applying twice adds nothing and does not re-tag
    again = apply_watchlists(other, [sdn], positions=pos, statics=st)
    assert list(again["alert_id"]) == list(out["alert_id"])
    twice = apply_watchlists(out, [sdn], positions=pos, statics=st)
    assert len(twice) == len(out)
    assert twice.loc[twice["alert_id"] == "A-000000000001", "summary"].iloc[0] == tagged["summary"]
    # ids do not depend on when the vessel was seen (scheduled runs see other spans)
    later = apply_watchlists(None, [sdn], positions=pos[pos["timestamp"] > "2023-09-01T12:00Z"],
                             statics=st)
    assert set(later["alert_id"]) <= set(wl["alert_id"])


def test_no_match_and_empty_inputs(sdn):
    out = apply_watchlists(None, [sdn], positions=None, statics=None)
    assert len(out) == 0 and tuple(out.columns) == ALERT_COLUMNS
    st = statics((OTHER, "2023-09-01T00:00Z", 9124043, "NOT LISTED"))
    assert len(match_watchlists([sdn], statics=st)) == 0


def test_plain_list_mmsi_match_and_list_name(tmp_path):
    path = tmp_path / "watch.csv"
    path.write_text("list,imo,mmsi,name\nResearch list,,273000002,\n", encoding="utf-8")
    pos, st = _data()
    out = apply_watchlists(None, load_watchlists(path), positions=pos, statics=st)
    (row,) = out.itertuples()
    assert row.mmsi == MARIA and "is on Research list" in row.summary and row.score == 0.8
    assert np.isclose(row.lat, 35.0)


def test_full_sdn_file_shape_individuals_skipped_eof_and_cp1252(tmp_path):
    vessel = EXCERPT.read_text(encoding="utf-8").splitlines()[0]
    person = ('36,"AEROCARIBBEAN AIRLINES","-0- ","CUBA",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,'
              '"Havana, Cuba."')
    accented = vessel.replace("MAR AZUL", "MAR AZ\u00daL")
    text = f"{person}\r\n{accented}\r\n\x1a"
    path = tmp_path / "sdn.csv"
    path.write_bytes(text.encode("cp1252"))
    wl = load_watchlist(path)
    assert (len(wl.entries), wl.skipped) == (1, 1)
    assert wl.entries[0].name == "MAR AZ\u00daL" and wl.entries[0].line == 2
