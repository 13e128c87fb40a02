"""``shadowfleet demo``: the whole job on the bundled scenario, in one command.

The bundled feed is simulated (real AIS of the 2023 shuttle is not public: the ships were
dark) and every vessel in it is fictional. So that the real claims say something about
it, the demo lets the scenario's two shuttles stand in for the two ships the 2023 reports
name, ANGARA (IMO 9179842) and MARIA (IMO 8517839): in each bundled claim those IMOs are
replaced by the stand-ins' IMOs, and the output says so. Claims about other ships (LADY
R, 2024) are evaluated unchanged; the scenario has no stand-in for them.

Every output of the demo is marked simulated (:mod:`shadowfleet.provenance`): claims.csv
and alerts.csv end with ``data`` = ``simulated``, claims.md opens with a banner naming the
stand-ins, map.html and timeline.png say "SIMULATED DATA" in their titles. A screenshot
of a demo verdict must never pass for a finding about the real ships.

**The second act.** Dunay's restricted pier was first identified on satellite imagery,
not in any port list. The demo runs the same feed again with Dunay taken out of the port
registry (outputs in ``--out``/``without-dunay/``: the CSV files, summary.json and
map.html; the decoded positions and statics are the first act's) and shows that the shuttles' stays there make an unlisted stop where Dunay is,
used by both (DESIGN.md, "Unlisted stops"): a pier no registry has, found from the
ships' behaviour. With no port polygon there, the shuttles moored side by side are
also, by definition, encounters and loitering at that spot; the demo says so.
"""

from __future__ import annotations

import dataclasses
import json
import time
from importlib import resources
from pathlib import Path
from typing import Callable

DEMO_DATA = "data/demo"                       # package data of shadowfleet
DEMO_FEED = "najin-dunay-2023.nmea.gz"
DEMO_MANIFEST = "najin-dunay-2023.json"        # scenario, seed, the fictional vessels
# the ships the 2023 reports name, in the order the scenario's shuttles stand in for them
STOOD_IN_FOR = ((9179842, "ANGARA"), (8517839, "MARIA"))
DEMO_NOTE = ("SIMULATED AIS (shadowfleet demo): every vessel, MMSI and IMO is fictional; "
             "simulated shuttles stand in for the ships the real claims name")
SECOND_ACT_DIR = "without-dunay"      # the second act's outputs, under --out
HIDDEN_PORT = "Dunay"                 # the port the second act takes out of the registry
NEAR_NM = 1.0                         # "where Dunay is": within this of its polygon


def bundled_feed() -> Path:
    """Path of the bundled simulated Najin-Dunay 2023 feed (package data of shadowfleet;
    ``tools/regenerate_fixtures.py`` in the repository remakes it)."""
    return Path(str(resources.files("shadowfleet").joinpath(DEMO_DATA, DEMO_FEED)))


def bundled_manifest() -> dict:
    """What the demo knows of the bundled feed: scenario, seed and its fictional vessels
    (mmsi, name, imo, role)."""
    text = resources.files("shadowfleet").joinpath(DEMO_DATA, DEMO_MANIFEST).read_text("utf-8")
    return json.loads(text)


def stand_ins(manifest: dict) -> dict[int, tuple[int, str, str]]:
    """Real IMO -> (stand-in IMO, stand-in name, real name), from the scenario's shuttles
    (``manifest``: :func:`bundled_manifest`, or a truth file, which lists them too)."""
    shuttles = [v for v in manifest["vessels"] if v.get("role") == "shuttle"]
    return {real_imo: (int(v["imo"]), str(v["name"]), real_name)
            for (real_imo, real_name), v in zip(STOOD_IN_FOR, shuttles)}


def with_stand_ins(claims, mapping: dict[int, tuple[int, str, str]]):
    """The claims with each real IMO of ``mapping`` replaced by its stand-in's (among the
    claim's vessels and the other vessel of an encounters claim, ``with``)."""
    out = []
    for claim in claims:
        imos = claim.vessels.imo + claim.with_vessels.imo
        if not any(i in mapping for i in imos):
            out.append(claim)
            continue

        def swap(vessels):
            return dataclasses.replace(vessels, imo=tuple(mapping[i][0] if i in mapping else i
                                                          for i in vessels.imo))

        labels = dict(claim.labels)
        for real, (imo, name, real_name) in mapping.items():
            if real in imos:
                labels.pop(real, None)
                labels[imo] = f"{name} (stand-in for {real_name})"
        out.append(dataclasses.replace(claim, vessels=swap(claim.vessels),
                                       with_vessels=swap(claim.with_vessels),
                                       labels=tuple(sorted(labels.items()))))
    return out


def run_demo(out_dir: str | Path, echo: Callable[[str], None] = print, *,
             map_vessels: int | None = None, progress=None):
    """Both acts of the demo (module docstring): the first act's Result and the second's."""
    from ais.progress import Progress
    from ports import load_ports
    from shadowfleet.claims import bundled_claim_files, load_claims
    from shadowfleet.config import Settings
    from shadowfleet.outputs.console import run_table
    from shadowfleet.pipeline import analyse, decode

    started = time.perf_counter()
    feed = bundled_feed()
    mapping = stand_ins(bundled_manifest())
    echo(f"shadowfleet demo: simulated Najin-Dunay shuttle, August-October 2023 ({feed.name})")
    echo("  every vessel in this feed is fictional; the claims are the real, published ones,")
    echo("  with the simulated shuttles standing in for the ships they name:")
    for real_imo, (imo, name, real_name) in mapping.items():
        echo(f"    {name} (IMO {imo}) for {real_name} (IMO {real_imo})")
    claims = with_stand_ins(load_claims(bundled_claim_files()), mapping)
    progress = Progress.of(progress or False)
    registry = load_ports()
    settings = Settings.defaults()
    decoded = decode([feed], progress=progress)
    result = analyse(decoded, registry=registry, claims=claims, params=settings,
                     simulated=DEMO_NOTE, progress=progress)
    # the second act (about a second) reports no phases: its lines would repeat the
    # first act's names with nothing to tell them apart; its findings are printed below
    second = analyse(decoded, registry=without_port(registry, HIDDEN_PORT), params=settings,
                     simulated=DEMO_NOTE)
    found = hidden_port_found(second, registry, HIDDEN_PORT)
    found["stops_with_full_registry"] = len(hidden_port_found(result, registry,
                                                              HIDDEN_PORT)["stops"])
    result.summary["demo"] = {
        "simulated": True,
        "note": "Simulated feed: every vessel, MMSI and IMO is fictional.",
        "stand_ins": [{"real_imo": r, "real_name": rn, "stand_in_imo": i, "stand_in_name": n}
                      for r, (i, n, rn) in mapping.items()],
        "second_act": {"out": SECOND_ACT_DIR, **found},
    }
    second.summary["demo"] = {
        "simulated": True,
        "note": "Simulated feed: every vessel, MMSI and IMO is fictional.",
        "act": f"second: the bundled port registry without {HIDDEN_PORT}",
        **found,
    }
    out = Path(out_dir)
    result.write(out, map_vessels=map_vessels, progress=progress)
    # the same decoded frames as the first act's positions.parquet and statics.parquet
    second.write(out / SECOND_ACT_DIR, figures=False, decoded=False)
    from shadowfleet.outputs.map import write_map

    write_map(second, out / SECOND_ACT_DIR / "map.html",
              **({} if map_vessels is None else {"vessels": map_vessels}))
    echo(run_table(result, out))
    echo("")
    for line in second_act_lines(second, registry, found, out / SECOND_ACT_DIR):
        echo(line)
    echo(f"  done in {time.perf_counter() - started:.1f} s")
    return result, second


def without_port(registry, name: str):
    """``registry`` without the port ``name`` (as a registry that never had it)."""
    from ports.registry import PortRegistry

    keep = [f for f in registry.features if f["name"] != registry.names[registry.index(name)]]
    return PortRegistry(keep, path=f"{registry.path} without {name}")


def hidden_port_found(second, full, port: str) -> dict:
    """What the run without ``port`` found where it is: the unlisted stops within
    ``NEAR_NM`` of its polygon in the ``full`` registry (ids, vessels, stays), and the
    encounters and loitering there."""

    def near(frame, lat="lat", lon="lon"):
        if not len(frame):
            return frame
        return frame[full.contains(port, frame[lat].to_numpy(), frame[lon].to_numpy(),
                                   buffer_nm=NEAR_NM)]

    stops = near(second.stops)
    mmsis = sorted({int(m) for ms in stops["mmsis"] for m in str(ms).split(";") if m})
    names = {int(m): str(n) for m, n in zip(second.vessels["mmsi"], second.vessels["name"])}
    return {
        "hidden_port": port,
        "stops": [{"stop_id": r["stop_id"], "lat": round(float(r["lat"]), 5),
                   "lon": round(float(r["lon"]), 5), "n_stays": int(r["n_stays"]),
                   "n_vessels": int(r["n_vessels"]), "first_utc": str(r["first_utc"]),
                   "last_utc": str(r["last_utc"]), "nearest_port": r["nearest_port"],
                   "port_distance_nm": round(float(r["port_distance_nm"]), 1)}
                  for r in stops.to_dict("records")],
        "vessels": [{"mmsi": m, "name": names.get(m, "")} for m in mmsis],
        "encounters_there": int(len(near(second.encounters))),
        "loitering_there": int(len(near(second.loitering))),
    }


def second_act_lines(second, full, found: dict, out: Path) -> list[str]:
    """What the demo prints of its second act."""
    port = found["hidden_port"]
    lines = [f"  second act: the same feed with {port} taken out of the port registry "
             f"(outputs in {out}/)"]
    if not found["stops"]:
        lines.append(f"    no unlisted stop where {port} is")
        return lines
    who = ", ".join(f"{v['name']} (MMSI {v['mmsi']})" if v["name"] else f"MMSI {v['mmsi']}"
                    for v in found["vessels"])
    for s in found["stops"]:
        lines.append(f"    an unlisted stop where {port} is: {s['stop_id']} at {s['lat']:.4f} N "
                     f"{s['lon']:.4f} E, {s['n_stays']} stays by {s['n_vessels']} vessel"
                     f"{'s' if s['n_vessels'] != 1 else ''}, {s['first_utc'][:10]} to "
                     f"{s['last_utc'][:10]}; the nearest port the registry knows is "
                     f"{s['nearest_port']}, {s['port_distance_nm']:.1f} nm away")
    lines.append(f"    used by {who}: a pier no registry has, found from the ships' behaviour")
    lines.append(f"    with no port polygon to say they are in port, the shuttles moored there "
                 f"also make {found['encounters_there']} encounter(s) and "
                 f"{found['loitering_there']} loitering event(s) at the spot: by definition, "
                 f"not more ships")
    if found.get("stops_with_full_registry") == 0:
        lines.append(f"    (with the full registry, where {port} is a port, its stays are port "
                     f"calls: no unlisted stop there)")
    return lines
