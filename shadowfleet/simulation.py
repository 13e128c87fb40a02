"""``shadowfleet simulate``: write a simulated feed and its truth file.

The truth is computed with the port polygons a detector will use (the bundled registry,
or ``--ports``), so that a correct detector scores on it what the definitions promise;
the simulator's own REFERENCE.md boxes are used only when no registry can be loaded.
"""

from __future__ import annotations

from pathlib import Path

from ais.errors import InputError
from ais.sim_truth import build_truth, default_polygons, polygons_from_geojson, write_truth
from ais.simulate import SCENARIOS, simulate, write_feed

PAIRS = (("Dunay", "Najin"),)


def truth_polygons(ports: str | Path | None = None) -> dict:
    """name -> shapely polygon of the registry a detector run would use."""
    try:
        from ports import load_ports
    except ImportError:
        if ports is not None:
            raise
        return default_polygons()
    registry = load_ports(ports)
    return polygons_from_geojson(registry.to_geojson())


def simulate_with_truth(scenario: str, seed: int, *, ports: str | Path | None = None):
    """(``ais.simulate.Simulation``, truth dict) of ``scenario`` from ``seed``."""
    if scenario not in SCENARIOS:
        raise InputError(None, f"unknown scenario {scenario!r}",
                         f"choose one of: {', '.join(SCENARIOS)}")
    if seed < 0:
        raise InputError(None, f"seed {seed} is negative", "give a seed >= 0")
    polygons = truth_polygons(ports)
    lookup = {name.casefold(): name for name in polygons}
    pairs = tuple(tuple(lookup.get(p.casefold(), p) for p in pair) for pair in PAIRS)
    sim = simulate(scenario, seed)
    return sim, build_truth(sim, polygons=polygons, pairs=pairs)


def run_simulation(scenario: str, seed: int, out: str | Path, truth_path: str | Path | None,
                   *, ports: str | Path | None = None) -> dict:
    """Simulate ``scenario`` from ``seed``, write the feed to ``out`` (.gz compresses) and
    the truth JSON to ``truth_path``; return the truth."""
    sim, truth = simulate_with_truth(scenario, seed, ports=ports)
    write_feed(sim, out)
    truth["feed"] = Path(out).name
    if truth_path is not None:
        write_truth(truth, truth_path)
    return truth


def describe(truth: dict) -> str:
    c = truth["counts"]
    return (f"{truth['scenario']} seed {truth['seed']}: {c['lines']} lines, {c['vessels']} vessels "
            f"(fictional), {c['port_visits']} port visits, {c['round_trips_observed']} round trips "
            f"observed + {c['round_trips_inferred']} inferred, {c['dark_periods']} dark periods "
            f"({c['dark_periods_intentional']} intentional, {c['dark_periods_coverage']} coverage), "
            f"{c['corrupt_lines']} corrupt lines")
