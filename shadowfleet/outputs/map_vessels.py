"""Which vessels map.html shows: the vessels of interest, at most ``--map-vessels N``.

An archive holds hundreds or thousands of vessels; a map of all of them is a tangle and a
file of tens of megabytes. The map shows the vessels a researcher asks about, in this
order of priority, until N are chosen:

1. named in a claim (the MMSIs its vessels resolved to, :mod:`shadowfleet.claims.vessels`);
2. on a watchlist (a ``watchlist`` alert, :mod:`shadowfleet.watchlist`);
3. counted as evidence for a claim (a claim naming no vessel counts any vessel's events);
4. with the highest-scoring alerts (each vessel by its best alert);
5. to fill the remaining places: the highest ranked by behaviour (``vessels`` table, when
   the run has one), then the vessels received most often.

Every vessel keeps all the reasons it was chosen for; the map's popups show them, and its
legend says how many vessels it shows of how many.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from shadowfleet.outputs._figures import position_counts, table

# reasons, highest priority first (the keys of VesselSelection.counts)
CLAIM, WATCHLIST, EVIDENCE, ALERT, RANKED, RECEIVED = (
    "named in a claim", "on a watchlist", "in a claim's evidence", "with a high-scoring alert",
    "ranked by behaviour", "received most often")
PRIORITY = (CLAIM, WATCHLIST, EVIDENCE, ALERT, RANKED, RECEIVED)


@dataclasses.dataclass(frozen=True)
class VesselSelection:
    """The vessels the map shows, highest priority first, with why."""

    mmsis: tuple[int, ...]                     # chosen, in priority order
    reasons: dict[int, tuple[str, ...]]        # mmsi -> sentences, most important first
    groups: dict[int, str]                     # mmsi -> the PRIORITY group that chose it
    total: int                                 # vessels in the run
    asked: int                                 # N

    def first(self, n: int) -> "VesselSelection":
        keep = self.mmsis[:max(0, n)]
        return dataclasses.replace(self, mmsis=keep,
                                   reasons={m: self.reasons[m] for m in keep},
                                   groups={m: self.groups[m] for m in keep})

    def counts(self) -> dict[str, int]:
        """How many chosen vessels each group chose, in priority order, zeros left out."""
        out = {g: 0 for g in PRIORITY}
        for m in self.mmsis:
            out[self.groups[m]] += 1
        return {g: n for g, n in out.items() if n}


class _Candidates:
    """Reasons gathered per vessel, with the best (lowest) group rank and a score to order
    vessels within a group."""

    def __init__(self):
        self.reasons: dict[int, list[str]] = {}
        self.rank: dict[int, int] = {}
        self.score: dict[int, float] = {}

    def add(self, mmsi, group: str, reason: str, score: float = 0.0) -> None:
        try:
            mmsi = int(mmsi)
        except (TypeError, ValueError):
            return
        reasons = self.reasons.setdefault(mmsi, [])
        if reason not in reasons:
            reasons.append(reason)
        g = PRIORITY.index(group)
        if g < self.rank.get(mmsi, len(PRIORITY)):
            self.rank[mmsi] = g
            self.score[mmsi] = score
        elif g == self.rank[mmsi]:
            self.score[mmsi] = max(self.score[mmsi], score)

    def ordered(self) -> list[int]:
        return sorted(self.reasons, key=lambda m: (self.rank[m], -self.score[m], m))


def _claim_list(ids: list[str]) -> str:
    return ("claim " if len(ids) == 1 else "claims ") + ", ".join(ids)


def _claims(result, cands: _Candidates) -> None:
    """Per vessel one sentence for the claims naming it (by how it was named) and one for
    the claims whose evidence it is."""
    evaluation = getattr(result, "claims_evaluation", None)
    named: dict[tuple[int, str], list[str]] = {}
    for res in getattr(evaluation, "results", ()) or ():
        claim_id = str(getattr(getattr(res, "claim", None), "id", "?"))
        for match in getattr(res, "matches", ()) or ():
            for mmsi in getattr(match, "mmsis", ()) or ():
                ids = named.setdefault((int(mmsi), str(getattr(match, "given", ""))), [])
                if claim_id not in ids:
                    ids.append(claim_id)
    for (mmsi, given), ids in named.items():
        cands.add(mmsi, CLAIM, f"named in {_claim_list(ids)}" + (f" ({given})" if given else ""))
    evidence = getattr(evaluation, "evidence", None)
    if isinstance(evidence, pd.DataFrame) and {"claim_id", "mmsi"} <= set(evidence.columns):
        pairs = evidence[["claim_id", "mmsi"]].dropna().drop_duplicates()
        for mmsi, ids in pairs.groupby("mmsi", sort=True)["claim_id"]:
            cands.add(mmsi, EVIDENCE, f"evidence for {_claim_list(list(ids.astype(str)))}")


def _alerts(result, cands: _Candidates) -> None:
    alerts = table(result, "alerts")
    if not len(alerts) or "mmsi" not in alerts:
        return
    score = pd.to_numeric(alerts.get("score"), errors="coerce") if "score" in alerts \
        else pd.Series(0.0, index=alerts.index)
    kind = alerts["kind"].astype(str) if "kind" in alerts else pd.Series("", index=alerts.index)
    listed = kind == "watchlist"
    watch = alerts[listed]
    summaries = watch["summary"].fillna("").astype(str) if "summary" in watch \
        else pd.Series("", index=watch.index)
    for mmsi, s, summary in zip(watch["mmsi"], score[listed], summaries):
        cands.add(mmsi, WATCHLIST, f"on a watchlist: {summary}" if summary else "on a watchlist",
                  float(s) if pd.notna(s) else 0.0)
    others = alerts[~listed].assign(_score=score[~listed].fillna(0.0))
    if not len(others):
        return
    best = others.sort_values(["_score", "mmsi"], ascending=[False, True], kind="mergesort") \
        .drop_duplicates("mmsi")
    ids = best["alert_id"].astype(str) if "alert_id" in best else pd.Series("", index=best.index)
    for mmsi, s, k, aid in zip(best["mmsi"], best["_score"], kind.reindex(best.index), ids):
        cands.add(mmsi, ALERT, f"highest alert score {s:.2f} ({k} {aid})".replace(" )", ")"),
                  float(s))


def _fillers(result, cands: _Candidates, wanted: int) -> None:
    """Rank-ordered vessels, then the most received, until ``wanted`` candidates exist."""
    ranking = table(result, "vessels")
    if len(ranking) and {"mmsi", "rank"} <= set(ranking.columns):
        ranked = ranking.assign(_rank=pd.to_numeric(ranking["rank"], errors="coerce")) \
            .dropna(subset=["_rank"]).sort_values("_rank", kind="mergesort")
        for mmsi, rank in zip(ranked["mmsi"], ranked["_rank"]):
            if len(cands.reasons) >= wanted:
                return
            cands.add(mmsi, RANKED, f"ranked {int(rank)} by behaviour (vessels.csv)",
                      -float(rank))
    if len(cands.reasons) >= wanted:
        return
    counts = position_counts(result)
    if not len(counts):
        return
    order = np.lexsort((counts.index.to_numpy(), -counts.to_numpy()))
    for mmsi, n in zip(counts.index.to_numpy()[order], counts.to_numpy()[order]):
        if len(cands.reasons) >= wanted:
            return
        if int(mmsi) not in cands.reasons:
            cands.add(mmsi, RECEIVED, f"among the vessels received most often ({int(n)} positions)",
                      float(n))


def total_vessels(result) -> int:
    """Vessels in the run: those with positions, and any named only by an event."""
    seen: set[int] = set()
    seen.update(int(m) for m in position_counts(result).index)
    for attr in ("port_visits", "dark_periods", "alerts"):
        frame = table(result, attr)
        if len(frame) and "mmsi" in frame:
            seen.update(int(m) for m in pd.unique(frame["mmsi"].dropna().to_numpy()))
    return len(seen)


def select_vessels(result, limit: int) -> VesselSelection:
    """The vessels of interest of ``result`` (module docstring), at most ``limit``."""
    limit = max(0, int(limit))
    cands = _Candidates()
    _claims(result, cands)
    _alerts(result, cands)
    if len(cands.reasons) < limit:
        _fillers(result, cands, limit)
    chosen = tuple(cands.ordered()[:limit])
    return VesselSelection(
        mmsis=chosen,
        reasons={m: tuple(cands.reasons[m]) for m in chosen},
        groups={m: PRIORITY[cands.rank[m]] for m in chosen},
        total=total_vessels(result), asked=limit)


__all__ = ["VesselSelection", "select_vessels", "PRIORITY"]
