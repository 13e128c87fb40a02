"""Small NMEA feeds with tag-block receive times for the job / watch / replay tests.

``scenario_lines(seed)`` builds two and a half days around Najin and Dunay (polygons of
REFERENCE.md) with every event kind a scheduled run must carry across files and runs:

- 273000001 ANGARA: Najin -> (dark 9 h) -> Dunay -> (dark 8 h) -> Najin: port visits, dark
  periods with possible port calls, a round trip;
- 273000002 MARIA: at Dunay, then silent for 14 h in the middle of the data (a dark period
  that is open in the runs that end inside it and closes later), then at sea;
- 273000003: regular track at sea with one position 300 nm away (a spoofing jump);
- 273000004: at sea, each report received twice by two receivers within 2 s (duplicates);
- type 5 statics (two fragments each; :func:`slice_lines` puts a slice boundary between
  the fragments of the third one, so its assembly must carry across files and runs).

Positions every 10 minutes; lines in receive-time order. Deterministic for a seed.
"""

from __future__ import annotations

import functools
import math

import numpy as np
import pyais

T0 = 1694044800            # 2023-09-07T00:00:00Z
NAJIN = (42.235, 130.305)
DUNAY = (42.885, 132.355)
SEA = (42.55, 131.30)


def _checksum(text: str) -> str:
    value = 0
    for ch in text.encode():
        value ^= ch
    return f"{value:02X}"


def tagged(sentence: str, t: float, receiver: str = "r1") -> str:
    body = f"c:{int(t)},s:{receiver}"
    return f"\\{body}*{_checksum(body)}\\{sentence}"


@functools.lru_cache(maxsize=None)
def _position_sentence(mmsi: int, lat: float, lon: float, sog: float, cog: float) -> str:
    return pyais.encode_dict({"type": 1, "mmsi": mmsi, "lat": lat, "lon": lon, "speed": sog,
                              "course": cog, "heading": int(cog) % 360, "status": 0},
                             talker_id="AI", sentence_type="VDM")[0]


def _static_sentences(mmsi: int, imo: int, name: str, seq: int) -> list[str]:
    return pyais.encode_dict({"type": 5, "mmsi": mmsi, "imo": imo, "shipname": name,
                              "callsign": "UBRH7", "ship_type": 70, "to_bow": 60,
                              "to_stern": 40, "to_port": 8, "to_starboard": 8,
                              "draught": 6.5, "destination": "VLADIVOSTOK"},
                             talker_id="AI", sentence_type="VDM", seq_id=seq)


def _interp(a, b, f):
    return (a[0] + (b[0] - a[0]) * f, a[1] + (b[1] - a[1]) * f)


def _stay(rng, events, mmsi, where, t_start, t_end, step=600, jitter=0.003):
    t = t_start
    while t <= t_end:
        lat = where[0] + rng.uniform(-jitter, jitter)
        lon = where[1] + rng.uniform(-jitter, jitter)
        events.append((t + rng.uniform(0, 30), mmsi, round(lat, 4), round(lon, 4), 0.1, 0.0))
        t += step


def _sail(rng, events, mmsi, a, b, t_start, t_end, step=600):
    n = max(1, int((t_end - t_start) // step))
    cog = (math.degrees(math.atan2(b[1] - a[1], b[0] - a[0])) + 360) % 360
    for i in range(n + 1):
        lat, lon = _interp(a, b, i / n)
        events.append((t_start + i * step + rng.uniform(0, 30), mmsi, round(lat, 4),
                       round(lon, 4), 11.0, round(cog, 1)))


def scenario_lines(seed: int = 0) -> list[str]:
    rng = np.random.default_rng(seed)
    ev: list[tuple] = []
    h = 3600
    # ANGARA: Najin 0-3 h, sail 3-5 h, dark 5-14 h, sail 14-16 h, Dunay 16-20 h,
    # sail 20-21 h, dark 21-29 h, sail 29-31 h, Najin 31-35 h, then at sea to the end.
    a = 273000001
    mid1 = _interp(NAJIN, DUNAY, 0.25)
    mid2 = _interp(NAJIN, DUNAY, 0.8)
    _stay(rng, ev, a, NAJIN, T0, T0 + 3 * h)
    _sail(rng, ev, a, NAJIN, mid1, T0 + 3 * h + 600, T0 + 5 * h)
    _sail(rng, ev, a, mid2, DUNAY, T0 + 14 * h, T0 + 16 * h - 600)
    _stay(rng, ev, a, DUNAY, T0 + 16 * h, T0 + 20 * h)
    _sail(rng, ev, a, DUNAY, mid2, T0 + 20 * h + 600, T0 + 21 * h)
    _sail(rng, ev, a, mid1, NAJIN, T0 + 29 * h, T0 + 31 * h - 600)
    _stay(rng, ev, a, NAJIN, T0 + 31 * h, T0 + 35 * h)
    _sail(rng, ev, a, NAJIN, SEA, T0 + 35 * h + 600, T0 + 60 * h)
    # MARIA: Dunay 0-10 h, silent 10-24 h, then sailing to sea to the end.
    m = 273000002
    _stay(rng, ev, m, DUNAY, T0, T0 + 10 * h)
    _sail(rng, ev, m, DUNAY, SEA, T0 + 24 * h, T0 + 60 * h, step=900)
    # 273000003: at sea with one spoofed position.
    s = 273000003
    _sail(rng, ev, s, SEA, (42.0, 131.9), T0, T0 + 60 * h, step=1200)
    k = next(i for i, e in enumerate(ev) if e[1] == s and e[0] > T0 + 30 * h)
    t, _, lat, lon, sog, cog = ev[k]
    ev[k] = (t, s, round(lat + 5.0, 4), lon, sog, cog)
    # 273000004: at sea, every report received by two receivers.
    d = 273000004
    start = len(ev)
    _sail(rng, ev, d, (42.1, 131.0), (42.6, 132.4), T0, T0 + 60 * h, step=1800)
    dup = [(e[0] + rng.uniform(0.2, 2.0),) + e[1:] + ("r2",) for e in ev[start:]]

    lines: list[tuple[float, int, str]] = []
    for order, e in enumerate(ev):
        t, mmsi, lat, lon, sog, cog = e[:6]
        lines.append((t, order, tagged(_position_sentence(mmsi, lat, lon, sog, cog), t)))
    for order, e in enumerate(dup):
        t, mmsi, lat, lon, sog, cog, rx = e
        lines.append((t, 10**6 + order, tagged(_position_sentence(mmsi, lat, lon, sog, cog), t, rx)))
    statics = [(273000001, 9179842, "ANGARA", T0 + 1800, 0),
               (273000002, 8517839, "MARIA", T0 + 2400, 0),
               (273000001, 9179842, "ANGARA", T0 + 30 * h, 20)]   # a slice can split these
    for seq, (mmsi, imo, name, t, spread) in enumerate(statics, start=1):
        first, second = _static_sentences(mmsi, imo, name, seq)
        lines.append((t, 2 * 10**6 + 2 * seq, tagged(first, t)))
        lines.append((t + spread + 1, 2 * 10**6 + 2 * seq + 1, tagged(second, t + spread + 1)))
    lines.sort()
    return [text for _, _, text in lines]


def write_feed(path, lines: list[str]) -> None:
    with open(path, "w", encoding="ascii", newline="\n") as fh:
        for line in lines:
            fh.write(line + "\r\n")


def slice_lines(lines: list[str], n: int) -> list[list[str]]:
    """``n`` consecutive slices of about equal length, one boundary moved to fall between
    the two fragments of the third type 5 message."""
    bounds = np.linspace(0, len(lines), n + 1).round().astype(int)
    split = next((i + 1 for i, line in enumerate(lines) if "!AIVDM,2,1,3," in line), None)
    if split is not None and n > 1:
        k = int(np.argmin(np.abs(bounds[1:-1] - split))) + 1
        bounds[k] = split
        bounds = np.sort(bounds)
    return [lines[bounds[i]:bounds[i + 1]] for i in range(n)]


# ---------------------------------------------------------------- running the CLI for real

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def cli_command(*args: str) -> list[str]:
    """The command line of ``shadowfleet ARGS...`` run from this checkout (the command's
    entry point, ``shadowfleet.__main__``, as the installed script runs it)."""
    return [sys.executable, "-m", "shadowfleet", *map(str, args)]


def cli_env() -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def run_cli(*args: str, timeout: float = 120, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(cli_command(*args), cwd=REPO, env=cli_env(), capture_output=True,
                          timeout=timeout, **kwargs)
