"""Sanctions watchlists: which vessels in the data are listed, and how sure the match is.

Two file formats (issue 6), told apart by their first row:

- the OFAC SDN CSV (US Treasury ``sdn.csv``: no header, 12 columns ent_num, name, type,
  program, title, call_sign, vessel_type, tonnage, GRT, flag, owner, remarks; ``-0-`` is
  empty). Only rows of type ``vessel`` are used; IMO and MMSI sit inside the remarks
  (``Vessel Registration Identification IMO 9179842; MMSI 273...``), former names in
  ``f.k.a. 'NAME'`` / ``a.k.a. 'NAME'``. A bare 7-digit registration number counts as
  an IMO only when it passes the IMO check digit;
- a plain CSV with a header ``list,imo,mmsi,name`` (``list`` optional: the file name is
  used), one vessel per row, any of imo/mmsi/name may be empty but not all three.

Matching (issue 6; REFERENCE.md: "Match by IMO: other ships share these names"), per
vessel in the data and per list, strongest first:

1. ``imo``: the vessel broadcast (AIS type 5) an IMO the list gives — score 1.0;
2. ``mmsi``: the vessel's MMSI is listed — score 0.8, or 0.5 and flagged weak when the
   vessel broadcast an IMO the entry does not have (MMSIs are reassigned);
3. ``name``: a broadcast name equals a listed name or former name after normalising
   case, spaces, punctuation and ``@`` padding — weak, score 0.3, and only when neither
   side's IMO rules it out; dropped when the same list already matched strongly.

Each match yields one ``watchlist`` alert (alerts.csv columns) whose id is a hash of
(kind, mmsi, list, entry, method), without times, so scheduled runs never duplicate it;
the vessel's other alerts get the list name appended to their ``summary``.
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import io
import re
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
import pandas as pd

from ais.schema import POSITION_COLUMNS
from detectors.columns import ALERT_COLUMNS, ALERT_TABLE
from shadowfleet.errors import WatchlistError
from shadowfleet.claims.model import imo_check_digit_ok, normalise_name

MATCH_COLUMNS = ("mmsi", "name", "imo", "list", "ref", "entry_name", "program", "matched_by",
                 "weak", "score", "note", "first_utc", "last_utc", "lat", "lon")
SDN_COLUMNS = ("ent_num", "name", "type", "program", "title", "call_sign", "vessel_type",
               "tonnage", "grt", "flag", "owner", "remarks")
# what a match reads of the candidate vessels' positions (first and last seen, last fix)
WATCH_POSITION_COLUMNS = POSITION_COLUMNS[:4]       # mmsi, timestamp, lat, lon
SCORES = {"imo": 1.0, "mmsi": 0.8, "mmsi_other_imo": 0.5, "name": 0.3}

_IMO = re.compile(r"\bIMO\s*(\d{7})\b")
_MMSI = re.compile(r"\bMMSI\s*(\d{9})\b")
_REG = re.compile(r"Registration Identification\s+(\d{7})\b")
_ALIAS = re.compile(r"\b[afn]\.k\.a\.\s*'([^']+)'")


@dataclasses.dataclass(frozen=True)
class WatchEntry:
    """One listed vessel."""

    list_name: str
    ref: str                     # SDN ent_num, or "line N" of a plain CSV
    name: str
    imos: tuple[int, ...] = ()
    mmsis: tuple[int, ...] = ()
    aliases: tuple[str, ...] = ()
    program: str = ""
    line: int = 0


@dataclasses.dataclass(frozen=True)
class Watchlist:
    """A loaded watchlist file."""

    path: str
    format: str                  # "sdn" | "plain"
    entries: tuple[WatchEntry, ...]
    skipped: int = 0             # SDN rows that are not vessels

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(e.list_name for e in self.entries))


def load_watchlists(paths: str | Path | Iterable[str | Path]) -> list[Watchlist]:
    """Load every watchlist file (SDN or plain CSV, detected from the first row)."""
    if isinstance(paths, (str, Path)):
        paths = [paths]
    return [load_watchlist(p) for p in paths]


def load_watchlist(path: str | Path) -> Watchlist:
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise WatchlistError(path, "no such file", "check the path given to --watchlist") from None
    except OSError as exc:
        raise WatchlistError(path, f"cannot be read ({exc})", "give a readable CSV file") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("cp1252", errors="replace")  # Treasury's older files are Windows-1252
    text = text.replace("\x1a", "")  # sdn.csv ends with a DOS end-of-file character
    rows = list(csv.reader(io.StringIO(text, newline="")))
    rows = [(i + 1, r) for i, r in enumerate(rows) if any(c.strip() for c in r)]
    if not rows:
        raise WatchlistError(path, "the file is empty", "give an OFAC SDN CSV or a CSV with a "
                             "header list,imo,mmsi,name")
    header = [c.strip().lower() for c in rows[0][1]]
    if {"imo", "mmsi", "name"} <= set(header):
        return _plain(path, header, rows[1:])
    if len(rows[0][1]) >= len(SDN_COLUMNS):
        return _sdn(path, rows)
    raise WatchlistError(path, "neither the OFAC SDN CSV format (12 columns) nor a CSV with a "
                         "header list,imo,mmsi,name", "convert the list to one of the two", line=1)


def _empty(value: str) -> str:
    value = value.strip()
    return "" if value in ("-0-", "") else value


def _sdn(path: Path, rows: list[tuple[int, list[str]]]) -> Watchlist:
    entries, skipped = [], 0
    for line, row in rows:
        if len(row) < len(SDN_COLUMNS):
            raise WatchlistError(path, f"{len(row)} columns where the SDN CSV has 12",
                                 "give the unmodified sdn.csv", line=line)
        rec = dict(zip(SDN_COLUMNS, (_empty(c) for c in row)))
        if rec["type"].lower() != "vessel":
            skipped += 1
            continue
        remarks = rec["remarks"]
        imos = [int(x) for x in _IMO.findall(remarks)]
        imos += [int(x) for x in _REG.findall(remarks) if imo_check_digit_ok(int(x))]
        program = "; ".join(p.strip(" []") for p in rec["program"].split("] [") if p.strip(" []"))
        entries.append(WatchEntry(
            list_name="OFAC SDN", ref=rec["ent_num"] or f"line {line}", name=rec["name"],
            imos=tuple(dict.fromkeys(imos)),
            mmsis=tuple(dict.fromkeys(int(x) for x in _MMSI.findall(remarks))),
            aliases=tuple(dict.fromkeys(_ALIAS.findall(remarks))), program=program, line=line))
    if not entries:
        raise WatchlistError(path, "no vessel rows (type 'vessel') in the SDN file",
                             "give the SDN CSV that lists vessels")
    return Watchlist(str(path), "sdn", tuple(entries), skipped)


def _number(path: Path, line: int, field: str, raw: str, digits: int) -> int | None:
    text = re.sub(rf"^{field}\s*", "", raw.strip(), flags=re.I)
    if not text:
        return None
    if not (text.isdigit() and len(text) == digits):
        raise WatchlistError(path, f"{field} {raw.strip()!r} is not {digits} digits",
                             f"write the {field} as digits or leave it empty", line=line)
    value = int(text)
    if field == "IMO" and not imo_check_digit_ok(value):
        raise WatchlistError(path, f"IMO {value} fails the IMO check digit",
                             "check the number for a typo", line=line)
    return value


def _plain(path: Path, header: list[str], rows) -> Watchlist:
    col = {name: header.index(name) for name in ("list", "imo", "mmsi", "name") if name in header}
    entries = []
    for line, row in rows:
        def get(name: str) -> str:
            i = col.get(name)
            return row[i].strip() if i is not None and i < len(row) else ""

        imo = _number(path, line, "IMO", get("imo"), 7)
        mmsi = _number(path, line, "MMSI", get("mmsi"), 9)
        name = " ".join(get("name").split())
        if imo is None and mmsi is None and not normalise_name(name):
            raise WatchlistError(path, "a row with no IMO, MMSI or name",
                                 "fill at least one of imo, mmsi, name", line=line)
        entries.append(WatchEntry(list_name=get("list") or path.stem, ref=f"line {line}",
                                  name=name, imos=() if imo is None else (imo,),
                                  mmsis=() if mmsi is None else (mmsi,), line=line))
    if not entries:
        raise WatchlistError(path, "a header but no vessel rows", "add rows list,imo,mmsi,name",
                             line=1)
    return Watchlist(str(path), "plain", tuple(entries))


def _seen(positions: pd.DataFrame | None, statics: pd.DataFrame | None,
          mmsis: set[int], seen_positions: pd.DataFrame | None = None) -> pd.DataFrame:
    """For the given MMSIs: first and last time seen (positions or statics) and the last
    fix (lat, lon); indexed by mmsi. ``seen_positions``: the positions' part already
    reduced to these columns (a job's ``KeptPositions.seen_of``), used for
    ``positions``."""
    cols = ["first_utc", "last_utc", "lat", "lon"]
    parts = []
    if seen_positions is not None and len(seen_positions):
        part = seen_positions[seen_positions.index.isin(list(mmsis))]
        if len(part):
            parts.append(part[cols])
    for frame, has_fix in ((positions, True), (statics, False)):
        if frame is None or not len(frame):
            continue
        sub = frame[frame["mmsi"].isin(list(mmsis))]
        if not len(sub):
            continue
        ts = pd.to_datetime(sub["timestamp"], utc=True)
        g = ts.groupby(sub["mmsi"].astype("int64").values)
        part = pd.DataFrame({"first_utc": g.min(), "last_utc": g.max()})
        if has_fix:
            fixes = sub.assign(_ts=ts).dropna(subset=["lat", "lon"]).sort_values(
                ["mmsi", "_ts"], kind="mergesort", na_position="first")
            last = fixes.groupby("mmsi")[["lat", "lon"]].last()
            part = part.join(last, how="left")
        parts.append(part)
    if not parts:
        return pd.DataFrame(columns=cols)
    both = pd.concat(parts)
    out = both.groupby(level=0).agg(first_utc=("first_utc", "min"), last_utc=("last_utc", "max"))
    fixes = both[[c for c in ("lat", "lon") if c in both]].dropna() if "lat" in both else None
    if fixes is not None and len(fixes):
        out = out.join(fixes.groupby(level=0).first(), how="left")
    for c in ("lat", "lon"):
        if c not in out:
            out[c] = np.nan
    return out[cols]


def _identities(statics: pd.DataFrame | None, *, imos_wanted, keys_wanted, mmsis_wanted
                ) -> tuple[set[int], dict[int, set[int]], dict[int, set[str]], dict[int, str]]:
    """The candidate vessels (an IMO, name or MMSI some list has) and, for them only:
    mmsi -> IMOs broadcast, mmsi -> normalised names, mmsi -> last name as broadcast
    (without ``@`` padding). Names are normalised once per distinct name."""
    if statics is None or not len(statics):
        return set(), {}, {}, {}
    mmsi = statics["mmsi"].astype("int64")
    imo = pd.to_numeric(statics["imo"], errors="coerce")
    raw = statics["name"].astype(object).where(statics["name"].notna(), "")
    norm = {u: normalise_name(u) for u in pd.unique(raw)}
    key = raw.map(norm)
    hit = imo.isin(list(imos_wanted)) | key.isin(list(keys_wanted)) | mmsi.isin(list(mmsis_wanted))
    candidates = {int(m) for m in pd.unique(mmsi[hit])}
    rows = pd.DataFrame({"mmsi": mmsi, "imo": imo, "raw": raw, "key": key,
                         "ts": pd.to_datetime(statics["timestamp"], utc=True)})
    rows = rows[mmsi.isin(list(candidates))]
    imos: dict[int, set[int]] = {}
    keys: dict[int, set[str]] = {}
    for m, i in rows.loc[rows["imo"] > 0, ["mmsi", "imo"]].drop_duplicates().itertuples(index=False):
        imos.setdefault(int(m), set()).add(int(i))
    named = rows[rows["key"] != ""]
    for m, k in named[["mmsi", "key"]].drop_duplicates().itertuples(index=False):
        keys.setdefault(int(m), set()).add(k)
    last = named.sort_values(["mmsi", "ts"], kind="mergesort", na_position="first") \
        .groupby("mmsi")["raw"].last()
    shown = {int(m): " ".join(str(r).split("@", 1)[0].split()) for m, r in last.items()}
    return candidates, imos, keys, shown


def match_watchlists(watchlists: Sequence[Watchlist], *, positions: pd.DataFrame | None = None,
                     statics: pd.DataFrame | None = None, partitions=None) -> pd.DataFrame:
    """Every (vessel, list entry) match, strongest method per pair (see module doc).
    ``partitions``: where the positions are when ``positions`` does not hold them (a Dask
    run's ``shadowfleet.scale.writer.PartitionWriter``): only the positions of the vessels
    that can match are read from it."""
    by_imo: dict[int, list[WatchEntry]] = {}
    by_mmsi: dict[int, list[WatchEntry]] = {}
    by_name: dict[str, list[WatchEntry]] = {}
    for wl in watchlists:
        for e in wl.entries:
            for i in e.imos:
                by_imo.setdefault(i, []).append(e)
            for m in e.mmsis:
                by_mmsi.setdefault(m, []).append(e)
            for n in {normalise_name(x) for x in (e.name, *e.aliases)} - {""}:
                by_name.setdefault(n, []).append(e)
    # only vessels that can match anything are looked at further
    candidates, imos, keys, shown = _identities(statics, imos_wanted=by_imo.keys(),
                                                keys_wanted=by_name.keys(),
                                                mmsis_wanted=by_mmsi.keys())
    seen_positions = None
    if partitions is not None and hasattr(partitions, "seen_of"):
        # a job's kept positions: first and last seen and the last fix, not every row
        seen_positions = partitions.seen_of(candidates | set(by_mmsi))
        positions = None
        candidates |= set(by_mmsi) & {int(m) for m in seen_positions.index}
    else:
        if partitions is not None:  # every row of the vessels that can match, no other
            positions = partitions.positions_of(candidates | set(by_mmsi),
                                                WATCH_POSITION_COLUMNS)
        candidates |= set(by_mmsi) & _all_mmsis(positions, None)
    seen = _seen(positions, statics, candidates, seen_positions)
    rows = []
    for mmsi in sorted(candidates):
        if mmsi not in seen.index:
            continue
        v = seen.loc[mmsi]
        own_imos = imos.get(mmsi, set())
        found: dict[int, tuple[WatchEntry, str, bool, str]] = {}
        for imo in sorted(own_imos):
            for e in by_imo.get(imo, ()):
                found.setdefault(id(e), (e, "imo", False, ""))
        for e in by_mmsi.get(mmsi, ()):
            if id(e) in found:
                continue
            other = bool(e.imos and own_imos and not own_imos & set(e.imos))
            note = (f"broadcasts IMO {', '.join(map(str, sorted(own_imos)))}, the list gives "
                    f"{', '.join(map(str, e.imos))}") if other else ""
            found[id(e)] = (e, "mmsi", other, note)
        strong_lists = {e.list_name for e, how, weak, _ in found.values() if not weak}
        for key in sorted(keys.get(mmsi, ())):
            for e in by_name.get(key, ()):
                if id(e) in found or e.list_name in strong_lists:
                    continue
                if e.imos and own_imos and not own_imos & set(e.imos):
                    continue  # a namesake: the IMO says it is another ship
                found[id(e)] = (e, "name", True, "same name only; check the IMO")
        for e, how, weak, note in found.values():
            score = SCORES["mmsi_other_imo"] if how == "mmsi" and weak else SCORES[how]
            common = sorted(set(e.imos) & own_imos)
            rows.append({"mmsi": mmsi, "name": shown.get(mmsi, ""),
                         "imo": common[0] if common else (min(own_imos) if own_imos else None),
                         "list": e.list_name, "ref": e.ref, "entry_name": e.name,
                         "program": e.program, "matched_by": how, "weak": weak, "score": score,
                         "note": note, "first_utc": v["first_utc"], "last_utc": v["last_utc"],
                         "lat": v["lat"], "lon": v["lon"]})
    out = pd.DataFrame(rows, columns=list(MATCH_COLUMNS))
    out["imo"] = pd.array(out["imo"].tolist(), dtype="Int64")
    return out.sort_values(["mmsi", "list", "score", "ref"], ascending=[True, True, False, True],
                           kind="mergesort").reset_index(drop=True)


def _all_mmsis(positions: pd.DataFrame | None, statics: pd.DataFrame | None) -> set[int]:
    out: set[int] = set()
    for frame in (positions, statics):
        if frame is not None and len(frame):
            out.update(int(m) for m in pd.unique(frame["mmsi"]))
    return out


def alert_id(*parts: object) -> str:
    """``A-`` + 12 hex digits of the SHA-1 of the parts: the same match, the same id."""
    text = "|".join(str(p) for p in parts)
    return "A-" + hashlib.sha1(text.encode("utf-8")).hexdigest()[:12]


def _describe(m: dict) -> str:
    who = m["name"] or m["entry_name"] or f"MMSI {m['mmsi']}"
    imo = m["imo"]
    who += f" (IMO {imo})" if imo is not None and not pd.isna(imo) else f" (MMSI {m['mmsi']})"
    program = f", {m['program']}" if m["program"] else ""
    entry = f"entry {m['ref']} {m['entry_name']}".strip()
    how = {"imo": "by IMO", "mmsi": "by MMSI", "name": "by name only (weak)"}[m["matched_by"]]
    lead = "Possible match: " if m["weak"] else ""
    note = f"; {m['note']}" if m["note"] else ""
    return f"{lead}{who} is on {m['list']} ({entry}{program}): matched {how}{note}"


def watchlist_alerts(matches: pd.DataFrame) -> pd.DataFrame:
    """One ``watchlist`` alert per match, with the alerts.csv columns."""
    rows = []
    for m in matches.to_dict("records"):
        rows.append({"alert_id": alert_id("watchlist", m["mmsi"], m["list"], m["ref"],
                                          m["matched_by"]),
                     "kind": "watchlist", "mmsi": m["mmsi"], "name": m["name"] or m["entry_name"],
                     "imo": m["imo"], "start_utc": m["first_utc"], "end_utc": m["last_utc"],
                     "lat": m["lat"], "lon": m["lon"], "score": m["score"],
                     "summary": _describe(m), "evidence": f"watchlist:{m['list']}:{m['ref']}",
                     "claim_ids": "", "track": 0})
    out = pd.DataFrame(rows, columns=list(ALERT_TABLE))    # a match is about the MMSI: track 0
    out["mmsi"] = out["mmsi"].astype("int64")
    out["track"] = out["track"].astype("int64")
    out["imo"] = pd.array(out["imo"].tolist(), dtype="Int64")
    for c in ("start_utc", "end_utc"):
        out[c] = pd.to_datetime(out[c], utc=True)
    for c in ("lat", "lon", "score"):
        out[c] = out[c].astype("float64")
    return out


def _tag(summary: object, tag: str) -> str:
    text = "" if summary is None or (isinstance(summary, float) and summary != summary) \
        else str(summary)
    if tag in text:
        return text
    return f"{text} {tag}".strip()


def apply_watchlists(alerts: pd.DataFrame | None, watchlists: Sequence[Watchlist], *,
                     positions: pd.DataFrame | None = None,
                     statics: pd.DataFrame | None = None, partitions=None) -> pd.DataFrame:
    """``alerts`` plus a ``watchlist`` alert per match, with the list name appended to the
    ``summary`` of the matched vessels' other alerts; sorted by (mmsi, start_utc).
    ``partitions``: as :func:`match_watchlists`."""
    if alerts is None or not len(alerts.columns):
        alerts = pd.DataFrame({c: pd.Series([], dtype=object) for c in ALERT_COLUMNS})
    matches = match_watchlists(watchlists, positions=positions, statics=statics,
                               partitions=partitions)
    if not len(matches):
        return alerts
    tags: dict[int, list[str]] = {}
    for m in matches.to_dict("records"):
        how = {"imo": "IMO", "mmsi": "MMSI", "name": "name only, weak"}[m["matched_by"]]
        tag = f"[watchlist: {m['list']} ({how})]"
        if tag not in tags.setdefault(int(m["mmsi"]), []):
            tags[int(m["mmsi"])].append(tag)
    alerts = alerts.copy()
    if len(alerts):
        alerts["summary"] = [
            _tag(s, " ".join(tags.get(int(mm), []))) if int(mm) in tags and k != "watchlist"
            else s for s, mm, k in zip(alerts["summary"], alerts["mmsi"], alerts["kind"])]
    new = watchlist_alerts(matches)
    new = new[~new["alert_id"].isin(set(alerts["alert_id"]))]
    if not len(alerts):
        combined = new
    else:
        combined = pd.concat([alerts.astype({c: object for c in ("imo",) if c in alerts}),
                              new.astype({"imo": object})], ignore_index=True)
        imo = pd.to_numeric(combined["imo"], errors="coerce")
        if bool(((imo % 1 == 0) | imo.isna()).all()):
            combined["imo"] = pd.array([None if pd.isna(x) else int(x) for x in imo],
                                       dtype="Int64")
        for c in ("start_utc", "end_utc"):
            combined[c] = pd.to_datetime(combined[c], utc=True)
    return combined.sort_values(["mmsi", "start_utc", "kind", "alert_id"], kind="mergesort",
                                na_position="last").reset_index(drop=True)
