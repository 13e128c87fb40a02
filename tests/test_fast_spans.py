"""Span helpers and the fragment-assembly kernel against slow obvious references.

- ``span_codes``: same partition as ``pd.factorize`` of the ``bytes``, ids in first
  appearance order, also when every span has the same hash (the exact fallback);
- ``span_bytes`` / ``span_strings`` / ``pack``: the plain slices;
- dedup: the same duplicates and window dict as ``Deduplicator.keep_mask``;
- assembly: random fragment streams (orphans, interleaved stations, displaced and
  timed-out messages, tiny ``max_pending``) give the same messages, orphans and open
  state as ``ais.assembly.fragments.Assembler``, checked through whole feeds of both paths.
"""

from __future__ import annotations

import random

import numpy as np
import pandas as pd
import pyais
import pytest

from ais.assembly import fast_dedup as fdd
from ais.tables import spans as sp
from ais.assembly.dedup import DedupParams, Deduplicator
from ais.assembly.fragments import AssemblyParams
from ais.tables.columns import MessageTable
from ais.framing.nmea import _xor
from tests.test_fast_paths import _feed_in_pieces, assert_same


def _random_spans(seed, n=2000):
    rng = random.Random(seed)
    items = [bytes(rng.choice(b"ab0") for _ in range(rng.randrange(0, 4))) for _ in range(n)]
    buf, off = sp.pack(items)
    return items, buf, off


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_span_codes_equal_factorize(seed):
    items, buf, off = _random_spans(seed)
    codes, rep = sp.span_codes(buf, off[:-1], off[1:])
    want, _ = pd.factorize(np.array(items, dtype=object))
    assert codes.tolist() == want.tolist()
    assert [items[r] for r in rep] == list(pd.unique(np.array(items, dtype=object)))


def test_span_codes_survive_hash_collisions(monkeypatch):
    items, buf, off = _random_spans(3, 300)

    def same_hash(buf, starts, ends, out):
        out[:] = 7
    monkeypatch.setattr(sp, "_hash_spans", same_hash)
    codes, rep = sp.span_codes(buf, off[:-1], off[1:])
    want, _ = pd.factorize(np.array(items, dtype=object))
    assert codes.tolist() == want.tolist()


def test_span_bytes_strings_pack():
    items, buf, off = _random_spans(4, 500)
    assert sp.span_bytes(buf, off[:-1], off[1:]) == items
    present = np.array([len(x) > 0 for x in items])
    got = sp.span_strings(buf, off[:-1], off[1:], present, "none")
    assert got.tolist() == [x.decode() if len(x) else "none" for x in items]
    assert sp.span_bytes(buf, off[:0], off[:0]) == []


def _fragment_feed(seed: int) -> bytes:
    """Type 5 messages in 2 fragments from 3 stations, shuffled a little, some lost."""
    rng = random.Random(seed)
    lines = []
    t = 1_693_526_400
    for k in range(120):
        d = {"type": 5, "mmsi": 273000000 + k % 17, "shipname": f"SHIP {k % 5}", "imo": k}
        seq = str(rng.randrange(10))
        parts = pyais.encode_dict(d, talker_id="AI", sentence_type="VDM", seq_id=seq)
        station = rng.choice(["rA", "rB", "rC"])
        t += rng.choice([0, 1, 3, 40])
        for s in parts:
            if rng.random() < 0.08:
                continue                          # a lost fragment: orphans
            tag = f"s:{station},c:{t}"
            lines.append(f"\\{tag}*{_xor(tag.encode()):02X}\\{s}")
        if rng.random() < 0.3 and len(lines) > 3:   # interleave with the line before
            lines[-1], lines[-3] = lines[-3], lines[-1]
    return ("\n".join(lines) + "\n").encode()


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("params", [AssemblyParams(), AssemblyParams(timeout_s=2.0),
                                    AssemblyParams(max_gap_sentences=3),
                                    AssemblyParams(max_pending=1)],
                         ids=["defaults", "timeout-2s", "gap-3", "pending-1"])
def test_assembly_kernel_matches_assembler(seed, params, monkeypatch):
    import ais.incremental.decoder as inc
    real = inc.IncrementalDecoder.__init__

    def init(self, **kw):       # the carried decoder comes back with its own params
        real(self, **{"assembly": params, **kw})
    monkeypatch.setattr(inc.IncrementalDecoder, "__init__", init)
    data = _fragment_feed(seed)
    ref = _feed_in_pieces(data, ["pyais"], seed=seed)
    assert_same(_feed_in_pieces(data, ["fast"], seed=seed), ref)
    assert_same(_feed_in_pieces(data, ["fast", "pyais"], seed=seed + 1), ref)


@pytest.mark.parametrize("params", [DedupParams(), DedupParams(window_s=0.0, retention_s=5.0),
                                    DedupParams(retention_s=30.0, max_window_messages=7)],
                         ids=["defaults", "zero-window", "small-cap"])
@pytest.mark.parametrize("collide", [False, True], ids=["hashes", "all-hashes-equal"])
def test_fast_dedup_matches_deduplicator(params, collide, monkeypatch):
    """Batches of random payloads (few distinct, NaN times, times going back): the same
    duplicates and the same window dict (keys, values, order) as ``keep_mask``."""
    if collide:
        def same_hash(buf, starts, ends, out):
            out[:] = 7
        monkeypatch.setattr(fdd, "_hash_spans", same_hash)
    rng = random.Random(11)
    ref, fast = Deduplicator(params), Deduplicator(params)
    t = 1000.0
    for batch in range(12):
        n = rng.randrange(0, 60)
        payloads = [bytes(rng.choice(b"1357") for _ in range(rng.randrange(1, 4))) for _ in range(n)]
        times = []
        for _ in range(n):
            t += rng.choice([0, 0.5, 3, 11, -4])
            times.append(np.nan if rng.random() < 0.1 else t)
        times = np.array(times, dtype=np.float64)
        m = MessageTable.from_lists({"source": [0] * n, "line": list(range(n)), "time": list(times),
                                     "station": ["s"] * n, "payload": payloads, "fill": [0] * n,
                                     "msg_type": [1] * n, "text": [b""] * n})
        want = ~ref.keep_mask(m)
        buf, off = sp.pack(payloads)
        got = fdd.dedup(fast, buf, off[:-1], off[1:], times)
        assert got.tolist() == want.tolist(), batch
        assert list(fast.window.items()) == list(ref.window.items()), batch
        assert (fast.latest, fast.duplicates) == (ref.latest, ref.duplicates)
