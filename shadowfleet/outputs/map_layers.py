"""The GeoJSON layers of map.html: ports, tracks and one layer per kind of event.

Each kind of event is one entry of :data:`EVENT_KINDS` (the run's table, its id column,
the columns its geometry comes from, the popup's fields, the style): a layer is drawn
when the run has that table, so a new detector's events reach the map by adding one
entry. Every event is a GeoJSON feature carrying its id (``visit_id``, ``gap_id``,
``trip_id``, ``alert_id``...) and the key fields of its CSV row, named as the CSV names
them, so a reader goes from a click on the map to the row in the file.

Events are drawn for the vessels the map shows (:mod:`shadowfleet.outputs.map_vessels`);
kinds that are places rather than a vessel's doing (unlisted stops) are drawn whatever
the vessels. Geometry, per kind:

- ``point``: the event's own position (alerts, encounters, loitering, stops);
- ``segment``: a straight line from the last fix before to the first fix after (dark
  periods, spoofing jumps); an open dark period is a ring at its last fix;
- ``visit``: the vessel's fix half-way through the stay (its track passes there);
- ``port_path``: a possible port call as the path it would have taken, from the dark
  period's first fix to the port and on to its last fix;
- ``loop`` / ``arc``: round trips and legs, schematic between the ports' centres (they
  are sequences of calls, not observed routes): the feature is the straight line between
  the two centres, which the page draws as a loop out and back (a round trip) or an arc
  (a leg), fanned out so that each stays clickable.

Text from the air and from user files goes into the JSON as data; the page's script
shows it with ``textContent`` only (:mod:`shadowfleet.outputs.map_page`). Long texts are
cut at ``text_chars``.
"""

from __future__ import annotations

import dataclasses
from typing import Callable, Mapping

import numpy as np
import pandas as pd
import shapely
import shapely.geometry

from shadowfleet.outputs._figures import table, utc
from shadowfleet.outputs.map_tracks import COORD_DECIMALS, Fixes, LonWindow

TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"          # as in the CSV files
DARK_COLOUR = "#444444"
OBSERVED_COLOUR, INFERRED_COLOUR = "#7B1FA2", "#E65100"


@dataclasses.dataclass(frozen=True, kw_only=True)
class EventKind:
    """One kind of event and how the map draws it (module docstring)."""

    table: str                         # the Result attribute (and CSV file stem)
    title: str                         # the layer's name
    label: str                         # one feature, as a popup's heading
    id_column: str
    geometry: str                      # point | segment | visit | port_path | loop | arc
    columns: tuple[str, ...] = ()      # the columns the geometry reads
    fields: tuple[str, ...] = ()       # popup rows, in order (those the table has)
    vessels: tuple[str, ...] = ("mmsi",)  # columns naming vessels; () = not per vessel
    style: Mapping = dataclasses.field(default_factory=dict)        # Leaflet path options
    point_style: Mapping = dataclasses.field(default_factory=dict)  # for Point features
    variants: Mapping = dataclasses.field(default_factory=dict)     # field -> value -> style
    colour_by_vessel: bool = False
    show: bool = True


_VESSEL = ("name", "mmsi")
_STATUS = {"status": {"inferred": {"color": INFERRED_COLOUR, "dashArray": "3 7"},
                      "observed": {"color": OBSERVED_COLOUR}}}

# drawing order: later kinds lie on top
EVENT_KINDS: tuple[EventKind, ...] = (
    EventKind(table="legs", title="Legs between ports (schematic)", label="Leg",
              id_column="leg_id", geometry="arc", columns=("origin", "destination"),
              fields=("leg_id", *_VESSEL, "origin", "destination", "depart_origin_utc",
                      "arrive_destination_utc", "status", "origin_call_id",
                      "destination_call_id", "pair"),
              style={"color": OBSERVED_COLOUR, "weight": 2, "opacity": 0.55},
              variants=_STATUS, show=False),
    EventKind(table="round_trips", title="Round trips (schematic)", label="Round trip",
              id_column="trip_id", geometry="loop", columns=("origin", "destination"),
              fields=("trip_id", *_VESSEL, "origin", "destination", "depart_origin_utc",
                      "arrive_destination_utc", "depart_destination_utc", "return_origin_utc",
                      "duration_hours", "status", "dark_period_id"),
              style={"color": OBSERVED_COLOUR, "weight": 2, "opacity": 0.6},
              variants=_STATUS),
    EventKind(table="dark_periods", title="Dark periods", label="Dark period",
              id_column="gap_id", geometry="segment",
              columns=("start_lat", "start_lon", "end_lat", "end_lon"),
              fields=("gap_id", *_VESSEL, "start_utc", "end_utc", "hours", "distance_nm",
                      "implied_speed_kn", "others_received", "own_messages",
                      "possible_port_calls"),
              style={"weight": 2.5, "opacity": 0.9, "dashArray": "8 6", "color": DARK_COLOUR},
              point_style={"radius": 7, "weight": 2, "fill": False, "color": DARK_COLOUR},
              colour_by_vessel=True),
    EventKind(table="possible_calls", title="Possible port calls", label="Possible port call",
              id_column="call_id", geometry="port_path", columns=("port", "gap_id"),
              fields=("call_id", *_VESSEL, "port", "gap_id", "start_utc", "end_utc", "pair"),
              style={"color": INFERRED_COLOUR, "weight": 1.5, "opacity": 0.8, "dashArray": "2 6"},
              point_style={"radius": 6, "weight": 2, "color": INFERRED_COLOUR, "fill": False}),
    EventKind(table="port_visits", title="Port visits", label="Port visit",
              id_column="visit_id", geometry="visit", columns=("port", "arrival_utc",
                                                               "departure_utc"),
              fields=("visit_id", *_VESSEL, "port", "arrival_utc", "departure_utc",
                      "dwell_hours", "n_positions"),
              point_style={"radius": 5, "weight": 1.5, "color": "#222222", "fillOpacity": 0.9},
              colour_by_vessel=True),
    EventKind(table="jumps", title="Spoofing jumps", label="Spoofing jump", id_column="jump_id",
              geometry="segment", columns=("prev_lat", "prev_lon", "lat", "lon"),
              fields=("jump_id", "mmsi", "prev_utc", "utc", "distance_nm", "implied_speed_kn"),
              style={"color": "#C62828", "weight": 1.5, "dashArray": "1 5", "opacity": 0.9},
              point_style={"radius": 4, "color": "#C62828"}, show=False),
    EventKind(table="loitering", title="Loitering", label="Loitering", id_column="loiter_id",
              geometry="point", columns=("lat", "lon"),
              fields=("loiter_id", *_VESSEL, "start_utc", "end_utc", "hours", "mean_speed_kn",
                      "nearest_port", "port_distance_nm"),
              point_style={"radius": 7, "weight": 2, "color": "#00897B", "fillOpacity": 0.3}),
    EventKind(table="encounters", title="Encounters", label="Encounter",
              id_column="encounter_id", geometry="point", columns=("lat", "lon"),
              fields=("encounter_id", "name_1", "mmsi_1", "name_2", "mmsi_2", "start_utc",
                      "end_utc", "hours", "median_distance_m", "median_speed_kn"),
              vessels=("mmsi_1", "mmsi_2"),
              point_style={"radius": 8, "weight": 3, "color": "#1565C0", "fillOpacity": 0.2}),
    EventKind(table="stops", title="Unlisted stops", label="Unlisted stop", id_column="stop_id",
              geometry="point", columns=("lat", "lon"),
              fields=("stop_id", "n_stays", "n_vessels", "first_utc", "last_utc", "mmsis",
                      "radius_m", "nearest_port", "port_distance_nm"),
              vessels=(),
              point_style={"radius": 9, "weight": 2, "color": "#6D4C41", "fillOpacity": 0.25}),
    EventKind(table="alerts", title="Alerts", label="Alert", id_column="alert_id",
              geometry="point", columns=("lat", "lon"),
              fields=("alert_id", "kind", *_VESSEL, "imo", "score", "start_utc", "end_utc",
                      "summary", "evidence", "claim_ids"),
              point_style={"radius": 4, "weight": 1, "color": "#B71C1C", "fillColor": "#FF5252",
                           "fillOpacity": 0.9}),
)


@dataclasses.dataclass(frozen=True)
class LayerContext:
    """What the geometry builders share: the display window, the shown vessels' fixes,
    the ports' centres and the run's tables."""

    window: LonWindow
    fixes: Fixes
    centres: Mapping[str, tuple[float, float]]     # port -> (display lon, lat)
    result: object
    text_chars: int


# --------------------------------------------------------------------------- values

def _text(value, limit: int) -> str | None:
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA \
            or value is pd.NaT:
        return None
    text = str(value)
    return text if len(text) <= limit else text[:limit - 1] + "\u2026"


def column_values(frame: pd.DataFrame, column: str, text_chars: int) -> list:
    """A column as JSON-ready values: times as in the CSVs, numbers (3 decimals at most),
    text cut at ``text_chars``; missing values None."""
    s = frame[column]
    if column.endswith("_utc") or column in ("utc", "prev_utc") \
            or pd.api.types.is_datetime64_any_dtype(s):
        ts = utc(s.reset_index(drop=True))
        return [None if pd.isna(t) else t for t in ts.dt.strftime(TIME_FORMAT)]
    if pd.api.types.is_bool_dtype(s):
        return [None if pd.isna(v) else bool(v) for v in s]
    if pd.api.types.is_integer_dtype(s):
        return [None if pd.isna(v) else int(v) for v in s]
    if pd.api.types.is_numeric_dtype(s):
        v = np.round(s.to_numpy(dtype=float), 3)
        return [None if not np.isfinite(x) else x for x in v.tolist()]
    return [_text(v, text_chars) for v in s.tolist()]


def _round(values) -> list:
    return np.round(np.asarray(values, dtype=float), COORD_DECIMALS).tolist()


# --------------------------------------------------------------------------- ports

def port_features(result, window: LonWindow, colours: Mapping[str, str], *,
                  max_ports: int, tolerance_deg: float, text_chars: int,
                  first: tuple[str, ...] = ()) -> tuple[list[dict], dict[str, tuple], int]:
    """(GeoJSON features of the registry's polygons, port -> (display lon, lat) centre,
    ports in the registry). Past ``max_ports``, the ports named in ``first`` come first."""
    registry = getattr(result, "registry", None)
    if registry is None or not hasattr(registry, "to_geojson"):
        return [], {}, 0
    raw = [f for f in registry.to_geojson().get("features", [])
           if (f.get("geometry") or {}).get("type") in ("Polygon", "MultiPolygon")]
    total = len(raw)
    if len(raw) > max_ports:
        wanted = set(first)
        raw = sorted(raw, key=lambda f: str(f.get("properties", {}).get("name")) not in wanted)
        raw = raw[:max_ports]
    visits = table(result, "port_visits")
    per_port = visits["port"].astype(str).value_counts().to_dict() \
        if len(visits) and "port" in visits else {}
    features, centres = [], {}
    shapes = [shapely.geometry.shape(f["geometry"]) for f in raw]
    for feature, shape in zip(raw, shapes):
        name = str(feature.get("properties", {}).get("name", ""))
        inside = shapely.point_on_surface(shape)
        cx = float(window.wrap(inside.x))
        centres[name] = (cx, float(inside.y))
        simple = shapely.simplify(shape, tolerance_deg, preserve_topology=True)
        polys = [simple] if simple.geom_type == "Polygon" else list(getattr(simple, "geoms", []))
        rings = []
        for poly in polys:
            ring = np.asarray(poly.exterior.coords)
            if not len(ring):
                continue
            x = LonWindow.follow(ring[:, 0], cx)
            rings.append([np.c_[np.round(x, 5), np.round(ring[:, 1], 5)].tolist()])
        if not rings:
            continue
        features.append({"type": "Feature",
                         "geometry": {"type": "MultiPolygon", "coordinates": rings},
                         "properties": {"port": _text(name, text_chars),
                                        "colour": colours.get(name, "#0072B2"),
                                        "visits_in_run": int(per_port.get(name, 0))}})
    return features, centres, total


# --------------------------------------------------------------------------- geometry

Geometry = dict | None


def _point(x, y) -> Geometry:
    return {"type": "Point", "coordinates": [round(float(x), COORD_DECIMALS),
                                              round(float(y), COORD_DECIMALS)]}


def _line(xs, ys) -> Geometry:
    return {"type": "LineString", "coordinates": np.c_[_round(xs), _round(ys)].tolist()}


def _geo_point(frame: pd.DataFrame, kind: EventKind, ctx: LayerContext) -> list[Geometry]:
    lat_c, lon_c = kind.columns
    lat = pd.to_numeric(frame[lat_c], errors="coerce").to_numpy(dtype=float)
    x = ctx.window.wrap(pd.to_numeric(frame[lon_c], errors="coerce").to_numpy(dtype=float))
    return [_point(a, b) if np.isfinite(a) and np.isfinite(b) else None for a, b in zip(x, lat)]


def _geo_segment(frame: pd.DataFrame, kind: EventKind, ctx: LayerContext) -> list[Geometry]:
    lat0, lon0, lat1, lon1 = (pd.to_numeric(frame[c], errors="coerce").to_numpy(dtype=float)
                              for c in kind.columns)
    x0 = ctx.window.wrap(lon0)
    x1 = LonWindow.follow(lon1, x0)        # the short way: never across the world
    out: list[Geometry] = []
    for a, b, c, d in zip(x0, lat0, x1, lat1):
        if not (np.isfinite(a) and np.isfinite(b)):
            out.append(None)
        elif np.isfinite(c) and np.isfinite(d):
            out.append(_line([a, c], [b, d]))
        else:
            out.append(_point(a, b))
    return out


def _geo_visit(frame: pd.DataFrame, kind: EventKind, ctx: LayerContext) -> list[Geometry]:
    port_c, arr_c, dep_c = kind.columns
    fixes = ctx.fixes
    out: list[Geometry] = [None] * len(frame)
    if len(fixes) and len(frame):
        mmsi = frame["mmsi"].to_numpy(dtype=np.int64)
        track = (pd.to_numeric(frame["track"], errors="coerce").fillna(0).to_numpy(np.int64)
                 if "track" in frame else np.zeros(len(frame), dtype=np.int64))
        arr = _epoch(frame[arr_c])
        dep = _epoch(frame[dep_c])
        ok = np.isfinite(arr) & np.isfinite(dep)
        lo = np.zeros(len(frame), dtype=np.int64)
        hi = np.zeros(len(frame), dtype=np.int64)
        if ok.any():
            lo[ok] = fixes.index_at(mmsi[ok], arr[ok], "left", track[ok])
            hi[ok] = fixes.index_at(mmsi[ok], dep[ok], "right", track[ok])
        mid = (lo + hi - 1) // 2
        x = ctx.window.wrap(fixes.lon)
        for i in np.flatnonzero(ok & (hi > lo)):
            out[i] = _point(x[mid[i]], fixes.lat[mid[i]])
    for i, port in enumerate(frame[port_c].astype(str)):
        if out[i] is None and port in ctx.centres:
            out[i] = _point(*ctx.centres[port])
    return out


def _geo_port_path(frame: pd.DataFrame, kind: EventKind, ctx: LayerContext) -> list[Geometry]:
    port_c, gap_c = kind.columns
    gaps = table(ctx.result, "dark_periods")
    ends: dict[str, tuple] = {}
    if len(gaps) and {"gap_id", "start_lat", "start_lon", "end_lat", "end_lon"} <= set(gaps):
        wanted = set(frame[gap_c].astype(str)) if gap_c in frame else set()
        g = gaps[gaps["gap_id"].astype(str).isin(wanted)]
        for row in zip(g["gap_id"].astype(str), *(pd.to_numeric(g[c], errors="coerce")
                                                  for c in ("start_lat", "start_lon",
                                                            "end_lat", "end_lon"))):
            ends[row[0]] = row[1:]
    out: list[Geometry] = []
    gap_ids = frame[gap_c].astype(str) if gap_c in frame else pd.Series("", index=frame.index)
    for port, gap_id in zip(frame[port_c].astype(str), gap_ids):
        centre = ctx.centres.get(port)
        if centre is None:
            out.append(None)
            continue
        xs, ys = [], []
        a_lat, a_lon, b_lat, b_lon = ends.get(gap_id, (np.nan,) * 4)
        if np.isfinite(a_lat) and np.isfinite(a_lon):
            xs.append(float(LonWindow.follow(a_lon, centre[0])))
            ys.append(a_lat)
        xs.append(centre[0])
        ys.append(centre[1])
        if np.isfinite(b_lat) and np.isfinite(b_lon):
            xs.append(float(LonWindow.follow(b_lon, centre[0])))
            ys.append(b_lat)
        out.append(_line(xs, ys) if len(xs) > 1 else _point(*centre))
    return out


def _ends(frame, kind, ctx):
    for o, d in zip(*(frame[c].astype(str) for c in kind.columns)):
        a, b = ctx.centres.get(o), ctx.centres.get(d)
        if a is None or b is None or a == b:
            yield None
        else:
            yield a, (float(LonWindow.follow(b[0], a[0])), b[1])


def _geo_between_ports(frame: pd.DataFrame, kind: EventKind, ctx: LayerContext) -> list[Geometry]:
    """The straight line from the origin's centre to the destination's; the page draws
    it as an arc (``arc``) or a loop out and back (``loop``), fanned out per pair of
    ports (map.js, ``schematic``)."""
    return [None if ends is None else _line([ends[0][0], ends[1][0]], [ends[0][1], ends[1][1]])
            for ends in _ends(frame, kind, ctx)]


GEOMETRY: Mapping[str, Callable] = {"point": _geo_point, "segment": _geo_segment,
                                    "visit": _geo_visit, "port_path": _geo_port_path,
                                    "arc": _geo_between_ports, "loop": _geo_between_ports}


def _epoch(values) -> np.ndarray:
    from shadowfleet.outputs._figures import epoch_seconds

    return epoch_seconds(values.to_numpy() if hasattr(values, "to_numpy") else values)


# --------------------------------------------------------------------------- layers

def event_rows(frame: pd.DataFrame, kind: EventKind, rank: Mapping[int, int],
               cap: int) -> pd.DataFrame:
    """The rows of the shown vessels (all rows for a kind not per vessel), highest
    priority vessel first (stable within a vessel), at most ``cap``."""
    columns = [c for c in kind.vessels if c in frame]
    if kind.vessels and not columns:
        return frame.iloc[:0]
    if columns:
        worst = len(rank) + 1
        best = np.full(len(frame), worst, dtype=np.int64)
        for c in columns:
            m = pd.to_numeric(frame[c], errors="coerce")
            r = m.map(rank).fillna(worst).to_numpy(dtype=np.int64)
            best = np.minimum(best, r)
        keep = np.flatnonzero(best < worst)
        order = keep[np.argsort(best[keep], kind="stable")]
        frame = frame.iloc[order]
    return frame.iloc[:max(0, cap)]


def event_layer(kind: EventKind, frame: pd.DataFrame, rows: pd.DataFrame,
                ctx: LayerContext) -> dict:
    """One kind's layer: its features and how to draw them."""
    fields = [f for f in kind.fields if f in rows.columns]
    if kind.id_column in rows.columns and kind.id_column not in fields:
        fields.insert(0, kind.id_column)
    features = []
    if len(rows) and all(c in rows.columns for c in kind.columns):
        geometries = GEOMETRY[kind.geometry](rows, kind, ctx)
        values = [column_values(rows, f, ctx.text_chars) for f in fields]
        extra = "mmsi" in rows.columns and "mmsi" not in fields
        mmsis = rows["mmsi"].tolist() if extra else None
        for i, geometry in enumerate(geometries):
            if geometry is None:
                continue
            props = {f: v[i] for f, v in zip(fields, values) if v[i] is not None}
            if extra:
                props["mmsi"] = int(mmsis[i])
            features.append({"type": "Feature", "geometry": geometry, "properties": props})
    return {"id": kind.table, "title": kind.title, "label": kind.label,
            "idField": kind.id_column, "fields": fields, "style": dict(kind.style),
            "pointStyle": dict(kind.point_style), "variants": dict(kind.variants),
            "colourBy": "vessel" if kind.colour_by_vessel else "", "show": kind.show,
            "schematic": kind.geometry if kind.geometry in ("arc", "loop") else "",
            "shown": len(features), "total": int(len(frame)),
            "features": {"type": "FeatureCollection", "features": features}}


def event_layers(result, rank: Mapping[int, int], ctx: LayerContext, *,
                 features_per_kind: int) -> list[dict]:
    """A layer per kind of :data:`EVENT_KINDS` the run has a table for."""
    layers = []
    for kind in EVENT_KINDS:
        frame = getattr(result, kind.table, None)
        if not isinstance(frame, pd.DataFrame):
            continue
        rows = event_rows(frame, kind, rank, features_per_kind)
        layers.append(event_layer(kind, frame, rows, ctx))
    return layers


def event_lons(result, mmsis) -> np.ndarray:
    """Longitudes of the point events of ``mmsis`` (for the map's window when there are
    no tracks)."""
    out = []
    for kind in EVENT_KINDS:
        frame = getattr(result, kind.table, None)
        if not isinstance(frame, pd.DataFrame) or not len(frame) or kind.geometry not in (
                "point", "segment"):
            continue
        rows = event_rows(frame, kind, {m: i for i, m in enumerate(mmsis)}, len(frame))
        lon_c = kind.columns[1]
        if lon_c in rows:
            out.append(pd.to_numeric(rows[lon_c], errors="coerce").to_numpy(dtype=float))
    return np.concatenate(out) if out else np.zeros(0)


__all__ = ["EventKind", "EVENT_KINDS", "LayerContext", "port_features", "event_layers",
           "event_rows", "column_values"]
