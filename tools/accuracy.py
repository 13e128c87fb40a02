"""Per-seed accuracy of the detectors against what the simulated ships did:

    python tools/accuracy.py [--nd 10] [--control 5] [--first-seed 1] [--markdown]

For each seed, simulates the scenario (the frames ``ais`` would decode, without the
NMEA round trip: see ``shadowfleet.simulator.feed``), runs the whole analysis with the
pair of interest Najin-Dunay, and scores it against the truth
(``shadowfleet.simulator.accuracy``). Columns:

- ``true``: round trips the ships made; ``observed`` / ``inferred``: of those, found
  once with that status; ``not_found``: those DESIGN.md's chains cannot report (a call
  unseen outside the pairs of interest);
- ``reported_not_made``: trips a correct run reports that the ships did not make (the
  same cause: the plain chain pairs that ship's legs otherwise);
- ``missed`` / ``invented``: trips a correct run reports that this run did not / trips
  this run reports that a correct run does not (both 0 for a correct detector);
- ``invented_calls``: visits or possible calls with no true call behind them;
- ``dark_calls`` / ``dark_uncovered``: true calls with no report received, and those no
  possible port call of their dark period covers;
- ``withheld`` / ``withheld_flagged``: silences with positions withheld, and those whose
  dark period counts own messages; ``off``: transmitter switch-offs; ``off_heard``: those
  whose dark period still counts own messages (static reports heard between the last
  position and the switch-off, or between the switch-on and the next position: DESIGN.md
  then calls it positions withheld); ``off_wrong``: those whose dark period counts
  messages other than those;
- ``identity`` / ``identity_found`` / ``identity_invented``: identity anomalies planted
  (a shared MMSI, each field of a rename with a new IMO, an invalid MMSI), those the
  run's identity table says, and its rows that say no planted anomaly.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

PAIRS = (("Najin", "Dunay"),)


def run(scenario: str, seed: int, registry=None):
    """(simulation, truth, result, accuracy) of one seed."""
    from ports import load_ports
    from shadowfleet.pipeline import analyse
    from shadowfleet.simulator.accuracy import score
    from shadowfleet.simulator.run import simulate_with_truth

    sim, truth = simulate_with_truth(scenario, seed, nmea=False)
    result = analyse(sim.decoded(), registry=registry or load_ports(), pairs=list(PAIRS))
    return sim, truth, result, score(truth, result)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python tools/accuracy.py",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--nd", type=int, default=10, help="seeds of najin-dunay-2023")
    parser.add_argument("--control", type=int, default=5, help="seeds of control")
    parser.add_argument("--first-seed", type=int, default=1)
    parser.add_argument("--markdown", action="store_true", help="a Markdown table")
    args = parser.parse_args(argv)
    from ports import load_ports

    registry = load_ports()
    seeds = [("najin-dunay-2023", args.first_seed + k) for k in range(args.nd)] + \
            [("control", args.first_seed + k) for k in range(args.control)]
    rows = []
    started = time.perf_counter()
    for scenario, seed in seeds:
        rows.append(run(scenario, seed, registry)[3].row())
    cols = list(rows[0]) if rows else []
    if args.markdown:
        print("| " + " | ".join(cols) + " |")
        print("|" + "|".join("---:" if c not in ("scenario",) else "---" for c in cols) + "|")
        for r in rows:
            print("| " + " | ".join(str(r[c]) for c in cols) + " |")
    else:
        width = {c: max(len(c), *(len(str(r[c])) for r in rows)) for c in cols}
        print("  ".join(c.rjust(width[c]) for c in cols))
        for r in rows:
            print("  ".join(str(r[c]).rjust(width[c]) for c in cols))
    totals = {c: sum(r[c] for r in rows) for c in cols if c not in ("scenario", "seed")}
    print(f"totals: {totals}; {len(rows)} seeds in {time.perf_counter() - started:.1f} s")
    bad = totals.get("missed", 0) + totals.get("invented", 0) + totals.get("invented_calls", 0) \
        + totals.get("dark_uncovered", 0) + totals.get("off_wrong", 0) \
        + totals.get("withheld", 0) - totals.get("withheld_flagged", 0) \
        + totals.get("identity", 0) - totals.get("identity_found", 0) \
        + totals.get("identity_invented", 0)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
