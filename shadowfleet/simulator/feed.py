"""Simulated AIS feeds with known truth (``shadowfleet simulate``).

``simulate(scenario, seed)`` builds the scenario's vessels
(:mod:`shadowfleet.simulator.scenarios`), lets each transmit as the AIS standard says
and the two fictional stations receive as the radio model says
(:mod:`shadowfleet.simulator.radio`), and returns the NMEA lines (tag blocks ``s:``/``c:``
with valid checksums, receive-time order, duplicates from overlapping stations, type 5
in two fragments, a few corrupt lines) together with what was received.
:func:`shadowfleet.simulator.truth.build_truth` turns the vessels' true movements and
silences into the truth file. Everything derives from the seed: the same (scenario,
seed) gives the same bytes.

``simulate(..., nmea=False)`` skips encoding the position reports (most of the time a
simulation takes) and gives only the frames a decoder would read: the accuracy tests
and ``tools/accuracy.py`` run the detectors on those. The random draws are the same
either way, so both modes simulate the same world.

The feed opens with ``#`` comment lines saying it is simulated and fictional.
"""

from __future__ import annotations

import dataclasses
import gzip
import io
import os
from pathlib import Path

import numpy as np
import pandas as pd

import ais
from ais.encode import checksum
from ais.schema import POSITION_COLUMNS, STATIC_COLUMNS
from shadowfleet.simulator.encoding import (decoded_positions, position_sentences, reframe,
                                            static_sentences, station_line)
from shadowfleet.simulator.radio import (RadioParams, moored_mask, receive, receptions,
                                         static_times, transmissions, voyage_eta)
from shadowfleet.simulator.scenarios import SCENARIOS, build
from shadowfleet.simulator.vessels import Vessel
from shadowfleet.simulator.world import STATIONS

__all__ = ["SCENARIOS", "Simulation", "simulate", "write_feed"]

HEADER_NOTE = ("SIMULATED AIS: every vessel, MMSI and IMO in this file is fictional; "
               "this is not a recording of real ships")
FRAMES_SOURCE = "<simulated>"
_STATION_NAMES = np.array([s.name for s in STATIONS], dtype=object)


@dataclasses.dataclass
class Simulation:
    """A simulated feed and what it contains.

    ``lines``: the feed's lines in order (header comments first, no newlines; empty when
    simulated with ``nmea=False``);
    ``received``: one row per distinct position report that reached at least one station,
    sorted by (mmsi, timestamp): the positions frame columns as a decoder gives them
    (timestamp = the earliest receive time; lat/lon NaN for a report whose position
    was withheld) plus ``copies`` (stations that received it), ``sent_s`` (when it
    was sent, epoch seconds) and ``vessel`` (the index in ``vessels`` of the hull that
    sent it: two hulls may send one MMSI);
    ``statics``: the static reports as ``ais`` decodes them from the feed's lines;
    ``corrupt``: [{line, kind, text}] for the deliberately corrupt lines (1-based);
    ``outages``: ((station, start s, end s), ...).
    """

    scenario: str
    seed: int
    vessels: list[Vessel]
    lines: list[str]
    received: pd.DataFrame
    statics: pd.DataFrame
    corrupt: list[dict]
    outages: tuple
    header_lines: int

    @property
    def start(self) -> pd.Timestamp:
        return self.received["timestamp"].min()

    @property
    def end(self) -> pd.Timestamp:
        return self.received["timestamp"].max()

    def decoded(self) -> ais.Decoded:
        """What reading the feed gives, as an ``ais.Decoded`` (positions and statics;
        source ``<simulated>``, line 0; no rejects): the input of
        ``shadowfleet.pipeline.analyse`` without the NMEA round trip."""
        positions = self.received[list(POSITION_COLUMNS)]
        decoded = ais.Decoded(positions, self.statics[list(STATIC_COLUMNS)])
        decoded.stats["messages"] = int(len(positions) + len(self.statics))
        return decoded


def _vessel_positions(v: Vessel, vi: int, tx: dict, sel: np.ndarray, first_rx: np.ndarray,
                      n_copies: np.ndarray, msg_type: np.ndarray) -> pd.DataFrame:
    q = decoded_positions(tx["lat"][sel], tx["lon"][sel], tx["sog"][sel], tx["cog"][sel],
                          tx["heading"][sel], tx["available"][sel], v.ais_class == "B")
    return pd.DataFrame({
        "mmsi": np.full(len(sel), v.mmsi, dtype=np.int64), "t": first_rx[sel], **q,
        "msg_type": msg_type[sel].astype(np.int64), "source": FRAMES_SOURCE,
        "line": np.zeros(len(sel), dtype=np.int64), "copies": n_copies[sel],
        "sent_s": tx["t"][sel], "vessel": np.full(len(sel), vi, dtype=np.int64)})


def simulate(scenario: str, seed: int, *, radio: RadioParams | None = None,
             nmea: bool = True) -> Simulation:
    """Simulate ``scenario`` (one of ``SCENARIOS``) from ``seed``; ``nmea`` False leaves
    the position reports unencoded (``lines`` empty, the frames the same)."""
    vessels, outages = build(scenario, seed)
    radio = radio or RadioParams(outages=outages)
    if not radio.outages:
        radio = dataclasses.replace(radio, outages=outages)
    rng = np.random.default_rng([seed, 1])
    # rows: (t_rx, station, order, text); order keeps fragments and creation order stable
    rows: list[tuple[int, int, int, str]] = []
    # (earliest receive time, the station that received it then, encoding key)
    static_reports: list[tuple[int, int, tuple]] = []
    # one encoding per (vessel, identity version, voyage ETA, part) ...
    encoded: dict[tuple, list[str]] = {}
    framed: dict[tuple, list[str]] = {}     # ... and per (sequence id, channel)
    received = []
    order = 0
    for vi, v in enumerate(vessels):
        p_full = radio.class_a_p_full if v.ais_class == "A" else radio.class_b_p_full
        tx = transmissions(v, rng)
        masks = receive(tx["t"], tx["lat"], tx["lon"], p_full, moored_mask(v, tx["t"]), radio, rng)
        copies = receptions(masks, tx["t"], rng)
        any_rx = np.zeros(len(tx["t"]), dtype=bool)
        first_rx = np.full(len(tx["t"]), np.iinfo(np.int64).max)
        first_k = np.zeros(len(tx["t"]), dtype=np.int64)     # the station of that copy
        n_copies = np.zeros(len(tx["t"]), dtype=np.int64)
        for k, idx, t_rx in copies:
            any_rx[idx] = True
            first_k[idx[t_rx < first_rx[idx]]] = k
            first_rx[idx] = np.minimum(first_rx[idx], t_rx)
            n_copies[idx] += 1
        sel = np.flatnonzero(any_rx)
        msg_type = np.where(rng.random(len(tx["t"])) < 0.08, 3, 1) if v.ais_class == "A" \
            else np.full(len(tx["t"]), 18)
        channel = np.where(rng.random(len(tx["t"])) < 0.5, "A", "B")
        if nmea:
            text = {i: position_sentences(v, tx["t"][i], tx["lat"][i], tx["lon"][i],
                                          tx["sog"][i], tx["cog"][i], tx["heading"][i],
                                          int(tx["status"][i]), int(msg_type[i]),
                                          str(channel[i]), bool(tx["available"][i]))
                    for i in sel}
            for k, idx, t_rx in copies:
                for i, tr in zip(idx, t_rx):
                    for s in text[i]:
                        rows.append((int(tr), k, order, station_line(STATIONS[k].name, tr, s)))
                        order += 1
        received.append(_vessel_positions(v, vi, tx, sel, first_rx, n_copies, msg_type)
                        .assign(station=_STATION_NAMES[first_k[sel]]))
        # static data: type 5 (two fragments) or type 24 parts A and B
        ts, la, lo = static_times(v, rng)
        masks = receive(ts, la, lo, p_full, moored_mask(v, ts), radio, rng)
        etas = voyage_eta(v, ts)
        version = v.identity_version(ts)      # a renamed vessel's reports change
        s_channel = np.where(rng.random(len(ts)) < 0.5, "A", "B")
        parts = (False,) if v.ais_class == "A" else (False, True)
        first = np.full(len(ts), np.iinfo(np.int64).max)    # earliest receive time
        first_ks = np.zeros(len(ts), dtype=np.int64)
        for k, idx, t_rx in receptions(masks, ts, rng):
            first_ks[idx[t_rx < first[idx]]] = k
            first[idx] = np.minimum(first[idx], t_rx)
            if not nmea:
                continue
            for i, tr in zip(idx, t_rx):
                for part_b in parts:
                    key = (vi, int(version[i]), float(etas[i]), part_b)
                    if key not in encoded:
                        encoded[key] = static_sentences(v.identity_at(key[1]), etas[i], part_b)
                    fkey = key + (int(i) % 10, str(s_channel[i]))
                    if fkey not in framed:
                        framed[fkey] = [reframe(s, fkey[4], fkey[5]) for s in encoded[key]]
                    for s in framed[fkey]:
                        rows.append((int(tr), k, order, station_line(STATIONS[k].name, tr, s)))
                        order += 1
        got = np.flatnonzero(first < np.iinfo(np.int64).max)
        for ver, eta in sorted(set(zip(version[got].tolist(), etas[got].tolist()))):
            for part_b in parts:
                key = (vi, int(ver), float(eta), part_b)
                if key not in encoded:
                    encoded[key] = static_sentences(v.identity_at(int(ver)), eta, part_b)
        static_reports.extend((int(first[i]), int(first_ks[i]),
                               (vi, int(version[i]), float(etas[i]), part_b))
                              for i in got for part_b in parts)
    statics = _decode_statics(encoded, static_reports)
    rows.sort(key=lambda r: (r[0], r[1], r[2]))
    header = [f"# shadowfleet simulated feed: scenario {scenario}, seed {seed}",
              f"# {HEADER_NOTE}",
              "# stations: " + ", ".join(s.name for s in STATIONS)
              + "; tag blocks: s: station, c: receive time (epoch seconds)"]
    corrupt: list[dict] = []
    lines: list[str] = []
    if nmea:
        body, corrupt_at = _corrupt([r[3] for r in rows], rng)
        lines = header + body
        corrupt = [dict(line=len(header) + i + 1, kind=kind, text=body[i])
                   for i, kind in corrupt_at]
    rec = pd.concat(received, ignore_index=True)
    rec["timestamp"] = pd.to_datetime(rec.pop("t"), unit="s", utc=True).astype("datetime64[ns, UTC]")
    # reports of one MMSI and receive second in the order ais gives them: by the station of
    # the copy it keeps (its tag block's s:), then by line, i.e. vessel and creation order
    # (two hulls may send one MMSI in the same second)
    rec = rec.sort_values(["mmsi", "timestamp", "station"], kind="mergesort").reset_index(drop=True)
    rec = rec[list(POSITION_COLUMNS) + ["copies", "sent_s", "vessel"]]
    return Simulation(scenario, seed, vessels, lines, rec, statics, corrupt, radio.outages,
                      len(header))


def _decode_statics(encoded: dict[tuple, list[str]],
                    reports: list[tuple[int, int, tuple]]) -> pd.DataFrame:
    """The static reports as ``ais`` decodes them from the feed: each distinct encoding
    decoded once by ``ais`` (no second reading of the bits here), one row per report
    received by any station, its time the earliest receive time (the decoder keeps the
    first copy and drops the other station's as a duplicate); source ``<simulated>``,
    line 0, sorted by (mmsi, timestamp) and then as ``ais`` orders them (the station of the
    copy kept, then the line: the order they were made in, part A before part B)."""
    keys = list(encoded)
    if not keys or not reports:
        return ais.Decoded().statics
    # each encoding once, a day apart so none is another's duplicate
    base = 1_500_000_000
    lines = [station_line("SIM", base + 86400 * j, s) for j, key in enumerate(keys)
             for s in encoded[key]]
    decoder = ais.IncrementalDecoder()
    decoded = ais.Decoded.merge([decoder.feed(FRAMES_SOURCE, ("\n".join(lines) + "\n")
                                              .encode("ascii"), final=True),
                                 decoder.finish()])
    one = decoded.statics
    index = ((one["timestamp"].astype("int64") // 10**9 - base) // 86400).to_numpy()
    if len(one) != len(keys) or sorted(index) != list(range(len(keys))):
        raise RuntimeError("a simulated static report did not decode")
    by_key = np.empty(len(keys), dtype=np.int64)
    by_key[index] = np.arange(len(one))
    position = {key: j for j, key in enumerate(keys)}
    take = by_key[[position[key] for _, _, key in reports]]
    statics = one.iloc[take].reset_index(drop=True)
    statics["timestamp"] = pd.to_datetime(np.array([t for t, _, _ in reports]), unit="s",
                                          utc=True).astype("datetime64[ns, UTC]")
    statics["source"] = FRAMES_SOURCE
    statics["line"] = 0
    statics["_station"] = _STATION_NAMES[np.array([k for _, k, _ in reports], dtype=np.int64)]
    return statics.sort_values(["mmsi", "timestamp", "_station"], kind="mergesort") \
        .drop(columns="_station").reset_index(drop=True)


_ARMOUR = "0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVW`abcdefghijklmnopqrstuvw"


def _corrupt(body: list[str], rng) -> tuple[list[str], list[tuple[int, str]]]:
    """Insert a few damaged extra copies of single-sentence lines (and noise lines).

    Each is an additional line, so no received message is lost: ``bad_checksum`` (one
    payload character changed, checksum kept), ``truncated`` (cut short),
    ``bad_payload`` (a character outside the AIS 6-bit armour, checksum recomputed so
    only the payload is wrong) and ``garbage`` (line noise).
    """
    kinds = ("bad_checksum", "truncated", "bad_payload", "garbage")
    n = int(rng.integers(6, 13))
    targets = sorted(int(x) for x in rng.choice(len(body), n, replace=False))
    out: list[str] = []
    marks: list[tuple[int, str]] = []
    j = 0
    for i, line in enumerate(body):
        out.append(line)
        if j < len(targets) and targets[j] == i:
            kind = kinds[j % len(kinds)]
            j += 1
            tag, _, sentence = line.rpartition("\\")
            tag += "\\"
            if sentence.split(",")[1:3] != ["1", "1"]:
                kind = "garbage"    # only single-sentence lines are damaged
            fields = sentence.split(",")
            head, payload, tail = fields[:5], fields[5], fields[6]
            if kind == "bad_checksum":
                k = int(rng.integers(0, len(payload)))
                repl = _ARMOUR[(_ARMOUR.index(payload[k]) + 1) % len(_ARMOUR)]
                bad = tag + ",".join(head + [payload[:k] + repl + payload[k + 1:], tail])
            elif kind == "truncated":
                bad = line[: len(tag) + int(rng.integers(8, len(sentence) - 6))]
            elif kind == "bad_payload":
                k = int(rng.integers(0, len(payload)))
                s = ",".join(head + [payload[:k] + "|" + payload[k + 1:], tail.split("*")[0]])
                bad = tag + s + "*" + checksum(s[1:])
            else:
                noise = "".join(chr(int(c)) for c in rng.integers(33, 127, int(rng.integers(10, 60))))
                bad = noise.replace("\\", "/").replace("!", "?").lstrip("#$")
            marks.append((len(out), kind))
            out.append(bad)
    return out, marks


def write_feed(sim: Simulation, path: str | Path) -> Path:
    """Write the feed as text, gzip-compressed when ``path`` ends in ``.gz`` (with a
    fixed gzip mtime so the bytes depend on the seed only)."""
    path = Path(path)
    data = ("\n".join(sim.lines) + "\n").encode("ascii")
    if path.suffix == ".gz":
        buf = io.BytesIO()
        with gzip.GzipFile(filename="", mode="wb", fileobj=buf, mtime=0, compresslevel=9) as gz:
            gz.write(data)
        data = buf.getvalue()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)
    return path
