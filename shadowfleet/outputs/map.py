"""map.html: an interactive folium (Leaflet) map of one run.

Layers (each can be switched off):
- port polygons of the registry, labelled;
- each vessel's track, one colour per vessel, broken wherever the vessel was dark (no
  line is drawn across a dark period as if it had been observed);
- dark periods as dashed straight lines from the last fix before to the first fix after
  (an open dark period is a ring at its last fix);
- legs (consecutive calls at different ports): schematic arcs between the port polygons,
  solid when observed, dotted when a possible port call makes them inferred.

The page's title is "shadowfleet map"; made from simulated data it is "SIMULATED DATA:
shadowfleet map", and a banner across the top of the map says so too
(:mod:`shadowfleet.provenance`).

Every text that came from the air (vessel names) or from user files (port names) is
HTML-escaped before it reaches a popup, tooltip or the legend, with backtick, ``$`` and
backslash encoded too (folium renders popups inside JavaScript template literals): AIS
names are free text.
Tracks are simplified (Douglas-Peucker) to at most ``MAX_POINTS_PER_SEGMENT`` points per
segment so the file stays small.
"""

from __future__ import annotations

import html
from pathlib import Path

import folium
import numpy as np
import pandas as pd
import shapely

from shadowfleet.outputs._figures import (DARK_COLOUR, VESSEL_COLOURS, data_of, epoch_seconds,
                                          gap_hours, port_colours, table, utc, vessel_label,
                                          vessel_names)
from shadowfleet.provenance import SIMULATED, title
from shadowfleet.outputs.files import atomic_write_text

MAX_POINTS_PER_SEGMENT = 400
MAP_TITLE = "shadowfleet map"


def _esc(value) -> str:
    """HTML-escape, and also encode the characters that mean something inside the
    JavaScript template literals folium puts popups and tooltips in (backtick, ``$``,
    backslash): without that a name like ``\\u003cscript\\u003e`` or ``${...}`` would run."""
    text = html.escape(str(value), quote=True)
    return text.replace("\\", "&#92;").replace("`", "&#96;").replace("$", "&#36;")


def _fmt(ts) -> str:
    ts = utc([ts]).iloc[0]
    return "" if pd.isna(ts) else ts.strftime("%Y-%m-%d %H:%M") + "Z"


def _port_shapes(result) -> dict[str, list]:
    """port name -> list of rings ([[lat, lon], ...]) from the registry's GeoJSON."""
    registry = getattr(result, "registry", None)
    if registry is None or not hasattr(registry, "to_geojson"):
        return {}
    out: dict[str, list] = {}
    for feature in registry.to_geojson().get("features", []):
        name = str(feature.get("properties", {}).get("name", ""))
        geom = feature.get("geometry") or {}
        polys = [geom.get("coordinates", [])] if geom.get("type") == "Polygon" else \
            geom.get("coordinates", []) if geom.get("type") == "MultiPolygon" else []
        for poly in polys:
            if poly:
                out.setdefault(name, []).append([[lat, lon] for lon, lat in poly[0]])
    return out


def _centres(result, shapes) -> dict[str, tuple[float, float]]:
    centres = {name: (float(np.mean([p[0] for r in rings for p in r])),
                      float(np.mean([p[1] for r in rings for p in r])))
               for name, rings in shapes.items()}
    visits = table(result, "port_visits")
    positions = table(result, "positions")
    # ports without a polygon: the mean of the positions during their visits
    if len(visits) and len(positions):
        for port in set(visits["port"].astype(str)) - set(centres):
            v = visits[visits["port"].astype(str) == port].iloc[0]
            p = positions[(positions["mmsi"] == v["mmsi"])
                          & (utc(positions["timestamp"]) >= utc([v["arrival_utc"]]).iloc[0])
                          & (utc(positions["timestamp"]) <= utc([v["departure_utc"]]).iloc[0])]
            if len(p):
                centres[port] = (float(p["lat"].mean()), float(p["lon"].mean()))
    return centres


def _segments(t: np.ndarray, max_gap_s: float) -> list[tuple[int, int]]:
    cuts = np.flatnonzero(np.diff(t) > max_gap_s) + 1
    edges = np.r_[0, cuts, len(t)]
    return [(int(a), int(b)) for a, b in zip(edges[:-1], edges[1:]) if b > a]


def _thin(lat: np.ndarray, lon: np.ndarray) -> list[list[float]]:
    """A track segment simplified (Douglas-Peucker, ~100 m first) to at most
    ``MAX_POINTS_PER_SEGMENT`` points: long port stays collapse to a point and the line
    keeps the shape of the route (sampling every n-th point would cut corners over land)."""
    pts = np.c_[lon, lat]
    if len(pts) <= 2:
        return [[float(y), float(x)] for x, y in pts]
    tolerance = 0.001
    line = shapely.LineString(pts)
    simple = np.asarray(line.simplify(tolerance, preserve_topology=False).coords)
    while len(simple) > MAX_POINTS_PER_SEGMENT:
        tolerance *= 2
        simple = np.asarray(line.simplify(tolerance, preserve_topology=False).coords)
    return [[float(y), float(x)] for x, y in simple]


def _arc(a: tuple[float, float], b: tuple[float, float], bend: float = 0.2,
         n: int = 24) -> list[list[float]]:
    """A gentle arc from a to b (schematic legs must not look like tracks); the sign of
    ``bend`` picks the side, so observed and inferred legs of one pair do not overlap."""
    (y0, x0), (y1, x1) = a, b
    mx, my = (x0 + x1) / 2, (y0 + y1) / 2
    cx, cy = mx - (y1 - y0) * bend, my + (x1 - x0) * bend
    f = np.linspace(0, 1, n)
    xs = (1 - f) ** 2 * x0 + 2 * (1 - f) * f * cx + f ** 2 * x1
    ys = (1 - f) ** 2 * y0 + 2 * (1 - f) * f * cy + f ** 2 * y1
    return [[float(y), float(x)] for x, y in zip(xs, ys)]


def write_map(result, path: str | Path) -> Path:
    """Write the map of ``result`` (any object with the Result DataFrames) to ``path``."""
    names = vessel_names(result)
    positions = table(result, "positions")
    if len(positions) and "spoofed" in positions:
        positions = positions[~positions["spoofed"].astype(bool)]
    if len(positions):
        positions = positions.dropna(subset=["lat", "lon"])
    shapes = _port_shapes(result)
    if len(positions):
        centre = [float(positions["lat"].median()), float(positions["lon"].median())]
    elif shapes:
        pts = [p for rings in shapes.values() for r in rings for p in r]
        centre = [float(np.mean([p[0] for p in pts])), float(np.mean([p[1] for p in pts]))]
    else:
        centre = [0.0, 0.0]
    fmap = folium.Map(location=centre, zoom_start=8, tiles="OpenStreetMap", control_scale=True)

    ports_layer = folium.FeatureGroup(name="Ports", show=True)
    colours = port_colours(result)
    for name, rings in shapes.items():
        for ring in rings:
            folium.Polygon(ring, color=colours.get(name, "#0072B2"), weight=2, fill=True,
                           fill_opacity=0.25, tooltip=folium.Tooltip(_esc(name)),
                           popup=folium.Popup(f"<b>port</b> {_esc(name)}", max_width=300)).add_to(ports_layer)
    ports_layer.add_to(fmap)

    tracks_layer = folium.FeatureGroup(name="Tracks", show=True)
    vessel_colour: dict[int, str] = {}
    max_gap_s = gap_hours(result) * 3600.0
    if len(positions):
        for k, (mmsi, g) in enumerate(positions.groupby("mmsi", sort=True)):
            colour = VESSEL_COLOURS[k % len(VESSEL_COLOURS)]
            vessel_colour[int(mmsi)] = colour
            g = g.sort_values("timestamp", kind="mergesort")
            t = epoch_seconds(g["timestamp"])
            lat = g["lat"].to_numpy()
            lon = g["lon"].to_numpy()
            label = _esc(vessel_label(int(mmsi), names))
            popup = (f"<b>{label}</b><br>{len(g)} positions<br>"
                     f"{_esc(_fmt(g['timestamp'].iloc[0]))} to {_esc(_fmt(g['timestamp'].iloc[-1]))}")
            for a, b in _segments(t, max_gap_s):
                pts = _thin(lat[a:b], lon[a:b])
                if len(pts) == 1 or (len(pts) == 2 and pts[0] == pts[1]):
                    folium.CircleMarker(pts[0], radius=2, color=colour, fill=True,
                                        tooltip=folium.Tooltip(label)).add_to(tracks_layer)
                    continue
                folium.PolyLine(pts, color=colour, weight=2, opacity=0.85,
                                tooltip=folium.Tooltip(label),
                                popup=folium.Popup(popup, max_width=320)).add_to(tracks_layer)
    tracks_layer.add_to(fmap)

    dark_layer = folium.FeatureGroup(name="Dark periods", show=True)
    gaps = table(result, "dark_periods")
    if len(gaps):
        ends = utc(gaps["end_utc"])
        for (_, g), end in zip(gaps.iterrows(), ends):
            label = _esc(vessel_label(int(g["mmsi"]), names))
            hours = pd.to_numeric(pd.Series([g.get("hours")]), errors="coerce").iloc[0]
            dist = pd.to_numeric(pd.Series([g.get("distance_nm")]), errors="coerce").iloc[0]
            text = (f"<b>dark period</b><br>{label}<br>{_esc(_fmt(g['start_utc']))} to "
                    f"{_esc(_fmt(g['end_utc'])) or 'end of data (open)'}"
                    + (f"<br>{hours:.1f} h" if pd.notna(hours) else "")
                    + (f"<br>{dist:.1f} nm between the two fixes" if pd.notna(dist) else "")
                    + (f"<br>other vessels received nearby: {_esc(g['others_received'])}"
                       if "others_received" in g and pd.notna(g["others_received"]) else "")
                    + (f"<br>ports it could have called at: {_esc(g['possible_port_calls'])}"
                       if isinstance(g.get("possible_port_calls"), str) and g["possible_port_calls"] else ""))
            start = [float(g["start_lat"]), float(g["start_lon"])]
            colour = vessel_colour.get(int(g["mmsi"]), DARK_COLOUR)
            if pd.isna(end) or pd.isna(g.get("end_lat")) or pd.isna(g.get("end_lon")):
                folium.CircleMarker(start, radius=6, color=DARK_COLOUR, weight=2, fill=False,
                                    tooltip=folium.Tooltip(f"{label}: dark to the end of the data"),
                                    popup=folium.Popup(text, max_width=320)).add_to(dark_layer)
                continue
            end_pt = [float(g["end_lat"]), float(g["end_lon"])]
            folium.PolyLine([start, end_pt], color=colour, weight=2.5, opacity=0.9, dash_array="8 6",
                            tooltip=folium.Tooltip(f"{label}: dark period"),
                            popup=folium.Popup(text, max_width=320)).add_to(dark_layer)
            for pt in (start, end_pt):
                folium.CircleMarker(pt, radius=3, color=DARK_COLOUR, weight=1, fill=True,
                                    fill_color=colour, fill_opacity=1).add_to(dark_layer)
    dark_layer.add_to(fmap)

    legs_layer = folium.FeatureGroup(name="Legs between ports (schematic)", show=True)
    legs = table(result, "legs")
    centres = _centres(result, shapes)
    if len(legs) and centres:
        grouped: dict[tuple, list] = {}
        for _, leg in legs.iterrows():
            key = tuple(sorted((str(leg["origin"]), str(leg["destination"])))) + (str(leg["status"]),)
            grouped.setdefault(key, []).append(leg)
        for (a, b, status), items in sorted(grouped.items()):
            if a not in centres or b not in centres:
                continue
            lines = [f"{_esc(vessel_label(int(x['mmsi']), names))}: {_esc(x['origin'])} &rarr; "
                     f"{_esc(x['destination'])}, departed {_esc(_fmt(x['depart_origin_utc']))}"
                     for x in items[:60]]
            more = f"<br>... and {len(items) - 60} more" if len(items) > 60 else ""
            text = (f"<b>{len(items)} {_esc(status)} leg(s) between {_esc(a)} and {_esc(b)}</b><br>"
                    + "<br>".join(lines) + more)
            inferred = status == "inferred"
            folium.PolyLine(_arc(centres[a], centres[b], -0.15 if inferred else 0.15),
                            color="#7B1FA2" if not inferred else "#E65100",
                            weight=1.5 + min(len(items), 12) * 0.25, opacity=0.6,
                            dash_array="2 8" if inferred else None,
                            tooltip=folium.Tooltip(f"{len(items)} {_esc(status)} leg(s) "
                                                   f"{_esc(a)} - {_esc(b)}"),
                            popup=folium.Popup(text, max_width=420)).add_to(legs_layer)
    legs_layer.add_to(fmap)

    folium.LayerControl(collapsed=False).add_to(fmap)
    data = data_of(result)
    root = fmap.get_root()
    root.header.add_child(folium.Element(f"<title>{_esc(title(MAP_TITLE, data))}</title>"))
    if data == SIMULATED:
        root.html.add_child(folium.Element(_simulated_banner()))
    root.html.add_child(folium.Element(_legend(vessel_colour, names)))
    if len(positions):
        fmap.fit_bounds([[float(positions["lat"].min()), float(positions["lon"].min())],
                         [float(positions["lat"].max()), float(positions["lon"].max())]])
    path = Path(path)
    atomic_write_text(path, fmap.get_root().render())
    return path


def _simulated_banner() -> str:
    return ('<div style="position:fixed;top:10px;left:50%;transform:translateX(-50%);'
            'z-index:10000;background:#b71c1c;color:white;padding:6px 14px;border-radius:4px;'
            'font:bold 14px sans-serif">SIMULATED DATA: every vessel on this map is fictional'
            '</div>')


def _legend(vessel_colour: dict[int, str], names: dict[int, str]) -> str:
    rows = "".join(
        f'<div><span style="display:inline-block;width:14px;height:4px;background:{c};'
        f'vertical-align:middle;margin-right:5px"></span>{_esc(vessel_label(m, names))}</div>'
        for m, c in list(vessel_colour.items())[:40])
    more = f"<div>... {len(vessel_colour) - 40} more</div>" if len(vessel_colour) > 40 else ""
    return (
        '<div style="position:fixed;bottom:24px;left:12px;z-index:9999;background:white;'
        'padding:8px 10px;border:1px solid #999;border-radius:4px;font:12px sans-serif;'
        'max-height:45%;overflow:auto">'
        "<b>shadowfleet</b><br>"
        '<div><span style="display:inline-block;width:22px;border-top:2px dashed #444;'
        'vertical-align:middle;margin-right:5px"></span>dark period: last fix &rarr; first fix</div>'
        '<div><span style="display:inline-block;width:22px;border-top:3px solid #7B1FA2;'
        'vertical-align:middle;margin-right:5px"></span>observed legs between ports</div>'
        '<div><span style="display:inline-block;width:22px;border-top:3px dotted #E65100;'
        'vertical-align:middle;margin-right:5px"></span>inferred legs (possible port call)</div>'
        f"<hr style='margin:4px 0'>{rows}{more}</div>")


__all__ = ["write_map"]
