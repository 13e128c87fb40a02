"""The numba payload decoder equals pyais 3.3.1 and the slow reference, field for field.

Edge cases written down here:
- sentinels come out as pyais gives them (lat 91, lon 181, speed 102.3, course 360,
  heading 511; type 27: speed 63, course 511) - the table layer turns them into NaN;
- negative coordinates and 0 (never -0.0);
- a field cut short by the end of the bits keeps the bits present (pyais semantics);
- a message whose used fields do not all start inside its bits, an uncovered type,
  or type 24 with part number 2/3 is FALLBACK (the pyais path decides);
- text: trailing '@' removed then spaces stripped both sides; interior '@' kept;
- invalid armour characters decode as 0, like pyais.
"""

from __future__ import annotations

import math
import random

import numpy as np
import pyais
import pytest
from hypothesis import given, settings, strategies as st, HealthCheck

from ais.decoding import fast as _fast, payloads as fd
from tests import _fast_reference as ref

SIXBIT = "@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_ !\"#$%&'()*+,-./0123456789:;<=>?"
ARMOUR = bytes(range(48, 88)) + bytes(range(96, 120))


def _batch(items):
    """[(payload bytes, fill)] -> decode_payloads output."""
    lens = [len(p) for p, _ in items]
    starts = np.cumsum([0] + lens)[:-1]
    buf = np.frombuffer(b"".join(p for p, _ in items) or b"\0", dtype=np.uint8)
    return fd.decode_payloads(buf, starts, starts + np.array(lens, dtype=np.int64),
                              np.array([f for _, f in items], dtype=np.int64))


def _row(out, i):
    return {k: (v[i].item() if isinstance(v[i], np.generic) else v[i]) for k, v in out.items()}


def _same(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return (math.isnan(a) and math.isnan(b)) or repr(a) == repr(b)
    return a == b


def _assert_rows_equal(got: dict, want: dict, ctx=""):
    for k in want:
        assert _same(float(got[k]) if k in fd.NUMERIC_FIELDS else got[k], want[k]), \
            (k, got[k], want[k], ctx)


# --- kernel vs the slow reference -------------------------------------------------

HAND = [
    (b"13HOI:0P0000VOHLCnHQKwvL05Ip", 0),           # type 1
    (b"B>qc:003wk?8mP=18D3Q3wgTiT;T", 0),           # type 18, all sentinels
    (b"55?MbV02;H;s<HtKR20EHE:0@T4@Dn2222222216L961O5Gf0NSQEp6ClRp888888888880", 2),
    (b"H42O55i18tMET00000000000000", 2),             # type 24 part A, short
    (b"H42O55lti4hhhilD3nink000?050", 0),            # type 24 part B
    (b"KC5E2b@U19PFdLbL", 0),                        # type 27
    (b"", 0),                                         # empty
    (b"1", 0),                                        # too short
    (b"13HOI:0P0000VOHLCnHQKwvL05Ip", 5),            # odd fill: still 163 bits
    (b"13HOI:0P0000VOHLCnHQKwv", 0),                 # heading missing -> fallback
    (b"\x00\xff,*13HOI:0P0000VOHLCnHQ", 3),          # invalid armour characters
    (b"4", 0),
]


def test_kernel_matches_reference_hand_made():
    out = _batch(HAND)
    for i, (p, f) in enumerate(HAND):
        _assert_rows_equal(_row(out, i), ref.decode_one(p, f), p)


def test_kernel_matches_reference_seeded_random():
    rng = random.Random(20231016)
    items = []
    for _ in range(3000):
        n = rng.choice([0, 1, 5, 7, 20, 21, 22, 27, 28, 29, 40, 49, 50, 51, 52, 70, 71, 72, 80])
        first = rng.choice(b"12345BCHK<" + ARMOUR)
        body = bytes(rng.choice(ARMOUR if rng.random() < 0.95 else bytes(range(256)))
                     for _ in range(max(n - 1, 0)))
        items.append(((bytes([first]) + body)[:n], rng.randrange(6)))
    out = _batch(items)
    for i, (p, f) in enumerate(items):
        _assert_rows_equal(_row(out, i), ref.decode_one(p, f), (p, f))


def test_armor_and_ship_type_tables_are_pyais():
    from pyais.bit_vector import _PAYLOAD_ARMOR, _SIXBIT_CHAR
    assert fd.armor_table().tolist() == list(_PAYLOAD_ARMOR)
    assert [chr(c) for c in fd.sixbit_chars()] == list(_SIXBIT_CHAR)


# --- kernel vs pyais on messages made by pyais.encode_dict ------------------------

def _pyais_expect(msg) -> dict:
    """pyais's decoded values, in the kernel's field names."""
    d = msg.asdict()
    out = {"msg_type": float(d["msg_type"]), "mmsi": float(d["mmsi"])}
    for k in ("speed", "lon", "lat", "course", "heading", "imo", "to_bow", "to_stern",
              "to_port", "to_starboard", "month", "day", "hour", "minute", "draught",
              "partno", "ship_type"):
        if k in d:
            out[k] = float(d[k]) if d[k] is not None else math.nan
    for k in ("shipname", "callsign", "destination"):
        if k in d:
            out[k] = d[k]
    return out


def _encode(data: dict):
    """encode_dict -> (payload, fill of the last fragment, pyais decoded message)."""
    sentences = pyais.encode_dict(data, talker_id="AI", sentence_type="VDM")
    fields = [s.split(",") for s in sentences]
    payload = "".join(f[5] for f in fields).encode()
    fill = int(fields[-1][6].split("*")[0])
    return payload, fill, pyais.decode(*[s.encode() for s in sentences])


raw_lat = st.one_of(st.just(91 * 600000), st.just(-90 * 600000), st.just(0), st.just(-1),
                    st.integers(-(1 << 26), (1 << 26) - 1))
raw_lon = st.one_of(st.just(181 * 600000), st.just(-180 * 600000), st.just(0),
                    st.integers(-(1 << 27), (1 << 27) - 1))
text6 = lambda n: st.text(alphabet=SIXBIT, max_size=n)  # noqa: E731
mmsi = st.one_of(st.integers(0, (1 << 30) - 1), st.integers(980000000, 989999999),
                 st.just(273000000))


@st.composite
def message(draw):
    mt = draw(st.sampled_from([1, 2, 3, 18, 19, 27, 5, 24, 24]))
    d = {"type": mt, "mmsi": draw(mmsi)}
    if mt in (1, 2, 3, 18, 19):
        d.update(lat=draw(raw_lat) / 600000.0, lon=draw(raw_lon) / 600000.0,
                 speed=draw(st.integers(0, 1023)) / 10.0, course=draw(st.integers(0, 4095)) / 10.0,
                 heading=draw(st.integers(0, 511)))
    if mt == 27:
        d.update(lat=draw(st.integers(-(1 << 16), (1 << 16) - 1)) / 600.0,
                 lon=draw(st.integers(-(1 << 17), (1 << 17) - 1)) / 600.0,
                 speed=draw(st.integers(0, 63)), course=draw(st.integers(0, 511)))
    if mt in (5, 19):
        d.update(shipname=draw(text6(20)), ship_type=draw(st.integers(0, 255)),
                 to_bow=draw(st.integers(0, 511)), to_stern=draw(st.integers(0, 511)),
                 to_port=draw(st.integers(0, 63)), to_starboard=draw(st.integers(0, 63)))
    if mt == 5:
        d.update(imo=draw(st.integers(0, (1 << 30) - 1)), callsign=draw(text6(7)),
                 month=draw(st.integers(0, 15)), day=draw(st.integers(0, 31)),
                 hour=draw(st.integers(0, 31)), minute=draw(st.integers(0, 63)),
                 draught=draw(st.integers(0, 255)) / 10.0, destination=draw(text6(20)))
    if mt == 24:
        part = draw(st.integers(0, 1))
        d["partno"] = part
        if part == 0:
            d["shipname"] = draw(text6(20))
        else:
            d.update(ship_type=draw(st.integers(0, 255)), callsign=draw(text6(7)),
                     to_bow=draw(st.integers(0, 511)), to_stern=draw(st.integers(0, 511)),
                     to_port=draw(st.integers(0, 63)), to_starboard=draw(st.integers(0, 63)),
                     mothership_mmsi=draw(st.integers(0, (1 << 30) - 1)))
    return d


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(message(), min_size=1, max_size=12))
def test_kernel_equals_pyais_on_encoded_messages(batch):
    encoded = [_encode(d) for d in batch]
    out = _batch([(p, f) for p, f, _ in encoded])
    for i, (p, f, msg) in enumerate(encoded):
        got = _row(out, i)
        assert got["status"] == fd.DECODED, (p, f)
        _assert_rows_equal(got, _pyais_expect(msg), (batch[i], p))


@pytest.mark.parametrize("data", [
    {"type": 1, "mmsi": 273000001, "lat": 91.0, "lon": 181.0, "speed": 102.3, "course": 360.0,
     "heading": 511},
    {"type": 1, "mmsi": 1, "lat": -89.999999, "lon": -179.999999, "speed": 102.2, "course": 359.9},
    {"type": 18, "mmsi": 999999999, "lat": -0.0000016, "lon": -0.0000016},
    {"type": 27, "mmsi": 5, "lat": 91.0, "lon": 181.0, "speed": 63, "course": 511},
    {"type": 5, "mmsi": 7, "imo": 0, "shipname": "", "callsign": "", "destination": ""},
    {"type": 5, "mmsi": 8, "imo": 9179842, "shipname": " ANGARA @ ", "callsign": "UBRH7@",
     "destination": "@@DUNAY  ", "draught": 25.5},
    {"type": 24, "mmsi": 981234567, "partno": 1, "callsign": "ABC", "mothership_mmsi": 1},  # auxiliary craft
    {"type": 19, "mmsi": 9, "shipname": "A@B", "ship_type": 100},
], ids=["sentinels", "negative-extremes", "tiny-negative", "type27-sentinels", "empty-text",
        "text-trim", "aux-craft", "interior-at"])
def test_edge_values_equal_pyais(data):
    p, f, msg = _encode(data)
    got = _row(_batch([(p, f)]), 0)
    assert got["status"] == fd.DECODED
    _assert_rows_equal(got, _pyais_expect(msg), data)


def test_fallback_cases():
    p24 = _encode({"type": 24, "mmsi": 3, "partno": 1})[0]
    bits = ref.payload_bits(p24, 0)
    part2 = ref.armour(bits[:38] + "10" + bits[40:])
    items = [(_encode({"type": 4, "mmsi": 3})[0], 0),       # type 4: not covered
             (_encode({"type": 5, "mmsi": 3})[0][:50], 0),  # type 5 cut before destination
             part2,                                         # type 24 part number 2
             (b"", 0)]
    out = _batch(items)
    assert (out["status"] == fd.FALLBACK).all()
    for i, (p, f) in enumerate(items):
        _assert_rows_equal(_row(out, i), ref.decode_one(p, f), p)


def _count_only(items):
    lens = [len(p) for p, _ in items]
    starts = np.cumsum([0] + lens)[:-1].astype(np.int64)
    buf = np.frombuffer(b"".join(p for p, _ in items) or b"\0", dtype=np.uint8)
    return _fast.count_only(buf, starts, starts + np.array(lens, dtype=np.int64),
                            np.array([f for _, f in items], dtype=np.int64))


def test_count_only_type4_hand_made():
    """Type 4 counted without pyais only where pyais surely decodes it: full 168 bits,
    valid armour, fill 0..5; anything else stays with the pyais path."""
    full = b"4" + bytes(ARMOUR[(7 * i) % 64] for i in range(27))     # 28 chars, 168 bits
    items = [(full, 0),                 # counted
             (full + b"00", 5),         # longer, fill 5: counted
             (full, 1),                 # 167 bits: pyais decides
             (full[:27], 0),            # 162 bits
             (full[:-1] + b"x", 0),     # invalid armour character
             (full[:-1] + b"X", 0),     # 'X' (between the two armour ranges)
             (b"5" + full[1:], 0),      # type 5
             (b"", 0),                  # empty payload
             (full, 6)]                 # impossible fill
    got = _count_only(items).tolist()
    assert got == [True, True, False, False, False, False, False, False, False]
    for (p, f), g in zip(items[:-1], got):
        if g:
            assert ref.counted_only_by_pyais(p, f)


def test_count_only_type4_random_matches_pyais():
    rng = random.Random(4)
    items = []
    for _ in range(300):
        n = rng.randint(20, 34)
        chars = bytes(rng.choice(ARMOUR) for _ in range(n))
        first = b"4" if rng.random() < 0.8 else bytes([rng.choice(ARMOUR)])
        if rng.random() < 0.1:
            k = rng.randrange(n)
            chars = chars[:k] + bytes([rng.choice(b"XYZ\\^_xyz{|")]) + chars[k + 1:]
        items.append((first + chars[1:], rng.randint(0, 5)))
    got = _count_only(items)
    assert got.any() and not got.all()
    for (p, f), g in zip(items, got.tolist()):
        if g:   # counted here -> the reference path counts it and makes nothing else
            assert ref.counted_only_by_pyais(p, f)
        else:   # not counted here: not a full, clean type 4
            clean = all(c in ARMOUR for c in p)
            assert not (p[:1] == b"4" and clean and 6 * len(p) - f >= 168)
