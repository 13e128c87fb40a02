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
    """The claims with each real IMO of ``mapping`` replaced by its stand-in's."""
    out = []
    for claim in claims:
        imos = claim.vessels.imo
        if not any(i in mapping for i in imos):
            out.append(claim)
            continue
        new_imos = tuple(mapping[i][0] if i in mapping else i for i in imos)
        labels = dict(claim.labels)
        for real, (imo, name, real_name) in mapping.items():
            if real in imos:
                labels.pop(real, None)
                labels[imo] = f"{name} (stand-in for {real_name})"
        out.append(dataclasses.replace(
            claim, vessels=dataclasses.replace(claim.vessels, imo=new_imos),
            labels=tuple(sorted(labels.items()))))
    return out


def run_demo(out_dir: str | Path, echo: Callable[[str], None] = print, *,
             map_vessels: int | None = None, progress=None):
    from shadowfleet.claims import bundled_claim_files, load_claims
    from shadowfleet.outputs.console import run_table
    from shadowfleet.pipeline import detect

    started = time.perf_counter()
    feed = bundled_feed()
    mapping = stand_ins(bundled_manifest())
    echo(f"shadowfleet demo: simulated Najin-Dunay shuttle, August-October 2023 ({feed.name})")
    echo("  every vessel in this feed is fictional; the claims are the real, published ones,")
    echo("  with the simulated shuttles standing in for the ships they name:")
    for real_imo, (imo, name, real_name) in mapping.items():
        echo(f"    {name} (IMO {imo}) for {real_name} (IMO {real_imo})")
    claims = with_stand_ins(load_claims(bundled_claim_files()), mapping)
    result = detect([feed], claims=claims, progress=progress or False, simulated=DEMO_NOTE)
    result.summary["demo"] = {
        "simulated": True,
        "note": "Simulated feed: every vessel, MMSI and IMO is fictional.",
        "stand_ins": [{"real_imo": r, "real_name": rn, "stand_in_imo": i, "stand_in_name": n}
                      for r, (i, n, rn) in mapping.items()],
    }
    result.write(out_dir, map_vessels=map_vessels, progress=progress)
    echo(run_table(result, Path(out_dir)))
    echo(f"  done in {time.perf_counter() - started:.1f} s")
    return result
