"""``shadowfleet simulate``: write a simulated feed and its truth file."""

from __future__ import annotations

from pathlib import Path

from ais.errors import InputError
from shadowfleet.simulator.feed import SCENARIOS, simulate, write_feed
from shadowfleet.simulator.truth import build_truth, write_truth


def simulate_with_truth(scenario: str, seed: int, *, nmea: bool = True):
    """(:class:`~shadowfleet.simulator.feed.Simulation`, truth dict) of ``scenario``
    from ``seed``."""
    if scenario not in SCENARIOS:
        raise InputError(None, f"unknown scenario {scenario!r}",
                         f"choose one of: {', '.join(SCENARIOS)}")
    if seed < 0:
        raise InputError(None, f"seed {seed} is negative", "give a seed >= 0")
    sim = simulate(scenario, seed, nmea=nmea)
    return sim, build_truth(sim)


def run_simulation(scenario: str, seed: int, out: str | Path,
                   truth_path: str | Path | None) -> dict:
    """Simulate ``scenario`` from ``seed``, write the feed to ``out`` (.gz compresses) and
    the truth JSON to ``truth_path``; return the truth."""
    sim, truth = simulate_with_truth(scenario, seed)
    write_feed(sim, out)
    truth["feed"] = Path(out).name
    if truth_path is not None:
        write_truth(truth, truth_path)
    return truth


def describe(truth: dict) -> str:
    c = truth["counts"]
    return (f"{truth['scenario']} seed {truth['seed']}: {c['lines']} lines, {c['vessels']} vessels "
            f"(fictional), {c['calls']} port calls ({c['calls_dark']} dark), "
            f"{c['round_trips']} round trips ({c['round_trips_observed']} to observe, "
            f"{c['round_trips_inferred']} to infer), "
            f"{c['silences_transmitter_off']} transmitter switch-offs, "
            f"{c['silences_positions_withheld']} with positions withheld, "
            f"{c['coverage_outages']} coverage outage(s), {c['corrupt_lines']} corrupt lines")
