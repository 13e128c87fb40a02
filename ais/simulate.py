"""Simulated AIS feeds with known truth (``shadowfleet simulate``).

``simulate(scenario, seed)`` builds the scenario's vessels (``ais.sim_scenarios``), lets
each transmit as the AIS standard says and the two fictional stations receive as the
radio model says (``ais.sim_radio``), and returns the NMEA lines (tag blocks ``s:``/``c:``
with valid checksums, receive-time order, duplicates from overlapping stations, type 5
in two fragments, a few corrupt lines) together with what was received.
``ais.sim_truth.build_truth`` turns that into the truth file. Everything derives from
the seed: the same (scenario, seed) gives the same bytes.

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

from ais.sim_radio import (RadioParams, Vessel, moored_mask, nmea_checksum, position_sentences,
                           quantise_deg, receive, reframe, static_sentences, static_times,
                           tag_block, transmissions, voyage_eta)
from ais.sim_scenarios import SCENARIOS, build
from ais.sim_world import STATIONS

__all__ = ["SCENARIOS", "Simulation", "simulate", "write_feed"]

HEADER_NOTE = ("SIMULATED AIS: every vessel, MMSI and IMO in this file is fictional; "
               "this is not a recording of real ships")


@dataclasses.dataclass
class Simulation:
    """A simulated feed and what it contains.

    ``lines``: the feed's lines in order (header comments first, no newlines);
    ``received``: one row per distinct position report that reached at least one station
    (mmsi, timestamp = the earliest receive time, lat/lon as decoded, msg_type, copies);
    ``corrupt``: [{line, kind, text}] for the deliberately corrupt lines (1-based);
    ``outages``: ((station, start s, end s), ...).
    """

    scenario: str
    seed: int
    vessels: list[Vessel]
    lines: list[str]
    received: pd.DataFrame
    corrupt: list[dict]
    outages: tuple
    header_lines: int

    @property
    def start(self) -> pd.Timestamp:
        return self.received["timestamp"].min()

    @property
    def end(self) -> pd.Timestamp:
        return self.received["timestamp"].max()


def _copies(masks: list[np.ndarray], t: np.ndarray, rng) -> list[tuple[int, np.ndarray]]:
    out = []
    for k, (st, m) in enumerate(zip(STATIONS, masks)):
        idx = np.flatnonzero(m)
        t_rx = np.floor(t[idx] + st.delay_s + (rng.uniform(0, 2, len(idx)) if st.delay_s else 0))
        out.append((k, idx, t_rx.astype(np.int64)))
    return out


def simulate(scenario: str, seed: int, *, radio: RadioParams | None = None) -> Simulation:
    """Simulate ``scenario`` (one of ``SCENARIOS``) from ``seed``."""
    vessels, outages = build(scenario, seed)
    radio = radio or RadioParams(outages=outages)
    if not radio.outages:
        radio = dataclasses.replace(radio, outages=outages)
    rng = np.random.default_rng([seed, 1])
    # rows: (t_rx, station, order, text); order keeps fragments and creation order stable
    rows: list[tuple[int, int, int, str]] = []
    received = []
    order = 0
    for v in vessels:
        p_full = radio.class_a_p_full if v.ais_class == "A" else radio.class_b_p_full
        tx = transmissions(v, rng)
        masks = receive(tx["t"], tx["lat"], tx["lon"], p_full, moored_mask(v, tx["t"]), radio, rng)
        copies = _copies(masks, tx["t"], rng)
        any_rx = np.zeros(len(tx["t"]), dtype=bool)
        first_rx = np.full(len(tx["t"]), np.iinfo(np.int64).max)
        for k, idx, t_rx in copies:
            any_rx[idx] = True
            first_rx[idx] = np.minimum(first_rx[idx], t_rx)
        sel = np.flatnonzero(any_rx)
        msg_type = np.where(rng.random(len(tx["t"])) < 0.08, 3, 1) if v.ais_class == "A" \
            else np.full(len(tx["t"]), 18)
        channel = np.where(rng.random(len(tx["t"])) < 0.5, "A", "B")
        text = {}
        for i in sel:
            text[i] = position_sentences(v, tx["t"][i], tx["lat"][i], tx["lon"][i], tx["sog"][i],
                                         tx["cog"][i], tx["heading"][i], int(tx["status"][i]),
                                         int(msg_type[i]), str(channel[i]))
        n_copies = np.zeros(len(tx["t"]), dtype=np.int64)
        for k, idx, t_rx in copies:
            n_copies[idx] += 1
            for i, tr in zip(idx, t_rx):
                for s in text[i]:
                    rows.append((int(tr), k, order, f"{tag_block(STATIONS[k].name, tr)}{s}"))
                    order += 1
        received.append(pd.DataFrame({
            "mmsi": v.mmsi, "t": first_rx[sel], "lat": quantise_deg(tx["lat"][sel]),
            "lon": quantise_deg(tx["lon"][sel]), "msg_type": msg_type[sel],
            "copies": n_copies[sel]}))
        # static data: type 5 (two fragments) or type 24 parts A and B
        ts, la, lo = static_times(v, rng)
        masks = receive(ts, la, lo, p_full, moored_mask(v, ts), radio, rng)
        etas = voyage_eta(v, ts)
        s_channel = np.where(rng.random(len(ts)) < 0.5, "A", "B")
        encoded: dict[tuple, list[str]] = {}
        for k, idx, t_rx in _copies(masks, ts, rng):
            for i, tr in zip(idx, t_rx):
                for part_b in ((False,) if v.ais_class == "A" else (False, True)):
                    key = (float(etas[i]), part_b)
                    if key not in encoded:
                        encoded[key] = static_sentences(v, etas[i], part_b)
                    for s in encoded[key]:
                        s = reframe(s, int(i) % 10, str(s_channel[i]))
                        rows.append((int(tr), k, order, f"{tag_block(STATIONS[k].name, tr)}{s}"))
                        order += 1
    rows.sort(key=lambda r: (r[0], r[1], r[2]))
    body = [r[3] for r in rows]
    body, corrupt_at = _corrupt(body, rng)
    header = [f"# shadowfleet simulated feed: scenario {scenario}, seed {seed}",
              f"# {HEADER_NOTE}",
              "# stations: " + ", ".join(s.name for s in STATIONS)
              + "; tag blocks: s: station, c: receive time (epoch seconds)"]
    lines = header + body
    corrupt = [dict(line=len(header) + i + 1, kind=kind, text=body[i]) for i, kind in corrupt_at]
    rec = pd.concat(received, ignore_index=True)
    rec["timestamp"] = pd.to_datetime(rec.pop("t"), unit="s", utc=True).astype("datetime64[ns, UTC]")
    rec = rec.sort_values(["mmsi", "timestamp"], kind="mergesort").reset_index(drop=True)
    rec = rec[["mmsi", "timestamp", "lat", "lon", "msg_type", "copies"]]
    return Simulation(scenario, seed, vessels, lines, rec, corrupt, radio.outages, len(header))


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
                bad = tag + s + "*" + nmea_checksum(s[1:])
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


def simulated_note(path: str | Path) -> str | None:
    """The "SIMULATED AIS" note of a feed written by ``write_feed`` (read from its
    first lines; plain or .gz), or None for any other file. The pipeline copies it into
    summary.json so outputs made from a simulated feed say so."""
    path = Path(path)
    try:
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rt", encoding="ascii", errors="replace") as fh:
            for _, line in zip(range(5), fh):
                if line.startswith("# SIMULATED AIS"):
                    return line[2:].strip()
    except (OSError, EOFError, gzip.BadGzipFile):
        return None
    return None
