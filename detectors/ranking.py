"""Vessel ranking: which of thousands of vessels to look at first.

Definition (DESIGN.md, contract): one row per vessel of behaviour features and a
scikit-learn ``IsolationForest`` outlier score (fixed ``random_state``, so the same
input gives the same ranking), highest first. The score does not say a vessel is
sanctioned: it says its behaviour is unlike most others' in the same data, which is
where a researcher facing a whole sea of traffic starts reading.

Features (:data:`detectors.columns.VESSEL_FEATURES`), per vessel with a usable position:

- ``hours_dark``: hours of its dark periods (open ones up to the end of the data);
- ``dark_periods``: how many;
- ``possible_port_calls``: ports listed as reachable during its dark periods, summed
  over them (each listed port is one possible call);
- ``encounters``: encounters it is in, on either side;
- ``loitering_hours``: hours of its loitering events;
- ``unlisted_stops``: distinct unlisted stops it stayed at;
- ``identity_anomalies``: rows of the identity table naming it (0 without one);
- ``ports_called``: distinct ports of its port visits;
- ``share_received``: 1 - hours_dark / hours from its first position to the end of the
  data (1 for a vessel first seen at the very end).

The forest (``ranking_trees`` [200] trees, ``random_state`` ``ranking_random_state``
[0]) is fitted on the features of all vessels in increasing MMSI order, so neither the
row order of the inputs nor that of the event tables changes a score;
``outlier_score`` is the negated ``score_samples`` (the paper's anomaly score, about
0.5 for an ordinary vessel and towards 1 for an isolated one). ``rank`` is 1 for the
highest score; ties go to the smaller MMSI. With fewer than two vessels there is
nothing to compare: scores are NaN and ranks by MMSI.
"""

from __future__ import annotations

import dataclasses
from typing import Mapping

import numpy as np
import pandas as pd

from ais.errors import ConfigError
from ais.schema import vessel_offsets
from detectors._frames import usable_positions, utc_ns
from detectors.columns import VESSEL_TABLE, VESSEL_FEATURES


@dataclasses.dataclass(frozen=True, kw_only=True)
class RankingParams:
    """Settings of the ranking forest."""

    ranking_trees: int = 200
    ranking_random_state: int = 0

    def __post_init__(self):
        for name in ("ranking_trees", "ranking_random_state"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 0:
                raise ConfigError(None, f"{name} = {v!r} is not a whole number >= 0",
                                  f"set {name} to a whole number")
        if self.ranking_trees == 0:
            raise ConfigError(None, "ranking_trees = 0 leaves no forest to score with",
                              "set ranking_trees to a positive number (default 200)")


def empty_vessels() -> pd.DataFrame:
    cols = {c: pd.Series([], dtype="float64") for c in VESSEL_TABLE}
    cols["mmsi"] = pd.Series([], dtype="int64")
    cols["name"] = pd.Series([], dtype=object)
    cols["imo"] = pd.Series([], dtype="Int64")
    cols["rank"] = pd.Series([], dtype="int64")
    for c in ("dark_periods", "possible_port_calls", "encounters", "unlisted_stops",
              "identity_anomalies", "ports_called"):
        cols[c] = pd.Series([], dtype="int64")
    return pd.DataFrame(cols)[list(VESSEL_TABLE)]


def _per_vessel(index: pd.Index, mmsi, values=None, how="sum") -> np.ndarray:
    """``values`` (1 each when None) grouped by ``mmsi`` onto ``index`` (0 elsewhere)."""
    mmsi = pd.Series(np.asarray(mmsi, dtype=np.int64))
    vals = pd.Series(np.ones(len(mmsi)) if values is None else np.asarray(values, dtype=np.float64))
    if len(mmsi) == 0:
        return np.zeros(len(index))
    if how == "nunique":
        agg = vals.groupby(mmsi.to_numpy()).nunique()
    else:
        agg = vals.groupby(mmsi.to_numpy()).sum()
    return agg.reindex(index, fill_value=0).to_numpy(dtype=np.float64)


def _nunique(index: pd.Index, frame, key: str, mask=None) -> np.ndarray:
    if frame is None or len(frame) == 0:
        return np.zeros(len(index))
    f = frame if mask is None else frame[mask(frame)]
    codes = pd.Series(pd.factorize(f[key].astype(str))[0], index=f.index)
    return _per_vessel(index, f["mmsi"], codes, how="nunique")


def vessel_features(positions: pd.DataFrame, *, dark_periods=None, port_visits=None,
                    encounters=None, loitering=None, stays=None, identity=None,
                    data_end=None) -> pd.DataFrame:
    """The behaviour features (:data:`VESSEL_FEATURES`) of every vessel with a usable
    position, indexed by mmsi in increasing order. Event tables left out count as empty."""
    pos = usable_positions(positions)
    # the usable rows are grouped by mmsi in increasing order: each vessel's first row
    # and its first time (its rows of every track) from the slices, without a sort or a
    # hash of every row (8-byte arrays of every usable position were this step's peak)
    pos_mmsi = pos["mmsi"].to_numpy(dtype=np.int64)
    starts = vessel_offsets(pos_mmsi)[:-1]
    index = pd.Index(pos_mmsi[starts], name="mmsi")
    feats = pd.DataFrame(index=index)
    n = len(index)
    zeros = np.zeros(n)

    dp = dark_periods
    if dp is not None and len(dp):
        feats["hours_dark"] = _per_vessel(index, dp["mmsi"], dp["hours"].fillna(0.0))
        feats["dark_periods"] = _per_vessel(index, dp["mmsi"])
        calls = dp["possible_port_calls"].fillna("").astype(str)
        n_calls = calls.map(lambda s: len([p for p in s.split(";") if p]))
        feats["possible_port_calls"] = _per_vessel(index, dp["mmsi"], n_calls)
    else:
        feats["hours_dark"] = feats["dark_periods"] = feats["possible_port_calls"] = zeros
    if encounters is not None and len(encounters):
        both = np.r_[encounters["mmsi_1"].to_numpy(dtype=np.int64),
                     encounters["mmsi_2"].to_numpy(dtype=np.int64)]
        feats["encounters"] = _per_vessel(index, both)
    else:
        feats["encounters"] = zeros
    if loitering is not None and len(loitering):
        feats["loitering_hours"] = _per_vessel(index, loitering["mmsi"], loitering["hours"])
    else:
        feats["loitering_hours"] = zeros
    feats["unlisted_stops"] = _nunique(index, stays, "stop_id",
                                       mask=lambda f: f["stop_id"].fillna("").astype(str) != "")
    if identity is not None and len(identity):
        feats["identity_anomalies"] = _per_vessel(index, identity["mmsi"].dropna())
    else:
        feats["identity_anomalies"] = zeros
    feats["ports_called"] = _nunique(index, port_visits, "port")

    times = pd.to_datetime(positions["timestamp"], utc=True)
    if data_end is None:
        end_ns = times.max().as_unit("ns").value if len(times) else 0
    else:
        ts = pd.Timestamp(data_end)
        end_ns = (ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")).as_unit("ns").value
    first_ns = utc_ns(pos["timestamp"]).array.asi8
    first = (np.minimum.reduceat(first_ns, starts) if len(starts)
             else np.zeros(0, dtype=np.int64))
    span_h = np.maximum(end_ns - first, 0) / 3.6e12
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(span_h > 0, 1.0 - feats["hours_dark"].to_numpy() / span_h, 1.0)
    feats["share_received"] = np.clip(share, 0.0, 1.0)
    for c in ("dark_periods", "possible_port_calls", "encounters", "unlisted_stops",
              "identity_anomalies", "ports_called"):
        feats[c] = feats[c].astype(np.int64)
    return feats[list(VESSEL_FEATURES)]


def rank_vessels(positions: pd.DataFrame, *, dark_periods=None, port_visits=None,
                 encounters=None, loitering=None, stays=None, identity=None,
                 names: Mapping[int, str] | None = None, imos: Mapping[int, int] | None = None,
                 params: RankingParams = RankingParams(), data_end=None) -> pd.DataFrame:
    """One row per vessel: :data:`VESSEL_TABLE`, highest ``outlier_score`` first.

    ``positions``: the positions frame; the event tables are those of the detectors
    (``dark_periods`` of :func:`detectors.dark_periods.find_dark_periods`, ``port_visits``,
    ``encounters``, ``loitering``, ``stays`` of :func:`detectors.stops.find_unlisted_stops`,
    ``identity`` when that detector exists); ``names``/``imos``: mmsi -> name / IMO;
    ``data_end``: end of the data for ``share_received`` (default: the latest timestamp
    in ``positions``, as for open dark periods).
    """
    from sklearn.ensemble import IsolationForest

    if not isinstance(params, RankingParams):
        raise TypeError("params must be a RankingParams")
    feats = vessel_features(positions, dark_periods=dark_periods, port_visits=port_visits,
                            encounters=encounters, loitering=loitering, stays=stays,
                            identity=identity, data_end=data_end)
    if feats.empty:
        return empty_vessels()
    mmsi = feats.index.to_numpy(dtype=np.int64)
    if len(feats) >= 2:
        x = feats.to_numpy(dtype=np.float64)
        forest = IsolationForest(n_estimators=int(params.ranking_trees),
                                 random_state=int(params.ranking_random_state))
        score = -forest.fit(x).score_samples(x)
    else:
        score = np.full(len(feats), np.nan)
    order = np.lexsort((mmsi, -np.nan_to_num(score, nan=0.0)))
    names = names or {}
    imos = imos or {}
    out = pd.DataFrame({
        "mmsi": mmsi,
        "name": pd.Series([str(names.get(int(m), "") or "") for m in mmsi], dtype=object),
        "imo": pd.array([imos.get(int(m)) for m in mmsi], dtype="Int64"),
        "outlier_score": score,
    })
    out = pd.concat([out, feats.reset_index(drop=True)], axis=1).iloc[order].reset_index(drop=True)
    out.insert(4, "rank", np.arange(1, len(out) + 1, dtype=np.int64))
    return out[list(VESSEL_TABLE)]
