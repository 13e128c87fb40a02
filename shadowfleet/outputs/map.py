"""map.html: an interactive map of one run that a researcher can open on any archive.

What it shows:

- the **vessels of interest**, at most ``--map-vessels N`` [50]: named in claims, on a
  watchlist, with the highest-scoring alerts (:mod:`shadowfleet.outputs.map_vessels`);
  the legend says how many vessels it shows of how many, each track's popup why;
- their **tracks**, simplified (Douglas-Peucker), cut at every dark period and at the
  map's edge (antimeridian-safe; :mod:`shadowfleet.outputs.map_tracks`);
- the **port polygons** of the run's registry;
- **one GeoJSON layer per kind of event** of those vessels (port visits, dark periods,
  possible port calls, round trips and legs, spoofing jumps, alerts, and encounters,
  loitering and unlisted stops when the run has them): each event a clickable feature
  whose popup shows its id and key fields (:mod:`shadowfleet.outputs.map_layers`).

It is one self-contained HTML file (:mod:`shadowfleet.outputs.map_page`): Leaflet and the
page's script are inlined, so it opens offline; base-map tiles load from the web when
there is a network. Made from simulated data, its title reads "SIMULATED DATA:
shadowfleet map" and a banner says so (:mod:`shadowfleet.provenance`).

**At most** ``MapBudget.max_bytes`` **(5 MB) for any input.** The data are cut to fit:
tracks to ``track_points`` vertices in all, each kind of event to ``features_per_kind``
(the highest-priority vessels' first), texts to ``text_chars``. Should the page still be
larger, the budgets are halved, dropping the lowest-priority vessels first, until it
fits; the legend then says so.
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import numpy as np
import pandas as pd

from ais.errors import ConfigError

from shadowfleet.outputs import MAP_VESSELS_DEFAULT
from shadowfleet.outputs._figures import (VESSEL_COLOURS, data_of, gap_hours, port_colours,
                                          positions_of, table, vessel_label, vessel_names)
from shadowfleet.outputs.files import atomic_write_bytes
from shadowfleet.outputs.map_layers import (TIME_FORMAT, LayerContext, event_layers,
                                            event_lons, port_features)
from shadowfleet.outputs.map_page import base_layers, render_page
from shadowfleet.outputs.map_tracks import Fixes, LonWindow, Tracks, build_tracks, lon_window
from shadowfleet.outputs.map_vessels import VesselSelection, select_vessels
from shadowfleet.provenance import SIMULATED, TITLE_MARK, title

MAP_TITLE = "shadowfleet map"
SIMULATED_BANNER = f"{TITLE_MARK}: every vessel on this map is fictional"


@dataclasses.dataclass(frozen=True, kw_only=True)
class MapBudget:
    """How much map.html may hold (module docstring). ``max_bytes``: the page's size in
    bytes, Leaflet included; ``track_points``: track vertices, all vessels together;
    ``features_per_kind``: events per layer; ``max_ports``: port polygons;
    ``port_tolerance_deg``: simplification of port polygons (degrees); ``text_chars``:
    the longest text kept (AIS names are 20 characters; summaries a few hundred)."""

    max_bytes: int = 5_000_000
    track_points: int = 80_000
    features_per_kind: int = 4_000
    max_ports: int = 2_000
    port_tolerance_deg: float = 0.0001
    text_chars: int = 400

    def __post_init__(self):
        for name in ("max_bytes", "track_points", "features_per_kind", "max_ports", "text_chars"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ConfigError(None, f"map {name} {value!r} must be a positive integer",
                                  f"set {name} to a whole number of at least 1")
        if not (isinstance(self.port_tolerance_deg, (int, float))
                and self.port_tolerance_deg >= 0):
            raise ConfigError(None, f"map port_tolerance_deg {self.port_tolerance_deg!r} must "
                              "be a number >= 0", "set port_tolerance_deg to 0 or more")

    def scaled(self, factor: float) -> "MapBudget":
        """Budgets times ``factor`` (< 1), never below a floor that still draws a map."""
        return dataclasses.replace(
            self, track_points=max(200, int(self.track_points * factor)),
            features_per_kind=max(10, int(self.features_per_kind * factor)),
            max_ports=max(20, int(self.max_ports * factor)),
            port_tolerance_deg=self.port_tolerance_deg / max(factor, 1e-6),
            text_chars=max(60, int(self.text_chars * max(factor, 0.25))))


@dataclasses.dataclass(frozen=True)
class MapStats:
    """What the written page holds (for tests, benchmarks and the run's log)."""

    path: Path
    bytes: int
    vessels_shown: int
    vessels_total: int
    features: dict[str, int]
    track_vertices: int
    tolerance_deg: float
    reduced: bool


def _iso(t: float) -> str:
    return pd.Timestamp(t, unit="s", tz="UTC").strftime(TIME_FORMAT)


def identity_notes(result, mmsis) -> dict[int, list[str]]:
    """Per MMSI of ``mmsis``, its identity anomalies (``identity.csv``) as short lines for
    its track's popup: kind, what changed or is wrong, when, and the ``identity_id``."""
    identity = table(result, "identity")
    out: dict[int, list[str]] = {}
    if not len(identity) or "mmsi" not in identity:
        return out
    rows = identity[identity["mmsi"].isin(list(mmsis))]
    for r in rows.to_dict("records"):
        start, end = r.get("start_utc"), r.get("end_utc")
        when = " to ".join(dict.fromkeys(_iso_ts(t) for t in (start, end) if not pd.isna(t)))
        what = ""
        if r.get("kind") == "identity_change":
            what = f" {r.get('field')} {r.get('before')} -> {r.get('after')}"
        elif r.get("imo") is not None and not pd.isna(r.get("imo")):
            what = f" IMO {int(r['imo'])}"
        out.setdefault(int(r["mmsi"]), []).append(
            f"{r.get('kind')}{what}{', ' + when if when else ''} ({r.get('identity_id')})")
    return out


def _iso_ts(ts) -> str:
    return pd.Timestamp(ts).strftime(TIME_FORMAT)


def _ships(result) -> dict[int, int]:
    """MMSI -> the number of ships (tracks) that shared it, for the MMSIs split."""
    tracks = table(result, "tracks")
    if not len(tracks) or "mmsi" not in tracks:
        return {}
    return {int(m): int(n) for m, n in tracks.groupby("mmsi")["track"].nunique().items()}


def _track_layer(tracks: Tracks, selection: VesselSelection, names: dict[int, str],
                 identity: dict[int, list[str]] | None = None,
                 ships: dict[int, int] | None = None) -> dict:
    identity = identity or {}
    ships = ships or {}
    features = []
    for i, mmsi in enumerate(tracks.mmsi):
        lines = tracks.lines[i]
        props = {"mmsi": mmsi, "name": names.get(mmsi) or None,
                 "shown_because": list(selection.reasons.get(mmsi, ())),
                 "positions": tracks.n_positions[i],
                 "first_utc": _iso(tracks.first_t[i]), "last_utc": _iso(tracks.last_t[i]),
                 "segments": len(lines),
                 "ships": ships.get(mmsi),
                 "identity_anomalies": identity.get(mmsi) or None}
        features.append({"type": "Feature",
                         "geometry": {"type": "MultiLineString", "coordinates": lines},
                         "properties": {k: v for k, v in props.items() if v is not None}})
    return {"id": "tracks", "title": "Tracks", "label": "Track", "idField": "name",
            "fields": ["name", "mmsi", "shown_because", "positions", "first_utc", "last_utc",
                       "segments", "ships", "identity_anomalies"],
            "style": {"weight": 2, "opacity": 0.85, "lineCap": "round"}, "pointStyle": {},
            "variants": {}, "colourBy": "vessel", "show": True, "shown": len(features),
            "total": len(features), "features": {"type": "FeatureCollection",
                                                 "features": features}}


def _port_layer(features: list[dict], total: int) -> dict:
    return {"id": "ports", "title": "Ports", "label": "Port", "idField": "port",
            "fields": ["port", "visits_in_run"], "style": {"weight": 2, "fillOpacity": 0.25},
            "pointStyle": {}, "variants": {}, "colourBy": "feature", "show": True,
            "shown": len(features), "total": total,
            "features": {"type": "FeatureCollection", "features": features}}


def _bounds(fixes: Fixes, window: LonWindow, layers: list[dict]) -> list | None:
    """[[south, west], [north, east]] of the tracks and the events drawn (not of the
    whole port registry, which may span the world)."""
    xs, ys = [], []
    if len(fixes):
        x = window.wrap(fixes.lon)
        xs += [float(x.min()), float(x.max())]
        ys += [float(fixes.lat.min()), float(fixes.lat.max())]

    def walk(coords):
        if coords and isinstance(coords[0], (int, float)):
            xs.append(coords[0])
            ys.append(coords[1])
        else:
            for c in coords:
                walk(c)

    for layer in layers:
        if layer["id"] not in ("ports", "tracks"):
            for f in layer["features"]["features"]:
                walk(f["geometry"]["coordinates"])
    if not xs:
        for layer in layers:
            if layer["id"] == "ports":
                for f in layer["features"]["features"]:
                    walk(f["geometry"]["coordinates"])
    if not xs:
        return None
    return [[min(ys), min(xs)], [max(ys), max(xs)]]


def map_data(result, selection: VesselSelection, budget: MapBudget, *,
             fixes: Fixes | None = None) -> tuple[dict, Tracks]:
    """The data map.js draws: layers, vessels, bounds, and what the legend says."""
    names = vessel_names(result)
    mmsis = selection.mmsis
    if fixes is None:
        fixes = Fixes.of(positions_of(result, mmsis), mmsis)
    lons = fixes.lon if len(fixes) else event_lons(result, mmsis)
    window = lon_window(lons)
    tracks = build_tracks(fixes, window, max_gap_s=gap_hours(result) * 3600.0,
                          point_budget=budget.track_points)
    rank = {m: i for i, m in enumerate(mmsis)}
    evented = _ports_named(result, rank)
    ports, centres, n_ports = port_features(result, window, port_colours(result),
                                            max_ports=budget.max_ports,
                                            tolerance_deg=budget.port_tolerance_deg,
                                            text_chars=budget.text_chars, first=evented)
    ctx = LayerContext(window=window, fixes=fixes, centres=centres, result=result,
                       text_chars=budget.text_chars)
    layers = [_port_layer(ports, n_ports),
              _track_layer(tracks, selection, names, identity_notes(result, mmsis),
                           _ships(result))]
    layers += event_layers(result, rank, ctx, features_per_kind=budget.features_per_kind)
    vessels = [{"mmsi": m, "label": vessel_label(m, names),
                "colour": VESSEL_COLOURS[i % len(VESSEL_COLOURS)],
                "group": selection.groups[m], "reasons": list(selection.reasons[m])}
               for i, m in enumerate(mmsis)]
    data_kind = data_of(result)
    data = {
        "meta": {"title": title(MAP_TITLE, data_kind),
                 "simulated": SIMULATED_BANNER if data_kind == SIMULATED else "",
                 "vessels": {"shown": len(mmsis), "total": selection.total,
                             "asked": selection.asked,
                             "groups": [[g, n] for g, n in selection.counts().items()],
                             "note": ""},
                 "trackToleranceDeg": tracks.tolerance_deg, "west": window.west},
        "baseLayers": base_layers(),
        "vessels": vessels,
        "layers": layers,
        "bounds": None,
    }
    data["bounds"] = _bounds(fixes, window, layers)
    return data, tracks


def _ports_named(result, rank) -> tuple[str, ...]:
    """Ports named by the shown vessels' visits and calls (kept first when the registry
    has more ports than the budget)."""
    out: list[str] = []
    for attr in ("port_visits", "possible_calls"):
        frame = table(result, attr)
        if len(frame) and {"mmsi", "port"} <= set(frame.columns):
            out += frame.loc[frame["mmsi"].isin(list(rank)), "port"].astype(str).tolist()
    return tuple(dict.fromkeys(out))


def write_map(result, path: str | Path, *, vessels: int = MAP_VESSELS_DEFAULT,
              budget: MapBudget | None = None) -> Path:
    """Write the map of ``result`` (any object with the Result DataFrames) to ``path``,
    showing at most ``vessels`` vessels of interest."""
    return write_map_stats(result, path, vessels=vessels, budget=budget).path


def write_map_stats(result, path: str | Path, *, vessels: int = MAP_VESSELS_DEFAULT,
                    budget: MapBudget | None = None) -> MapStats:
    """:func:`write_map`, returning what the page holds."""
    budget = budget or MapBudget()
    chosen = select_vessels(result, vessels)
    all_fixes = Fixes.of(positions_of(result, chosen.mmsis), chosen.mmsis)
    data_kind = data_of(result)
    page_title = title(MAP_TITLE, data_kind)
    banner = SIMULATED_BANNER if data_kind == SIMULATED else ""
    factor = 1.0
    while True:
        n = len(chosen.mmsis) if factor >= 1 else math.ceil(len(chosen.mmsis) * factor)
        selection = chosen.first(n)
        fixes = all_fixes if n == len(chosen.mmsis) else _subset(all_fixes, selection.mmsis)
        data, tracks = map_data(result, selection, budget.scaled(factor) if factor < 1 else budget,
                                fixes=fixes)
        if factor < 1:
            data["meta"]["vessels"]["note"] = (
                f"Cut to fit the page's limit of {budget.max_bytes / 1e6:g} MB: "
                f"{len(selection.mmsis)} of the {len(chosen.mmsis)} vessels chosen, tracks "
                f"simplified to {tracks.tolerance_deg:g} degrees, at most "
                f"{budget.scaled(factor).features_per_kind} events per layer.")
        page = render_page(title=page_title, banner=banner, data=data)
        encoded = page.encode("utf-8")
        size = len(encoded)
        if size <= budget.max_bytes or factor < 1e-3:
            break
        factor /= 2.0
    path = Path(path)
    atomic_write_bytes(path, encoded)
    return MapStats(path=path, bytes=size, vessels_shown=len(selection.mmsis),
                    vessels_total=chosen.total,
                    features={layer["id"]: layer["shown"] for layer in data["layers"]},
                    track_vertices=tracks.vertices, tolerance_deg=tracks.tolerance_deg,
                    reduced=factor < 1)


def _subset(fixes: Fixes, mmsis) -> Fixes:
    return fixes.subset(np.isin(fixes.mmsi, np.asarray(list(mmsis), dtype=np.int64)))


__all__ = ["write_map", "write_map_stats", "map_data", "MapBudget", "MapStats", "MAP_TITLE"]
