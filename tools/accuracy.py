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

Then, per shuttle and seed, the claims a source could make of it (``--claims``): its
round trips between its two most used ports over the whole days it was received,
claimed at exactly the number the ship made (``claimed``) and at one more. Columns:
``claimed``, the run's ``observed`` / ``inferred`` count and verdicts, the counts a
correct run reports (``expect_obs`` / ``expect_inf``, from the truth), and
``received_throughout`` (every received report of the ship within ``gap_hours`` of the
next, across the window: then a claim of more trips than it made is ``contradicted``,
DESIGN.md "Claims file").

Then, per seed, the behaviour detectors against what the ships did at sea
(``shadowfleet.simulator.behaviour_accuracy``): for encounters (``enc``), loitering
(``loit``) and unlisted stops (``stop``), ``expected``: the truth's events a correct run
reports given what the stations heard; ``found``: those found; ``detected``: the run's
events; ``false``: detected events that match nothing the ships did; and
``lookalikes_fired``: false events on a look-alike (ships passing at speed, moored in one
port, anchored inside a port polygon, stopped near a port). Last, precision and recall
of each kind over all seeds.
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


def _day(ts) -> "pd.Timestamp":
    import pandas as pd

    return pd.Timestamp(ts).tz_convert("UTC").normalize()


def claim_checks(sim, truth: dict, result, registry) -> list[dict]:
    """Per shuttle, the claims of its round trips at the true count and at one more,
    evaluated with the run's tables; and what the truth says they must give."""
    import datetime as dt

    import numpy as np
    import pandas as pd

    from shadowfleet.claims import ClaimParams, evaluate_claims
    from shadowfleet.claims.model import Claim, Vessels, Window

    gap_s = 6 * 3600.0
    received = sim.decoded().positions
    received = received[received["lat"].notna() & received["lon"].notna()]
    rows = []
    for v in (v for v in truth["vessels"] if v["role"] == "shuttle"):
        trips = [t for t in truth["round_trips"] if t["mmsi"] == v["mmsi"]]
        if not trips:
            continue
        pair = max(sorted({t["pair"] for t in trips}),
                   key=lambda p: sum(t["pair"] == p for t in trips))
        own = received.loc[received["mmsi"] == v["mmsi"], "timestamp"].sort_values()
        start = _day(own.iloc[0]) + pd.Timedelta(days=1)
        end = _day(own.iloc[-1]) - pd.Timedelta(days=1)          # the window's last day
        stop = end + pd.Timedelta(days=1)                          # its 24:00Z
        t_ns = own.astype("int64").to_numpy() / 1e9
        inside = t_ns[(t_ns >= start.value / 1e9 - gap_s) & (t_ns <= stop.value / 1e9 + gap_s)]
        edges = np.concatenate([[start.value / 1e9], inside, [stop.value / 1e9]])
        throughout = bool(len(inside)) and float(np.diff(np.sort(edges)).max()) <= gap_s

        def in_window(ts):
            return ts is not None and start <= pd.Timestamp(ts) <= stop

        claimed = sum(1 for t in trips if t["pair"] == pair and in_window(t["depart_origin_utc"]))
        expected = [t for t in truth["expected_round_trips"]
                    if t["mmsi"] == v["mmsi"] and t["pair"] == pair
                    and in_window(t["counted_from_utc"])]
        exp_obs = sum(t["status"] == "observed" for t in expected)
        exp_inf = sum(t["status"] == "inferred" for t in expected)
        claims = [Claim(id=f"{v['mmsi']}-{k}", kind="round_trips", statement="accuracy",
                        ports=tuple(pair.split("|")),
                        window=Window(start.date(), end.date()),
                        vessels=Vessels((int(v["imo"]),), (), ()), at_least=claimed + k,
                        source="accuracy") for k in (0, 1)]
        ev = evaluate_claims(claims, registry=registry,
                             params=ClaimParams.of(result.settings),
                             visits=result.port_visits, legs=result.legs,
                             round_trips=result.round_trips,
                             possible_calls=result.possible_calls,
                             dark_periods=result.dark_periods, positions=result.positions,
                             statics=result.statics)
        exact, more = ev.results
        rows.append(dict(scenario=truth["scenario"], seed=truth["seed"], mmsi=v["mmsi"],
                         pair=pair, window=f"{start.date()}..{end.date()}",
                         claimed=claimed, observed=exact.observed, inferred=exact.inferred,
                         expect_obs=exp_obs, expect_inf=exp_inf, verdict=exact.verdict,
                         verdict_plus_one=more.verdict, received_throughout=throughout))
    return rows


def expected_verdicts(row: dict) -> tuple[str, str]:
    """The verdicts DESIGN.md gives the two claims of a ``claim_checks`` row, from the
    truth's counts: at the true count, ``supported`` when a correct run observes them
    all, else ``consistent_with_dark_activity``; at one more, ``contradicted`` when the
    ship was received throughout, else ``not_observed``."""
    obs, total = row["expect_obs"], row["expect_obs"] + row["expect_inf"]
    claimed = row["claimed"]
    exact = ("supported" if obs >= claimed else
             "consistent_with_dark_activity" if total >= claimed else "not_observed")
    more = ("supported" if obs >= claimed + 1 else
            "consistent_with_dark_activity" if total >= claimed + 1 else
            "contradicted" if row["received_throughout"] else "not_observed")
    return exact, more


def _print(rows: list[dict], markdown: bool) -> None:
    cols = list(rows[0]) if rows else []
    if markdown:
        print("| " + " | ".join(cols) + " |")
        print("|" + "|".join("---" if isinstance(rows[0][c], str) else "---:"
                             for c in cols) + "|")
        for r in rows:
            print("| " + " | ".join(str(r[c]) for c in cols) + " |")
    else:
        width = {c: max(len(c), *(len(str(r[c])) for r in rows)) for c in cols}
        print("  ".join(c.rjust(width[c]) for c in cols))
        for r in rows:
            print("  ".join(str(r[c]).rjust(width[c]) for c in cols))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python tools/accuracy.py",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--nd", type=int, default=10, help="seeds of najin-dunay-2023")
    parser.add_argument("--control", type=int, default=5, help="seeds of control")
    parser.add_argument("--first-seed", type=int, default=1)
    parser.add_argument("--markdown", action="store_true", help="a Markdown table")
    parser.add_argument("--claims", action="store_true",
                        help="also the shuttles' claims table (claimed, observed, inferred, "
                             "verdicts)")
    args = parser.parse_args(argv)
    from ports import load_ports

    registry = load_ports()
    seeds = [("najin-dunay-2023", args.first_seed + k) for k in range(args.nd)] + \
            [("control", args.first_seed + k) for k in range(args.control)]
    from shadowfleet.simulator.behaviour_accuracy import totals as behaviour_totals

    rows, claim_rows, behaviour = [], [], []
    started = time.perf_counter()
    for scenario, seed in seeds:
        sim, truth, result, acc = run(scenario, seed, registry)
        rows.append(acc.row())
        behaviour.append(acc.behaviour)
        if args.claims:
            claim_rows.extend(claim_checks(sim, truth, result, registry))
    cols = list(rows[0]) if rows else []
    _print(rows, args.markdown)
    wrong = 0
    if claim_rows:
        print()
        for r in claim_rows:
            wrong += (r["verdict"], r["verdict_plus_one"]) != expected_verdicts(r) or \
                (r["observed"], r["inferred"]) != (r["expect_obs"], r["expect_inf"])
        _print(claim_rows, args.markdown)
        print(f"claims whose counts or verdicts differ from the truth's: {wrong}")
    totals = {c: sum(r[c] for r in rows) for c in cols if c not in ("scenario", "seed")}
    print(f"totals: {totals}")
    print()
    _print([{"scenario": r["scenario"], "seed": r["seed"], **b.row()}
            for r, b in zip(rows, behaviour)], args.markdown)
    summary = behaviour_totals(behaviour)
    print()
    _print([{"kind": kind, **{k: (f"{v:.3f}" if isinstance(v, float) else v)
                              for k, v in summary[kind].items()}}
            for kind in ("encounters", "loitering", "stops")], args.markdown)
    print(f"look-alikes fired: {summary['lookalikes_fired']}; "
          f"{len(rows)} seeds in {time.perf_counter() - started:.1f} s")
    bad = totals.get("missed", 0) + totals.get("invented", 0) + totals.get("invented_calls", 0) \
        + totals.get("dark_uncovered", 0) + totals.get("off_wrong", 0) \
        + totals.get("withheld", 0) - totals.get("withheld_flagged", 0) \
        + totals.get("identity", 0) - totals.get("identity_found", 0) \
        + totals.get("identity_invented", 0) \
        + summary["lookalikes_fired"] + sum(
            summary[k]["expected"] - summary[k]["found"] + summary[k]["detected"]
            - summary[k]["true"] for k in ("encounters", "loitering", "stops"))
    return 1 if bad or wrong else 0


if __name__ == "__main__":
    sys.exit(main())
