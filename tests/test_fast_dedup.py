"""The fast path's dedup (``ais.assembly.fast_dedup``) against ``Deduplicator.keep_mask``.

Random message streams (few distinct payloads, NaN times, times going back, ties at the
size cap) cut into random batches: the same duplicate masks, counts, ``latest`` and the
same ``window`` dict (keys, times, order) on both paths, also when every payload hashes
alike, when the window is read between batches, when a pickled deduplicator continues,
and when the two paths take turns on one deduplicator.
"""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ais.assembly import fast_dedup as fdd
from ais.tables import spans as sp
from ais.assembly.dedup import DedupParams, Deduplicator
from ais.tables.columns import MessageTable

PARAMS = [DedupParams(), DedupParams(window_s=0.0, retention_s=5.0),
          DedupParams(window_s=3.0, retention_s=20.0, max_window_messages=4),
          DedupParams(retention_s=1e9, max_window_messages=1)]

payload = st.binary(min_size=1, max_size=3).map(lambda b: bytes(48 + x % 5 for x in b))
step = st.sampled_from([0.0, 0.0, 0.5, 1.0, 3.0, 11.0, -4.0, -30.0])


@st.composite
def streams(draw):
    msgs = draw(st.lists(st.tuples(payload, step, st.integers(0, 9)), max_size=120))
    t, rows = 1000.0, []
    for p, dt, r in msgs:
        t += dt
        rows.append((p, np.nan if r == 0 else t))
    cuts = sorted(draw(st.lists(st.integers(0, len(rows)), max_size=6)))
    return rows, [0, *cuts, len(rows)]


def _table(rows) -> MessageTable:
    n = len(rows)
    return MessageTable.from_lists({
        "source": [0] * n, "line": list(range(n)), "time": [t for _, t in rows],
        "station": ["s"] * n, "payload": [p for p, _ in rows], "fill": [0] * n,
        "msg_type": [1] * n, "text": [b""] * n})


def _fast(dd, rows) -> np.ndarray:
    buf, off = sp.pack([p for p, _ in rows])
    return fdd.dedup(dd, buf, off[:-1], off[1:], np.array([t for _, t in rows], dtype=np.float64))


def _same(fast: Deduplicator, ref: Deduplicator) -> None:
    assert (fast.latest, fast.duplicates) == (ref.latest, ref.duplicates)
    assert list(fast.window.items()) == list(ref.window.items())


@pytest.mark.parametrize("params", PARAMS, ids=["defaults", "zero-window", "cap-4", "cap-1"])
@pytest.mark.parametrize("collide", [False, True], ids=["hashes", "all-hashes-equal"])
@settings(max_examples=60, deadline=None)
@given(data=streams(), look=st.sampled_from(["end", "every-batch", "pickle", "turns"]))
def test_fast_dedup_equals_keep_mask(params, collide, data, look):
    rows, cuts = data
    real = fdd._hash_spans        # patched by hand: hypothesis runs many examples per test
    if collide:
        fdd._hash_spans = _same_hash
    try:
        ref, fast = Deduplicator(params), Deduplicator(params)
        for k, (a, b) in enumerate(zip(cuts, cuts[1:])):
            batch = rows[a:b]
            want = ~ref.keep_mask(_table(batch))
            if look == "turns" and k % 2:
                got = ~fast.keep_mask(_table(batch))
            else:
                got = _fast(fast, batch)
            assert got.tolist() == want.tolist()
            if look == "every-batch":
                _same(fast, ref)
            elif look == "pickle":
                fast = pickle.loads(pickle.dumps(fast))
        _same(fast, ref)
    finally:
        fdd._hash_spans = real


def _same_hash(buf, starts, ends, out):
    out[:] = 7


def test_window_is_the_state_on_either_path():
    """Reading ``window`` gives a dict that is the state: changing it changes what the
    fast path sees next; setting it replaces the fast path's arrays."""
    dd = Deduplicator()
    assert _fast(dd, [(b"A", 100.0), (b"B", 101.0)]).tolist() == [False, False]
    assert dd.window == {b"A": 100.0, b"B": 101.0}
    del dd.window[b"A"]
    assert _fast(dd, [(b"A", 102.0), (b"B", 102.0)]).tolist() == [False, True]
    dd.window = {}
    assert _fast(dd, [(b"B", 103.0)]).tolist() == [False]
    assert list(dd.window.items()) == [(b"B", 103.0)]


def test_a_pickled_fast_window_is_packed_arrays():
    dd = Deduplicator()
    _fast(dd, [(b"P%d" % i, 100.0 + i) for i in range(1000)])
    assert dd._arena is not None and dd._window is None
    back = pickle.loads(pickle.dumps(dd))
    assert back._window is None and len(back._arena) == len(dd._arena) == 601   # 600 s kept
    assert list(back.window.items()) == list(dd.window.items())


def test_expired_entries_are_compacted_away():
    """A long live feed: old copies expire batch after batch and the arena stays small."""
    dd = Deduplicator(DedupParams(retention_s=60.0))
    ref = Deduplicator(DedupParams(retention_s=60.0))
    for k in range(40):
        rows = [(b"%d-%d" % (k, i), 1000.0 + 30 * k + i * 0.01) for i in range(3000)]
        assert _fast(dd, rows).tolist() == (~ref.keep_mask(_table(rows))).tolist()
    a = dd._arena
    assert a.n_ent < 4 * len(a) + 70_000
    _same(dd, ref)


@pytest.mark.parametrize("cap", [1, 3, 7, 50])
def test_ties_at_the_size_cap_choose_the_same_copies(cap):
    """Many payloads with equal times over the cap: both paths keep the same ones
    (``Deduplicator.most_recent`` on the same array, so the same tie-break)."""
    rng = np.random.default_rng(cap)
    params = DedupParams(retention_s=1e9, max_window_messages=cap)
    ref, fast = Deduplicator(params), Deduplicator(params)
    for batch in range(8):
        rows = [(b"%d" % rng.integers(0, 400), 1000.0 + batch + rng.integers(0, 3))
                for _ in range(rng.integers(1, 200))]
        assert _fast(fast, rows).tolist() == (~ref.keep_mask(_table(rows))).tolist()
        if batch % 3 == 2:
            _same(fast, ref)
    _same(fast, ref)


def test_payloads_with_nul_bytes_come_back_whole():
    """``window`` made from the packed bytes keeps NUL bytes (numpy's fixed-width bytes
    would strip a trailing one)."""
    rows = [(b"A\x00", 100.0), (b"A", 100.5), (b"\x00", 101.0), (b"B", 101.0)]
    ref, fast = Deduplicator(), Deduplicator()
    assert _fast(fast, rows).tolist() == (~ref.keep_mask(_table(rows))).tolist()
    _same(fast, ref)
    assert list(fast.window) == [b"A\x00", b"A", b"\x00", b"B"]


def test_prefetch_is_only_a_hint():
    """``prefetch`` compiles for any array and integer index, reads nothing and never
    faults, even far outside the array (the batch passes prefetch entries that may not
    exist yet)."""
    from ais._numba import njit, prefetch

    @njit
    def total(a, ahead):
        s = a[0] * 0
        for i in range(len(a)):
            prefetch(a, i + ahead)
            prefetch(a, -ahead)
            s += a[i]
        return s

    for arr in (np.arange(1000, dtype=np.int64), np.linspace(0, 1, 7), np.ones(3, np.uint8)):
        for ahead in (0, 32, 1 << 40):
            assert total(arr, ahead) == arr.sum()


def test_copy_bytes_at_any_offset_and_length():
    """The arena's 8-bytes-a-step copy equals a slice assignment for every length and
    alignment, and writes nothing outside the target span."""
    src = np.arange(64, dtype=np.uint8) + 1
    for n in range(0, 20):
        for a in (0, 1, 5, 13):
            for d in (0, 3, 8):
                dst = np.zeros(48, dtype=np.uint8)
                fdd._copy_bytes(src, a, n, dst, d)
                want = np.zeros(48, dtype=np.uint8)
                want[d:d + n] = src[a:a + n]
                assert dst.tolist() == want.tolist()
