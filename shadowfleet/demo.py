"""``shadowfleet demo``: the whole job on the bundled scenario, in one command."""

from __future__ import annotations

import time
from importlib import resources
from pathlib import Path
from typing import Callable

DEMO_FEED = "najin-dunay-2023.nmea.gz"


def bundled_feed() -> Path:
    """Path of the bundled simulated Najin-Dunay 2023 feed."""
    return Path(str(resources.files("fixtures").joinpath(DEMO_FEED)))


def run_demo(out_dir: str | Path, echo: Callable[[str], None] = print):
    from shadowfleet.claims import bundled_claim_files
    from shadowfleet.outputs.console import run_table
    from shadowfleet.pipeline import detect

    started = time.perf_counter()
    feed = bundled_feed()
    echo(f"shadowfleet demo: simulated Najin-Dunay shuttle, August-October 2023 ({feed.name})")
    echo("  the vessels, MMSIs and IMOs in this feed are fictional; the claims are the real ones")
    result = detect([feed], claims=bundled_claim_files(), progress=False)
    result.write(out_dir)
    echo(run_table(result, Path(out_dir)))
    echo(f"  done in {time.perf_counter() - started:.1f} s")
    return result
