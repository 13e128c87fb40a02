"""``IncrementalDecoder.state()`` / ``from_state``: all of the decoder's state as strict JSON
and numeric arrays, the same decoder back, and a one-line ``DecoderStateError`` for
anything this version did not write."""

from __future__ import annotations

import json

import numpy as np
import pytest

import ais
from ais.errors import DecoderStateError
from ais.framing.nmea import _xor
from ais.incremental.decoder import IncrementalDecoder
from tests._carry import carried

POS = "13u?etPv2;0n:dDPwUM1U1Cb069D"
FRAG1 = "55?MbV02;H;s<HtKR20EHE:0@T4@Dn2222222216L961O5Gf0NSQEp6ClRp8"
FRAG2 = "88888888880"


def _s(body: str) -> str:
    return f"!{body}*{_xor(body.encode()):02X}"


def _tag(text: str) -> str:
    return f"\\{text}*{_xor(text.encode()):02X}\\"


def _pghp(t: int) -> str:
    import datetime as dt
    d = dt.datetime.fromtimestamp(t, dt.timezone.utc)
    body = f"PGHP,1,{d.year},{d.month},{d.day},{d.hour},{d.minute},{d.second},0,219,,1,"
    return f"${body}*{_xor(body.encode()):02X}"


def _every_kind_of_state() -> bytes:
    """Feeds of two sources leaving, between calls: a partial line, a pending $PGHP
    time, a lone tag block, an open g: group, an open fragment and kept copies."""
    return "\n".join([
        _tag("s:rA,c:1694044800") + _s(f"AIVDM,1,1,,A,{POS},0"),
        _tag("g:1-2-77,s:rB,c:1694044801") + _s(f"AIVDM,2,1,5,B,{FRAG1},0"),  # group open
        _tag("s:rA,c:1694044802") + _s(f"AIVDM,2,1,3,A,{FRAG1},0"),           # fragment open
        _pghp(1694044803),                                                    # time pending
    ]).encode() + b"\n" + _tag("s:rC,c:1694044804").encode() + b"\n!AIVDM,1,1,,A,13u"


def _rest() -> bytes:
    return ("?etPv2;0n:dDPwUM1U1Cb069D,0*" + "\n").encode() + "\n".join([
        _tag("g:2-2-77") + _s(f"AIVDM,2,2,5,B,{FRAG2},2"),
        _tag("s:rA,c:1694044805") + _s(f"AIVDM,2,2,3,A,{FRAG2},2"),
        _tag("s:rB,c:1694044806") + _s(f"AIVDM,1,1,,A,{POS},0"),                # a copy
    ]).encode() + b"\n"


def _fed(decoder: str) -> IncrementalDecoder:
    dec = IncrementalDecoder(decoder=decoder)
    dec.feed("a.nmea", _every_kind_of_state())
    dec.feed("b.nmea", _s(f"AIVDM,1,1,,A,{POS},0").encode() + b"\n" + _pghp(1694044809).encode())
    return dec


def _same_state(a: IncrementalDecoder, b: IncrementalDecoder) -> None:
    (ma, aa), (mb, ab) = a.state(), b.state()
    assert ma == mb and set(aa) == set(ab)
    for k in aa:
        assert aa[k].dtype == ab[k].dtype and np.array_equal(aa[k], ab[k], equal_nan=True), k


@pytest.mark.parametrize("decoder", ["fast", "pyais"])
def test_every_kind_of_state_goes_and_comes_back(decoder):
    dec = _fed(decoder)
    meta, arrays = dec.state()
    json.dumps(meta, allow_nan=False)
    assert all(a.dtype != object and a.ndim == 1 for a in arrays.values())
    st = dec.framer.states[0]
    assert st.partial and st.pghp is not None and st.tag is not None and st.groups
    assert dec.assembler.open and dec.deduper.window
    back = carried(dec)
    _same_state(dec, back)
    assert back.framer.states[0].groups == st.groups and back.framer.states[0].tag == st.tag
    assert list(back.assembler.open) == list(dec.assembler.open)
    want = ais.Decoded.merge([dec.feed("a.nmea", _rest()), dec.finish()])
    got = ais.Decoded.merge([back.feed("a.nmea", _rest()), back.finish()])
    for k in ("positions", "statics", "rejects"):
        assert getattr(got, k).equals(getattr(want, k)), k
    assert got.stats == want.stats and want.stats["duplicates"] >= 1


def test_a_fresh_decoder_and_its_parameters():
    dec = IncrementalDecoder(decoder="pyais", dedup=ais.reading.read.DedupParams(retention_s=60))
    back = carried(dec)
    assert back.decoder == "pyais" and back.deduper.params.retention_s == 60
    _same_state(dec, back)


def _damaged(change):
    meta, arrays = _fed("fast").state()
    meta = json.loads(json.dumps(meta))
    arrays = dict(arrays)
    change(meta, arrays)
    return meta, arrays


@pytest.mark.parametrize("change, says", [
    pytest.param(lambda m, a: m.update(version=2), "version 2", id="version"),
    pytest.param(lambda m, a: m.pop("names"), "'names' missing", id="missing-key"),
    pytest.param(lambda m, a: m.update(decoder="turbo"), "unknown decoder", id="decoder"),
    pytest.param(lambda m, a: m["framing"].update(max_sentence_bytes=10), "framing",
                 id="invalid-parameters"),
    pytest.param(lambda m, a: m["dedup"].update(extra=1), "not those of DedupParams",
                 id="unknown-parameter"),
    pytest.param(lambda m, a: m.update(names=["a.nmea", "a.nmea"]), "distinct", id="names"),
    pytest.param(lambda m, a: m["sources"][0].update(index=9), "out of place", id="source-index"),
    pytest.param(lambda m, a: m["sources"][0].update(tag="x"), "tag block", id="tag"),
    pytest.param(lambda m, a: m.update(dedup_latest=float("inf")), "not float", id="infinite"),
    pytest.param(lambda m, a: a.pop("open_seq"), "'open_seq' missing", id="missing-array"),
    pytest.param(lambda m, a: a.update(open_next=a["open_next"].astype(np.float64)),
                 "int64 values", id="dtype"),
    pytest.param(lambda m, a: a.update(row_time=a["row_time"][:0]), "row_time", id="length"),
    pytest.param(lambda m, a: a.update(partial_off=a["partial_off"][::-1].copy()),
                 "do not fit", id="offsets"),
    pytest.param(lambda m, a: a.update(group_source=a["group_source"] + 5), "no source",
                 id="group-source"),
    pytest.param(lambda m, a: a.update(open_rows=a["open_rows"] * 0), "without fragments",
                 id="open-rows"),
    pytest.param(lambda m, a: a.update(row_station_buf=np.frombuffer(b"\xff" * len(
        a["row_station_buf"]), np.uint8)), "UTF-8", id="text"),
])
def test_what_this_version_did_not_write_is_one_line(change, says):
    meta, arrays = _damaged(change)
    with pytest.raises(DecoderStateError) as err:
        IncrementalDecoder.from_state(meta, arrays)
    assert "\n" not in str(err.value) and says in str(err.value), str(err.value)


def test_not_a_json_object():
    with pytest.raises(DecoderStateError, match="not a JSON object"):
        IncrementalDecoder.from_state(["x"], {})
