"""detectors._frames.vessel_keys: one key per vessel (mmsi, track), the same in every
array given and ordered as (mmsi, track); the int64-code path against the plain lexsort
of all the rows together."""

from __future__ import annotations

import numpy as np
import pytest

from detectors._frames import vessel_keys


def _reference(*pairs):
    m = np.concatenate([np.asarray(a, dtype=np.int64) for a, _ in pairs])
    t = np.concatenate([np.asarray(b, dtype=np.int64) for _, b in pairs])
    order = np.lexsort((t, m))
    ms, ts = m[order], t[order]
    new = np.r_[True, (ms[1:] != ms[:-1]) | (ts[1:] != ts[:-1])] if len(m) else np.zeros(0, bool)
    key = np.empty(len(m), dtype=np.int64)
    key[order] = np.cumsum(new) - 1
    return np.split(key, np.cumsum([len(a) for a, _ in pairs])[:-1])


def _pairs(rng, grouped: bool, wide: bool):
    out = []
    for _ in range(int(rng.integers(1, 4))):
        n = int(rng.integers(0, 80))
        m = rng.integers(0, 10**9, n) if wide else rng.integers(273_000_000, 273_000_008, n)
        t = rng.integers(0, 4, n) * (rng.random(n) < 0.4)
        if grouped:
            o = np.lexsort((t, m))
            m, t = m[o], t[o]
        out.append((m, t))
    out[0] = (np.r_[out[0][0], 273_000_001], np.r_[out[0][1], 1])    # a track other than 0
    return out


@pytest.mark.parametrize("grouped", [False, True], ids=["any-order", "vessel-order"])
@pytest.mark.parametrize("wide", [False, True], ids=["close-mmsis", "any-mmsis"])
@pytest.mark.parametrize("seed", range(25))
def test_keys_of_the_lexsort(seed: int, grouped: bool, wide: bool):
    pairs = _pairs(np.random.default_rng(seed), grouped, wide)
    got, want = vessel_keys(*pairs), _reference(*pairs)
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert g.dtype == np.int64
        np.testing.assert_array_equal(g, w)


def test_without_tracks_the_keys_are_the_mmsis():
    m = np.array([5, 3, 5, 9])
    (k,) = vessel_keys((m, np.zeros(4, dtype=np.int64)))
    np.testing.assert_array_equal(k, m)


@pytest.mark.parametrize("case", ["negative-track", "mmsis-too-far-apart"])
def test_codes_that_do_not_fit_fall_back_to_the_lexsort(case: str):
    if case == "negative-track":
        pairs = [(np.array([7, 7, 2]), np.array([0, -1, 1]))]
    else:
        pairs = [(np.array([-(2**61), 2**61, 0]), np.array([3, 0, 1]))]
    for g, w in zip(vessel_keys(*pairs), _reference(*pairs)):
        np.testing.assert_array_equal(g, w)
