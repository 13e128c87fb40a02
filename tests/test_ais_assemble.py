"""Fragment assembly (interleaving, orphans, time-outs), multi-receiver dedup (kernel vs
the slow reference), and IncrementalDecoder state: chunked feeding and pickling give the
same result as one pass."""

from __future__ import annotations


import numpy as np
import pyais
import pytest

from ais import reasons
from ais.assembly.dedup import DedupParams, dedup_kernel
from ais.assembly.fragments import AssemblyParams
from ais.tables.decoded import Decoded
from ais.errors import ConfigError
from ais.incremental.decoder import IncrementalDecoder
from tests._carry import carried
from tests.ais_reference import dedup_reference
from tests.test_ais_framing import POS, POS2, T0, sentence, tag


def type5(mmsi, name, seq=b"1", channel=b"A"):
    s = pyais.encode_dict({"type": 5, "mmsi": mmsi, "shipname": name, "imo": 9000000 + mmsi % 1000,
                           "callsign": "UBRH7", "to_bow": 50, "to_stern": 20, "to_port": 5,
                           "to_starboard": 6, "draught": 6.5, "destination": "NAJIN",
                           "month": 9, "day": 7, "hour": 12, "minute": 30}, talker_id="AI")
    assert len(s) == 2
    out = []
    for k, frag in enumerate(s, 1):
        f = frag.encode().split(b",")
        payload, fill = f[5], int(f[6][:1])
        out.append(sentence(payload, fill=fill, count=2, number=k, seq=seq, channel=channel))
    return out


def run(lines, decoder="pyais", **kw):
    dec = IncrementalDecoder(decoder=decoder, **kw)
    return Decoded.merge([dec.feed("f.nmea", b"\n".join(lines) + b"\n"), dec.finish()])


def test_fragments_interleaved_across_stations_assemble():
    a1, a2 = type5(273000001, "ANGARA")
    b1, b2 = type5(273000002, "MARIA")      # same seq id and channel, other station
    lines = [tag(b"s:S1,c:1696161600") + a1, tag(b"s:S2,c:1696161600") + b1, POS,
             tag(b"s:S2,c:1696161601") + b2, tag(b"s:S1,c:1696161601") + a2]
    d = run(lines)
    assert d.stats["rejected"] == 0
    got = dict(zip(d.statics["mmsi"], d.statics["name"]))
    assert got == {273000001: "ANGARA", 273000002: "MARIA"}
    row = d.statics.set_index("mmsi").loc[273000001]
    assert row["source"] == "S1" and row["line"] == 1
    assert row["length"] == 70 and row["beam"] == 11 and row["draught"] == 6.5
    assert row["destination"] == "NAJIN" and row["eta"] == "09-07 12:30"


def test_same_station_same_key_interleaving_is_an_orphan_not_a_crash():
    a1, a2 = type5(273000001, "ANGARA")
    b1, b2 = type5(273000002, "MARIA")
    d = run([a1, b1, a2, b2])
    # b1 opens a message under the same key, so a1 is an orphan; a2 then completes b1's
    # message (its payload is a mix of two broadcasts, which only the station, channel and
    # sequence id could have told apart); b2 is a fragment 2 with nothing open
    assert d.stats["rejected_by_reason"] == {reasons.ORPHAN_FRAGMENT: 2}
    assert sorted(d.rejects["line"]) == [1, 4]


@pytest.mark.parametrize("lines, orphan_lines", [
    pytest.param(lambda a1, a2: [a2], [1], id="second-without-first"),
    pytest.param(lambda a1, a2: [a1], [1], id="first-never-completed"),
    pytest.param(lambda a1, a2: [a1, a1, a2], [1], id="first-repeated"),
    pytest.param(lambda a1, a2: [a1, POS, a2.replace(b",A,", b",B,")], [1, 3], id="other-channel"),
])
def test_orphans(lines, orphan_lines):
    a1, a2 = type5(273000001, "ANGARA")
    d = run([_recs(x) for x in lines(a1, a2)])
    assert list(d.rejects["reason"].unique()) == [reasons.ORPHAN_FRAGMENT]
    assert sorted(d.rejects["line"]) == orphan_lines


def _recs(line: bytes) -> bytes:
    """Re-checksum a sentence edited by a test."""
    body = line[1:line.index(b"*")]
    from functools import reduce
    return b"!" + body + b"*" + b"%02X" % reduce(lambda a, b: a ^ b, body, 0)


def test_timeout_in_receive_time_and_in_sentences():
    a1, a2 = type5(273000001, "ANGARA")
    late = run([tag(b"c:1696161600") + a1, tag(b"c:1696161700") + a2])
    assert len(late.statics) == 0 and len(late.rejects) == 2
    ok = run([tag(b"c:1696161600") + a1, tag(b"c:1696161630") + a2])
    assert len(ok.statics) == 1
    far = run([a1] + [POS] * 5 + [a2], assembly=AssemblyParams(max_gap_sentences=3))
    assert len(far.statics) == 0 and sorted(far.rejects["line"]) == [1, 7]


@pytest.mark.parametrize("decoder", ["pyais", "fast"])
def test_a_line_with_a_time_far_ahead_expires_no_other_message(decoder):
    """The timeout compares a message's own fragments: a junk line (or another
    receiver's) with a garbled time days ahead, between two fragments, costs nothing."""
    a1, a2 = type5(273000001, "ANGARA")
    lines = [tag(b"s:S1,c:1696161600") + a1, tag(b"s:JUNK,c:1697000000") + POS,
             tag(b"s:S1,c:1696161605") + a2]
    d = run(lines, decoder=decoder)
    assert d.statics["mmsi"].tolist() == [273000001] and len(d.rejects) == 0
    late = run([tag(b"s:S1,c:1696161600") + a1, tag(b"s:JUNK,c:1697000000") + POS,
                tag(b"s:S1,c:1696161700") + a2], decoder=decoder)
    assert len(late.statics) == 0 and sorted(late.rejects["line"]) == [1, 3]


def test_bounded_buffer_evicts_oldest():
    msgs = [type5(273000000 + i, f"V{i}", seq=str(i).encode()) for i in range(5)]
    lines = [m[0] for m in msgs] + [m[1] for m in msgs]
    d = run(lines, assembly=AssemblyParams(max_pending=3))
    assert sorted(d.statics["mmsi"]) == [273000002, 273000003, 273000004]
    assert d.stats["rejected"] == 4   # fragments 1 and 2 of the two evicted messages


def test_duplicates_across_receivers_first_kept_earlier_time_too():
    lines = [tag(b"s:R1,c:1696161600") + POS, tag(b"s:R2,c:1696161601") + POS,
             tag(b"s:R3,c:1696161599") + POS,        # earlier receive time than the kept copy
             tag(b"s:R2,c:1696161611") + POS,        # 11 s after the kept copy: new
             POS]                                    # no receive time: never a duplicate
    d = run(lines)
    assert d.stats["duplicates"] == 2
    assert d.stats["messages"] == 5
    assert sorted(d.positions["source"].tolist()) == ["R1", "R2", "f.nmea"]


def test_dedup_boundary_is_inclusive():
    d = run([tag(b"c:1696161600") + POS, tag(b"c:1696161610") + POS])
    assert d.stats["duplicates"] == 1


def _random_dedup_case(rng, n):
    payloads = [bytes([65 + int(rng.integers(0, 6))]) for _ in range(n)]
    times = np.cumsum(rng.exponential(3.0, n)) + rng.normal(0, 2.0, n)
    times[rng.random(n) < 0.1] = np.nan
    return payloads, times


@pytest.mark.parametrize("seed", range(6))
def test_dedup_kernel_matches_reference(seed):
    rng = np.random.default_rng(seed)
    payloads, times = _random_dedup_case(rng, 300)
    codes = np.array([p[0] - 65 for p in payloads], dtype=np.int64)
    kept = np.full(6, np.nan)
    dup = np.zeros(len(codes), dtype=np.bool_)
    dedup_kernel(codes, times, kept, 10.0, dup)
    assert dup.tolist() == dedup_reference(payloads, times.tolist(), 10.0)


def test_dedup_kernel_hand_made():
    codes = np.array([0, 0, 1, 0, 0], dtype=np.int64)
    t = np.array([0.0, 10.0, 5.0, 10.5, np.nan])
    kept = np.full(2, np.nan)
    dup = np.zeros(5, dtype=np.bool_)
    dedup_kernel(codes, t, kept, 10.0, dup)
    # 10 s after the kept copy is a duplicate; 10.5 s is a new kept copy (not measured
    # from the duplicate at 10 s)
    assert dup.tolist() == [False, True, False, False, False]
    assert kept.tolist() == [10.5, 5.0]


def test_params_validate():
    with pytest.raises(ConfigError):
        AssemblyParams(timeout_s=0)
    with pytest.raises(ConfigError):
        DedupParams(window_s=10, retention_s=5)
    with pytest.raises(TypeError):
        DedupParams(10.0)


def _feed_lines(rng):
    lines = []
    for i in range(60):
        t = b"c:%d" % (T0 + i)
        r = rng.random()
        if r < 0.3:
            f1, f2 = type5(273000000 + i, f"SHIP{i}", seq=str(i % 10).encode())
            lines += [tag(b"s:S%d," % (i % 3) + t) + f1, tag(b"s:S%d," % (i % 3) + t) + f2]
        elif r < 0.4:
            lines.append(b"garbage line %d" % i)
        else:
            lines.append(tag(b"s:S%d," % (i % 2) + t) + (POS if i % 2 else POS2))
    return b"\n".join(lines) + b"\n"


def _frames(d: Decoded):
    return d.positions, d.statics, d.rejects


@pytest.mark.parametrize("decoder", ["pyais", "fast"])
@pytest.mark.parametrize("seed", [1, 2])
def test_chunked_and_carried_feeding_equals_one_pass(seed, decoder):
    data = _feed_lines(np.random.default_rng(seed))
    whole = run([data.rstrip(b"\n")])     # the reference, in one pass
    rng = np.random.default_rng(seed + 100)
    cuts = sorted(rng.choice(np.arange(1, len(data)), size=12, replace=False).tolist())
    dec = IncrementalDecoder(decoder=decoder)
    parts, start = [], 0
    for c in cuts + [len(data)]:
        parts.append(dec.feed("f.nmea", data[start:c]))
        dec = carried(dec)      # a scheduled job carries the state between runs
        start = c
    parts.append(dec.finish())
    chunked = Decoded.merge(parts)
    for a, b in zip(_frames(whole), _frames(chunked)):
        assert a.equals(b)
    for k in ("lines_read", "messages", "duplicates", "rejected", "sentences"):
        assert whole.stats[k] == chunked.stats[k], k


def test_fast_and_pyais_decoders_agree_on_a_mixed_feed():
    data = _feed_lines(np.random.default_rng(7))
    a = run([data.rstrip(b"\n")], decoder="pyais")
    b = run([data.rstrip(b"\n")], decoder="fast")
    for x, y in zip(_frames(a), _frames(b)):
        assert x.equals(y)


def test_files_of_two_receivers_are_deduplicated_against_each_other(tmp_path):
    import ais
    payloads = [b"13HOI:0P0000VOHLCnHQKwvL%02d" % i for i in range(100)]
    for station, skew in ((b"A", 0), (b"B", 2)):
        lines = [tag(b"s:%s,c:%d" % (station, T0 + 60 * i + skew)) + sentence(p)
                 for i, p in enumerate(payloads)]
        (tmp_path / f"{station.decode()}.nmea").write_bytes(b"\n".join(lines) + b"\n")
    d = ais.read_inputs([tmp_path / "A.nmea", tmp_path / "B.nmea"], decoder="pyais")
    assert d.stats["duplicates"] == 100        # B's first lines are 99 min after A's last
    assert set(d.positions["source"]) == {"A"}


def test_dedup_window_is_bounded_by_count():
    from ais.assembly.dedup import Deduplicator
    from ais.tables.columns import MessageTable
    dd = Deduplicator(DedupParams(retention_s=1e9, max_window_messages=5))
    n = 20
    m = MessageTable(source=np.zeros(n), line=np.arange(n), time=T0 + np.arange(n, dtype=float),
                     station=np.array(["s"] * n, dtype=object),
                     payload=np.array([b"P%d" % i for i in range(n)], dtype=object),
                     fill=np.zeros(n), msg_type=np.ones(n), text=np.array([b""] * n, dtype=object))
    dd.keep_mask(m)
    assert sorted(dd.window) == sorted(b"P%d" % i for i in range(15, 20))


@pytest.mark.parametrize("max_pending", [1, 3, 40, 10_000])
@pytest.mark.parametrize("seed", [3, 4])
def test_many_open_messages_fast_equals_pyais(seed, max_pending):
    """Hundreds of two-fragment messages open at once under many keys (station, channel,
    sequential id), their second fragments late, missing, repeated or out of order, and a
    few fragments displacing an open message: the numba kernel's table of open messages
    (opened, found, completed, displaced, evicted, expired) gives the reference's tables,
    in one pass and in carried pieces."""
    rng = np.random.default_rng(seed)
    opened, lines = [], []
    for i in range(400):
        station, seq, channel = rng.integers(6), rng.integers(10), b"AB"[rng.integers(2):][:1]
        f1, f2 = type5(273_100_000 + i, f"S{i}", seq=str(seq).encode(), channel=channel)
        head = tag(b"s:R%d,c:%d" % (station, T0 + i))
        lines.append(head + f1)
        opened.append(head + f2)
        while opened and rng.random() < 0.45:      # a second fragment, from a random one
            j = int(rng.integers(len(opened)))
            second = opened.pop(j)
            r = rng.random()
            if r < 0.8:
                lines.append(second)
            elif r < 0.9:
                lines += [second, second]
            # else: lost
    lines += opened[::-1]
    params = AssemblyParams(max_pending=max_pending, max_gap_sentences=300)
    ref = run(lines, assembly=params)
    assert ref.stats["messages"] > 0
    fast = run(lines, decoder="fast", assembly=params)
    for a, b in zip(_frames(ref), _frames(fast)):
        assert a.equals(b)
    assert ref.stats == fast.stats
    data = b"\n".join(lines) + b"\n"
    dec = IncrementalDecoder(decoder="fast", assembly=params)
    parts, start = [], 0
    for c in sorted(rng.choice(np.arange(1, len(data)), size=8, replace=False).tolist()) + [len(data)]:
        parts.append(dec.feed("f.nmea", data[start:c]))
        dec = carried(dec)
        start = c
    parts.append(dec.finish())
    for a, b in zip(_frames(ref), _frames(Decoded.merge(parts))):
        assert a.equals(b)
