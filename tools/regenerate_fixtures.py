"""Remake the bundled fixtures (never edit them by hand):

    python -m shadowfleet.regenerate_fixtures [--expected] [--check]

- ``fixtures/najin-dunay-2023.nmea.gz``: the simulated feed ``shadowfleet demo`` runs on
  (scenario ``najin-dunay-2023``, seed ``FIXTURE_SEED``);
- ``fixtures/najin-dunay-2023.truth.json``: its truth (``ais.sim_truth``), computed with
  the bundled port registry;
- with ``--expected``: ``fixtures/expected/`` with the contract CSV files and claims.md
  of ``detect`` on that feed with the bundled claims (golden outputs);
- ``--check``: regenerate into a temporary directory and fail (exit 1) when the feed or
  truth differ from the committed ones.
"""

from __future__ import annotations

import argparse
import filecmp
import sys
import tempfile
from pathlib import Path

FIXTURE_SCENARIO = "najin-dunay-2023"
FIXTURE_SEED = 2023
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
FEED_NAME = f"{FIXTURE_SCENARIO}.nmea.gz"
TRUTH_NAME = f"{FIXTURE_SCENARIO}.truth.json"
EXPECTED_FILES = ("port_visits.csv", "round_trips.csv", "dark_periods.csv", "alerts.csv",
                  "claims.csv", "rejects.csv")


def regenerate(directory: Path = FIXTURES, *, expected: bool = False) -> dict:
    from shadowfleet.simulation import run_simulation

    directory.mkdir(parents=True, exist_ok=True)
    truth = run_simulation(FIXTURE_SCENARIO, FIXTURE_SEED, directory / FEED_NAME,
                           directory / TRUTH_NAME)
    if expected:
        write_expected(directory / FEED_NAME, directory / "expected")
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
    parser = argparse.ArgumentParser(prog="python -m shadowfleet.regenerate_fixtures",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--expected", action="store_true",
                        help="also write fixtures/expected/ (needs the whole pipeline)")
    parser.add_argument("--check", action="store_true",
                        help="compare a fresh regeneration with the committed files")
    args = parser.parse_args(argv)
    if args.check:
        with tempfile.TemporaryDirectory() as tmp:
            regenerate(Path(tmp))
            stale = [name for name in (FEED_NAME, TRUTH_NAME)
                     if not filecmp.cmp(Path(tmp) / name, FIXTURES / name, shallow=False)]
        if stale:
            print(f"fixtures out of date: {', '.join(stale)}; run python -m shadowfleet.regenerate_fixtures")
            return 1
        print("fixtures up to date")
        return 0
    truth = regenerate(FIXTURES, expected=args.expected)
    from shadowfleet.simulation import describe

    print(f"wrote {FIXTURES / FEED_NAME} and {FIXTURES / TRUTH_NAME}: {describe(truth)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
