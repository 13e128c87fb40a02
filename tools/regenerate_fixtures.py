"""Remake the bundled demo data and the test fixtures (never edit them by hand):

    python tools/regenerate_fixtures.py [--expected] [--check]

Writes into this repository (not into an installed copy):

- ``shadowfleet/data/demo/najin-dunay-2023.nmea.gz``: the simulated feed ``shadowfleet
  demo`` runs on (scenario ``najin-dunay-2023``, seed ``FIXTURE_SEED``), package data
  of ``shadowfleet``;
- ``shadowfleet/data/demo/najin-dunay-2023.json``: what the demo needs besides the feed
  (scenario, seed, the fictional vessels' identities and roles);
- ``fixtures/najin-dunay-2023.truth.json``: the truth of that feed, what its ships did
  (:mod:`shadowfleet.simulator.truth`); for the tests, not installed;
- with ``--expected``: ``fixtures/expected/`` with the contract CSV files and claims.md
  of ``detect`` on that feed with the bundled claims (golden outputs);
- ``--check``: regenerate into a temporary directory and fail (exit 1) when the feed,
  the demo manifest or the truth differ from the committed ones.
"""

from __future__ import annotations

import argparse
import filecmp
import json
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:           # run as a script from anywhere in the clone
    sys.path.insert(0, str(REPO))

FIXTURE_SCENARIO = "najin-dunay-2023"
FIXTURE_SEED = 2023
FIXTURES = REPO / "fixtures"
DEMO_DATA = REPO / "shadowfleet" / "data" / "demo"
FEED_NAME = f"{FIXTURE_SCENARIO}.nmea.gz"
MANIFEST_NAME = f"{FIXTURE_SCENARIO}.json"
TRUTH_NAME = f"{FIXTURE_SCENARIO}.truth.json"
EXPECTED_FILES = ("port_visits.csv", "round_trips.csv", "dark_periods.csv", "alerts.csv",
                  "claims.csv", "rejects.csv", "encounters.csv", "loitering.csv", "stops.csv",
                  "stays.csv", "vessels.csv", "identity.csv")


def demo_manifest(truth: dict) -> dict:
    """The part of the truth ``shadowfleet demo`` needs: who the fictional vessels are."""
    return {"simulated": True, "note": truth["note"], "scenario": truth["scenario"],
            "seed": truth["seed"], "feed": truth["feed"],
            "vessels": [{k: v[k] for k in ("mmsi", "name", "imo", "role")}
                        for v in truth["vessels"]]}


def regenerate(demo_dir: Path = DEMO_DATA, fixtures: Path = FIXTURES, *,
               expected: bool = False) -> dict:
    from shadowfleet.simulator.run import run_simulation
    from shadowfleet.simulator.truth import write_truth

    demo_dir.mkdir(parents=True, exist_ok=True)
    truth = run_simulation(FIXTURE_SCENARIO, FIXTURE_SEED, demo_dir / FEED_NAME,
                           fixtures / TRUTH_NAME)
    write_truth(demo_manifest(truth), demo_dir / MANIFEST_NAME)
    if expected:
        write_expected(demo_dir / FEED_NAME, fixtures / "expected")
    return truth


def write_expected(feed: Path, out_dir: Path) -> None:
    """Golden outputs: what ``detect`` writes for the bundled feed and claims."""
    import contextlib

    from shadowfleet.claims import bundled_claim_files
    from shadowfleet.pipeline import detect

    # run from the feed's directory so the outputs name it without a machine's path
    with contextlib.chdir(feed.parent):
        result = detect([feed.name], claims=bundled_claim_files(), progress=False)
    result.write(out_dir, figures=False)
    # bulky or machine-specific (summary.json names the ports file by absolute path)
    for extra in ("positions.parquet", "statics.parquet", "summary.json"):
        (out_dir / extra).unlink(missing_ok=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python tools/regenerate_fixtures.py",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--expected", action="store_true",
                        help="also write fixtures/expected/ (needs the whole pipeline)")
    parser.add_argument("--check", action="store_true",
                        help="compare a fresh regeneration with the committed files")
    args = parser.parse_args(argv)
    if args.check:
        with tempfile.TemporaryDirectory() as tmp:
            regenerate(Path(tmp), Path(tmp))
            pairs = [(Path(tmp) / FEED_NAME, DEMO_DATA / FEED_NAME),
                     (Path(tmp) / MANIFEST_NAME, DEMO_DATA / MANIFEST_NAME),
                     (Path(tmp) / TRUTH_NAME, FIXTURES / TRUTH_NAME)]
            stale = [str(b.relative_to(REPO)) for a, b in pairs
                     if not b.exists() or not filecmp.cmp(a, b, shallow=False)]
        if stale:
            print(f"out of date: {', '.join(stale)}; run python tools/regenerate_fixtures.py")
            return 1
        print("demo data and fixtures up to date")
        return 0
    truth = regenerate(expected=args.expected)
    from shadowfleet.simulator.run import describe

    print(f"wrote {(DEMO_DATA / FEED_NAME).relative_to(REPO)}, "
          f"{(DEMO_DATA / MANIFEST_NAME).relative_to(REPO)} and "
          f"{(FIXTURES / TRUTH_NAME).relative_to(REPO)}: {describe(truth)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
