"""timeline.png: one row per vessel over the whole data span.

Port visits are bars coloured by port; possible port calls (inferred during a dark
period) are outlined bars in the port's colour; dark periods are grey hatched spans
(open ones run to the end of the data); each claim's window is a shaded band labelled
with the claim id. The behaviour at sea lies on the same rows: loitering as thin black
bars, stays at an unlisted stop as thin magenta bars, and each encounter as a red
outline on both vessels' rows joined by a red line, so who met whom reads across. Rendered with matplotlib's Agg backend (no display needed). Made from
simulated data, the title starts with "SIMULATED DATA" (and the PNG's Title metadata
says so too; :mod:`shadowfleet.provenance`).
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.dates as mdates  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402

from shadowfleet.outputs._figures import (DARK_COLOUR, data_of, port_colours,  # noqa: E402
                                          position_counts, position_span, position_times, table,
                                          utc, vessel_label, vessel_names)
from shadowfleet.outputs.files import atomic_path  # noqa: E402
from shadowfleet.provenance import SIMULATED, title  # noqa: E402

MAX_ROWS = 40
TIMELINE_TITLE = "Port visits, possible port calls, dark periods and behaviour at sea by vessel"
# none of them a port's colour (shadowfleet.outputs._figures.PORT_COLOURS)
ENCOUNTER_COLOUR, LOITER_COLOUR, STOP_COLOUR = "#C62828", "#111111", "#D500F9"
CLAIM_COLOURS = ("#fdd835", "#80cbc4", "#ce93d8", "#ffab91", "#a5d6a7", "#90caf9")


def _behaviour_events(result) -> dict[int, int]:
    """Encounters (both sides), loitering and stays at unlisted stops per vessel."""
    out: dict[int, int] = {}
    frames = [(table(result, "encounters"), ("mmsi_1", "mmsi_2")),
              (table(result, "loitering"), ("mmsi",)), (_stop_stays(result), ("mmsi",))]
    for df, cols in frames:
        for col in cols:
            for m in df.get(col, []):
                out[int(m)] = out.get(int(m), 0) + 1
    return out


def _stop_stays(result) -> pd.DataFrame:
    stays = table(result, "stays")
    if not len(stays) or "stop_id" not in stays:
        return stays
    return stays[stays["stop_id"].fillna("").astype(str) != ""]


def _rows(result) -> list[int]:
    """Vessels to draw, most relevant first: with possible calls, then by dark hours,
    then by behaviour at sea (encounters, loitering, stays at unlisted stops), then by
    number of visits; at most ``MAX_ROWS``."""
    mmsis = set(int(m) for m in position_counts(result).index)
    for attr in ("port_visits", "dark_periods"):
        df = table(result, attr)
        if "mmsi" in df:
            mmsis |= set(int(m) for m in df["mmsi"].unique())
    behaviour = _behaviour_events(result)
    mmsis |= set(behaviour)
    score = {m: [0, 0.0, 0, behaviour.get(m, 0)] for m in mmsis}
    calls = table(result, "possible_calls")
    for m in calls.get("mmsi", []):
        score[int(m)][0] += 1
    gaps = table(result, "dark_periods")
    if len(gaps):
        for m, h in zip(gaps["mmsi"], pd.to_numeric(gaps.get("hours"), errors="coerce").fillna(0)):
            score[int(m)][1] += float(h)
    for m in table(result, "port_visits").get("mmsi", []):
        score[int(m)][2] += 1
    order = sorted(mmsis, key=lambda m: (-score[m][0], -score[m][1], -score[m][3],
                                         -score[m][2], m))
    return order[:MAX_ROWS]


def _span(result) -> tuple[pd.Timestamp, pd.Timestamp]:
    times = []
    span = position_span(result)
    if span is not None:
        times += list(span)
    for attr, cols in (("port_visits", ("arrival_utc", "departure_utc")),
                       ("dark_periods", ("start_utc", "end_utc"))):
        df = table(result, attr)
        for c in cols:
            if c in df and len(df):
                ts = utc(df[c]).dropna()
                if len(ts):
                    times += [ts.min(), ts.max()]
    if not times:
        now = pd.Timestamp("2023-01-01", tz="UTC")
        return now, now + pd.Timedelta(days=1)
    return min(times), max(times)


def _bars(starts, ends):
    x0 = mdates.date2num(starts.dt.tz_convert(None).to_numpy())
    x1 = mdates.date2num(ends.dt.tz_convert(None).to_numpy())
    return [(a, max(b - a, 1e-3)) for a, b in zip(x0, x1)]


def claim_windows(claims: pd.DataFrame, t0: pd.Timestamp, t1: pd.Timestamp):
    """({(start, end): [claim ids]} of the windows overlapping [t0, t1], [ids outside]).
    A window runs from its first day 00:00Z to the end of its last day (DESIGN.md,
    "In a claim's window"); claims with the same window share one band; untestable claims
    get none."""
    windows: dict[tuple, list[str]] = {}
    outside: list[str] = []
    if not len(claims) or not {"window_start", "window_end"} <= set(claims.columns):
        return windows, outside
    ids = claims["claim_id"] if "claim_id" in claims else pd.Series(range(len(claims)))
    verdicts = claims["verdict"] if "verdict" in claims else pd.Series([""] * len(claims))
    for cid, ws, we, verdict in zip(ids, utc(claims["window_start"]), utc(claims["window_end"]),
                                    verdicts):
        if pd.isna(ws) or pd.isna(we) or verdict == "untestable":
            continue    # no window, or nothing AIS could show in it
        we = we.normalize() + pd.Timedelta(days=1)
        if we < t0 or ws > t1:
            outside.append(str(cid))
        else:
            windows.setdefault((ws, we), []).append(str(cid))
    return windows, outside


def _draw(ax, y_of, mmsis, starts, ends, height, style) -> None:
    """One ``broken_barh`` per vessel row for the spans [starts, ends] (NaT skipped)."""
    frame = pd.DataFrame({"mmsi": pd.Series(mmsis).astype("int64").reset_index(drop=True),
                          "a": utc(starts).reset_index(drop=True),
                          "b": utc(ends).reset_index(drop=True)}).dropna()
    frame = frame[frame["mmsi"].isin(list(y_of))]       # the vessels drawn, in their order
    for mmsi, rows in frame.groupby("mmsi"):
        if int(mmsi) in y_of:
            ax.broken_barh(_bars(utc(rows["a"]), utc(rows["b"])),
                           (y_of[int(mmsi)] - height / 2, height), **style)


def _draw_behaviour(ax, y_of, result) -> set[str]:
    """Loitering, stays at unlisted stops and encounters on the vessels' rows (module
    docstring); returns the kinds drawn (for the legend). Artists carry the kind as
    their ``gid``."""
    drawn: set[str] = set()
    # a stay at an unlisted stop may be loitering too: the thinner loitering bar on top
    stays = _stop_stays(result)
    if len(stays) and stays["mmsi"].astype("int64").isin(list(y_of)).any():
        _draw(ax, y_of, stays["mmsi"], utc(stays["start_utc"]), utc(stays["end_utc"]), 0.34,
              dict(facecolors=STOP_COLOUR, edgecolors="none", zorder=5, gid="unlisted_stop"))
        drawn.add("unlisted_stop")
    loitering = table(result, "loitering")
    if len(loitering) and loitering["mmsi"].astype("int64").isin(list(y_of)).any():
        _draw(ax, y_of, loitering["mmsi"], utc(loitering["start_utc"]), utc(loitering["end_utc"]),
              0.16, dict(facecolors=LOITER_COLOUR, edgecolors="none", zorder=5.5,
                         gid="loitering"))
        drawn.add("loitering")
    enc = table(result, "encounters")
    if len(enc):
        start, end = utc(enc["start_utc"]), utc(enc["end_utc"])
        for side in ("mmsi_1", "mmsi_2"):
            if enc[side].astype("int64").isin(list(y_of)).any():
                _draw(ax, y_of, enc[side], start, end, 0.84,
                      dict(facecolors="none", edgecolors=ENCOUNTER_COLOUR, linewidth=1.4,
                           zorder=6, gid="encounter"))
                drawn.add("encounter")
        for a, b, t in zip(enc["mmsi_1"], enc["mmsi_2"], start):
            if int(a) in y_of and int(b) in y_of and not pd.isna(t):
                x = mdates.date2num(t.tz_convert(None))
                ax.plot([x, x], [y_of[int(a)], y_of[int(b)]], color=ENCOUNTER_COLOUR, lw=0.9,
                        zorder=6, gid="encounter_link")
    return drawn


def write_timeline(result, path: str | Path) -> Path:
    """Draw the timeline of ``result`` (any object with the Result DataFrames) to ``path``."""
    fig = draw_timeline(result)
    path = Path(path)
    try:
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format="png", bbox_inches="tight", pad_inches=0.2,
                        metadata={"Title": fig.axes[0].get_title()})
    finally:
        plt.close(fig)
    return path


def draw_timeline(result):
    """The timeline of ``result`` as a matplotlib Figure (the caller closes it)."""
    names = vessel_names(result)
    rows = _rows(result)
    colours = port_colours(result)
    t0, t1 = _span(result)
    height = 2.2 + 0.42 * max(len(rows), 1)
    fig, ax = plt.subplots(figsize=(14, height), dpi=110)
    y_of = {m: i for i, m in enumerate(rows)}
    seen = position_times(result, list(y_of))
    if len(seen):
        for m, (a, b) in seen.iterrows():
            if int(m) in y_of:
                x = mdates.date2num([utc([a]).iloc[0].tz_convert(None), utc([b]).iloc[0].tz_convert(None)])
                ax.plot(x, [y_of[int(m)]] * 2, color="#bbbbbb", lw=0.8, zorder=1)

    gaps = table(result, "dark_periods")
    if len(gaps):
        _draw(ax, y_of, gaps["mmsi"], utc(gaps["start_utc"]), utc(gaps["end_utc"]).fillna(t1),
              0.84, dict(facecolors="#d9d9d9", edgecolors=DARK_COLOUR, hatch="////",
                         linewidth=0.4, zorder=2))

    visits = table(result, "port_visits")
    if len(visits):
        ports = visits["port"].astype(str)
        for port in ports.unique():
            m = (ports == port).to_numpy()
            _draw(ax, y_of, visits["mmsi"][m], utc(visits["arrival_utc"][m]),
                  utc(visits["departure_utc"][m]), 0.6,
                  dict(facecolors=colours.get(port, "#999999"), edgecolors="none", zorder=3))

    calls = table(result, "possible_calls")
    if len(calls):
        ports = calls["port"].astype(str)
        for port in ports.unique():
            m = (ports == port).to_numpy()
            _draw(ax, y_of, calls["mmsi"][m], utc(calls["start_utc"][m]),
                  utc(calls["end_utc"][m]), 0.4,
                  dict(facecolors="white", edgecolors=colours.get(port, "#999999"),
                       linewidth=1.6, linestyle="--", zorder=4))

    shown_behaviour = _draw_behaviour(ax, y_of, result)

    windows, outside = claim_windows(table(result, "claims"), t0, t1)
    n_bands = 0
    if windows:
        # one labelled band per window above the first vessel row (the y axis is inverted:
        # smaller y is higher), its edges carried down through the rows as dotted lines
        for k, ((ws, we), ids) in enumerate(sorted(windows.items())):
            colour = CLAIM_COLOURS[k % len(CLAIM_COLOURS)]
            x0, x1 = mdates.date2num([ws.tz_convert(None), we.tz_convert(None)])
            y = -1.0 - 0.62 * k
            ax.plot([x0, x1], [y, y], color=colour, lw=9, solid_capstyle="butt", zorder=5)
            ax.text(max(x0, mdates.date2num(t0.tz_convert(None))), y,
                    f" claim window: {', '.join(ids)}", fontsize=7, va="center", ha="left", zorder=6)
            for x in (x0, x1):
                ax.axvline(x, color=colour, lw=1.2, ls=":", zorder=1)
        n_bands = len(windows)
    if n_bands:
        ax.set_ylim(-1.5 - 0.62 * n_bands, len(rows) - 0.2)
    else:
        ax.set_ylim(-0.8, len(rows) - 0.2)
    if outside:
        ax.text(0.0, -0.11, "claims whose window lies outside these data: " + ", ".join(outside),
                transform=ax.transAxes, fontsize=7.5, color="#555555", va="top")

    ax.set_yticks(range(len(rows)))
    ax.set_yticklabels([vessel_label(m, names) for m in rows], fontsize=8)
    ax.invert_yaxis()   # first row at the top
    ax.set_xlim(mdates.date2num([t0.tz_convert(None), t1.tz_convert(None)]))
    ax.xaxis.set_major_locator(mdates.AutoDateLocator(minticks=6, maxticks=14))
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%d %b\n%Y"))
    ax.grid(axis="x", color="#eeeeee", zorder=0)
    ax.set_xlabel("UTC")
    data = data_of(result)
    ax.set_title(title(TIMELINE_TITLE, data), fontsize=11,
                 color="#b71c1c" if data == SIMULATED else "black",
                 fontweight="bold" if data == SIMULATED else "normal")
    shown = set(visits.get("port", pd.Series([], dtype=object)).astype(str)) | \
        set(calls.get("port", pd.Series([], dtype=object)).astype(str))
    used_ports = [p for p in colours if p in shown]      # registry order
    handles = [Patch(facecolor=colours.get(p, "#999999"), label=f"visit: {p}") for p in used_ports]
    handles += [Patch(facecolor="white", edgecolor="#555555", linestyle="--", linewidth=1.4,
                      label="possible port call (inferred)"),
                Patch(facecolor="#d9d9d9", edgecolor=DARK_COLOUR, hatch="////",
                      label="dark period (no AIS received)")]
    legend = {"encounter": Patch(facecolor="white", edgecolor=ENCOUNTER_COLOUR, linewidth=1.4,
                                 label="encounter at sea (line joins the two vessels)"),
              "loitering": Patch(facecolor=LOITER_COLOUR, label="loitering at sea"),
              "unlisted_stop": Patch(facecolor=STOP_COLOUR, label="stay at an unlisted stop")}
    handles += [legend[k] for k in legend if k in shown_behaviour]
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8,
              frameon=False)
    if not rows:
        ax.text(0.5, 0.5, "no vessels", transform=ax.transAxes, ha="center", va="center")
    return fig


__all__ = ["write_timeline", "draw_timeline"]
