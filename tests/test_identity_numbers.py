"""IMO check digits, MMSI formats and the ITU MID table shipped as data."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from detectors.identity_numbers import (INVALID, NON_SHIP_KINDS, SHIP, classify_mmsi,
                                        imo_check_digit, imo_check_digit_ok, imo_problem,
                                        mid_table, name_key, ship_type_kind, ship_type_kinds)

SDN = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "sanctions" / "sdn_vessels.csv"


# -- IMO ----------------------------------------------------------------------------------

@pytest.mark.parametrize("imo", [9179842, 8517839, 9358010, 9161003, 9124043, 9242986])
def test_reference_imos_pass_the_check_digit(imo):
    # REFERENCE.md: ANGARA, MARIA, MAIA-1, LADY R, the other ANGARA, SASCO ANGARA
    assert imo_check_digit_ok(imo) and imo_problem(imo) == ""


@pytest.mark.parametrize("imo,why", [
    pytest.param(9179843, "fails the IMO check digit (expected 2, not 3)", id="last-digit"),
    pytest.param(9178942, "fails the IMO check digit", id="swapped-digits"),
    pytest.param(123, "does not have 7 digits", id="short"),
    pytest.param(12345678, "does not have 7 digits", id="long"),
    pytest.param(273000001, "does not have 7 digits", id="an-mmsi-in-the-imo-field"),
])
def test_invalid_imos(imo, why):
    assert not imo_check_digit_ok(imo)
    assert why in imo_problem(imo)


def test_check_digit_arithmetic_and_odd_inputs():
    assert imo_check_digit(917984) == 2          # 9*7+1*6+7*5+9*4+8*3+4*2 = 172
    assert not imo_check_digit_ok(0) and not imo_check_digit_ok(-9179842)
    assert not imo_check_digit_ok(True) and not imo_check_digit_ok(None)
    assert not imo_check_digit_ok("IMO 9179842")
    assert imo_check_digit_ok(9179842.0)         # the statics frame holds IMOs as float


@pytest.mark.skipif(not SDN.is_file(), reason="shared OFAC SDN sample not present")
def test_every_imo_of_the_ofac_list_passes_the_check_digit():
    text = SDN.read_text(encoding="utf-8")
    imos = [int(x) for x in re.findall(r"IMO (\d{7})\b", text)]
    assert len(imos) > 700                       # 851 vessel rows, most with an IMO
    bad = [i for i in imos if not imo_check_digit_ok(i)]
    assert bad == []


# -- MMSI ---------------------------------------------------------------------------------

@pytest.mark.parametrize("mmsi,kind,mid,iso2", [
    pytest.param(273123456, SHIP, 273, "RU", id="russian-ship"),
    pytest.param(445123456, SHIP, 445, "KP", id="dprk-ship"),
    pytest.param(416000000, SHIP, 416, "TW", id="taiwan-default"),
    pytest.param(338013000, SHIP, 338, "US", id="usa"),
    pytest.param(413555000, SHIP, 413, "CN", id="china"),
    pytest.param(636019825, SHIP, 636, "LR", id="liberia"),
    pytest.param(538005123, SHIP, 538, "MH", id="marshall-islands"),
    pytest.param(2734567, "coast", 273, "RU", id="base-station-00MID"),
    pytest.param(27312345, "group", 273, "RU", id="group-0MID"),
    pytest.param(111273123, "sar_aircraft", 273, "RU", id="sar-aircraft-111MID"),
    pytest.param(827312345, "handheld", 273, "RU", id="handheld-8MID"),
    pytest.param(982731234, "auxiliary", 273, "RU", id="auxiliary-98MID"),
    pytest.param(992731234, "aton", 273, "RU", id="aton-99MID"),
    pytest.param(970123456, "sart", -1, "", id="ais-sart-970"),
    pytest.param(972123456, "mob", -1, "", id="mob-972"),
    pytest.param(974123456, "epirb", -1, "", id="epirb-974"),
    pytest.param(979123456, "amrd", -1, "", id="amrd-979"),
])
def test_valid_mmsis_and_their_kinds(mmsi, kind, mid, iso2):
    info = classify_mmsi(mmsi)
    assert (info.kind, info.mid, info.iso2, info.problem) == (kind, mid, iso2, "")
    assert info.is_valid and info.is_ship == (kind == SHIP)
    assert kind == SHIP or kind in NON_SHIP_KINDS


@pytest.mark.parametrize("mmsi,why", [
    pytest.param(0, "not a 9-digit number", id="zero"),
    pytest.param(-273123456, "not a 9-digit number", id="negative"),
    pytest.param(1_000_000_000, "not a 9-digit number", id="ten-digits"),
    pytest.param(123456789, "starts with 1 but not 111", id="123456789"),
    pytest.param(199999999, "starts with 1 but not 111", id="first-digit-1"),
    pytest.param(950000000, "starts with 9 outside", id="first-digits-95"),
    pytest.param(200123456, "MID 200", id="unallocated-mid-200"),
    pytest.param(999999999, "MID 999", id="aton-with-unallocated-mid"),
    pytest.param(1234, "MMSI 000001234 (a coast station by its format) has MID 000",
                 id="short-number-as-coast-station"),
    pytest.param(111999123, "MID 999", id="sar-with-unallocated-mid"),
])
def test_invalid_mmsis(mmsi, why):
    info = classify_mmsi(mmsi)
    assert info.kind == INVALID and not info.is_valid
    assert why in info.problem


# -- the MID table ------------------------------------------------------------------------

@pytest.mark.parametrize("mid,iso2", [(273, "RU"), (445, "KP"), (416, "TW"), (338, "US"),
                                      (366, "US"), (412, "CN"), (413, "CN"), (414, "CN"),
                                      (636, "LR"), (637, "LR"), (538, "MH"), (351, "PA"),
                                      (357, "PA"), (370, "PA"), (374, "PA"), (477, "HK"),
                                      (740, "FK"), (638, "SS")])
def test_well_known_mids(mid, iso2):
    assert mid_table()[mid][0] == iso2


def test_mid_table_shape_and_provenance():
    table = mid_table()
    assert len(table) == 291
    assert all(201 <= mid <= 775 for mid in table)
    assert all(len(iso2) == 2 and iso2.isupper() and country for iso2, country in table.values())
    assert 200 not in table and 217 not in table


def test_mid_table_is_pyais_table_with_the_documented_corrections():
    pyais_constants = pytest.importorskip("pyais.constants")
    theirs = pyais_constants.COUNTRY_MAPPING
    ours = mid_table()
    assert set(ours) - set(theirs) == {638}
    differing = {m for m in theirs if theirs[m][0] != ours[m][0]}
    assert differing <= {740}


# -- names and ship types -----------------------------------------------------------------

@pytest.mark.parametrize("a,b", [("Maia-1@@@", "MAIA 1"), ("LADY R", "lady r@@@@@@"),
                                 (" ANGARA ", "ANGARA")])
def test_name_key_ignores_case_padding_and_punctuation(a, b):
    assert name_key(a) == name_key(b) != ""


@pytest.mark.parametrize("value", [None, float("nan"), "", "@@@@@@@@", "   "])
def test_name_key_of_nothing_is_empty(value):
    assert name_key(value) == ""


@pytest.mark.parametrize("a,b,same", [
    (70, 71, True), (70, 79, True), (80, 84, True), (60, 69, True),   # hazard digit
    (70, 80, False), (30, 31, False), (52, 55, False), (36, 37, False),
])
def test_ship_type_kinds(a, b, same):
    assert (ship_type_kind(a) == ship_type_kind(b)) == same
    assert list(ship_type_kinds([a, b])) == [ship_type_kind(a), ship_type_kind(b)]


@pytest.mark.parametrize("code", [0, None, float("nan"), -5, 100, 255])
def test_ship_type_not_available(code):
    assert ship_type_kind(code) == -1
