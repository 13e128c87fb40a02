"""A large Result-like object for map.html's size and speed bounds: many vessels, each with
thousands of positions, dark periods, port visits, legs, round trips and alerts, plus a
claim naming two vessels and a watchlist match. Built with numpy, no detectors, seeded."""

from __future__ import annotations

import types

import numpy as np
import pandas as pd

from sim_result import BoxRegistry

T0 = pd.Timestamp("2023-08-01T00:00Z")


def _ids(prefix: str, n: int, salt: int) -> list[str]:
    return [f"{prefix}-{(salt * 1_000_003 + i) * 2654435761 % (1 << 48):012x}" for i in range(n)]


def big_result(n_vessels: int = 600, n_positions: int = 4000, *, seed: int = 7,
               gap_probability: float = 0.0015, visits_per_vessel: int = 12,
               hostile_name: str = "</script><script>alert(1)</script>"):
    """A Result-like namespace (tables as in shadowfleet.pipeline.Result)."""
    rng = np.random.default_rng(seed)
    registry = BoxRegistry()
    ports = list(registry.names)
    mmsi = 273_000_000 + np.arange(n_vessels, dtype=np.int64) * 7
    # 10-minute reports with the odd silence of 8-40 h (dark periods)
    step = np.full((n_vessels, n_positions), 600.0)
    dark = rng.random((n_vessels, n_positions)) < gap_probability
    dark[:, 0] = False
    step[dark] = rng.uniform(8, 40, dark.sum()) * 3600.0
    t = T0.value / 1e9 + np.cumsum(step, axis=1)
    # a correlated random walk at ~10 kn around the Sea of Japan
    heading = np.cumsum(rng.normal(0, 0.15, (n_vessels, n_positions)), axis=1) \
        + rng.uniform(0, 2 * np.pi, (n_vessels, 1))
    dist = 10.0 / 6.0 / 60.0          # degrees per 10 minutes at 10 kn
    lat = 38.0 + rng.uniform(0, 6, (n_vessels, 1)) + np.cumsum(dist * np.cos(heading), axis=1) * 0.2
    lon = 128.0 + rng.uniform(0, 8, (n_vessels, 1)) + np.cumsum(dist * np.sin(heading), axis=1) * 0.2
    positions = pd.DataFrame({
        "mmsi": np.repeat(mmsi, n_positions),
        "timestamp": pd.to_datetime(t.ravel(), unit="s", utc=True),
        "lat": lat.ravel(), "lon": lon.ravel(),
    })
    names = [f"VESSEL {i:04d}" for i in range(n_vessels)]
    names[3] = hostile_name
    statics = pd.DataFrame({"mmsi": mmsi, "name": names, "imo": 9_000_000 + np.arange(n_vessels),
                            "timestamp": pd.Timestamp("2023-08-01", tz="UTC")})
    name_of = dict(zip(mmsi.tolist(), names))

    # dark periods: the silences above
    vi, pi = np.nonzero(dark)
    gaps = pd.DataFrame({
        "gap_id": _ids("G", len(vi), 1), "mmsi": mmsi[vi], "name": [name_of[m] for m in mmsi[vi]],
        "start_utc": pd.to_datetime(t[vi, pi - 1], unit="s", utc=True),
        "end_utc": pd.to_datetime(t[vi, pi], unit="s", utc=True),
        "hours": (t[vi, pi] - t[vi, pi - 1]) / 3600.0,
        "start_lat": lat[vi, pi - 1], "start_lon": lon[vi, pi - 1],
        "end_lat": lat[vi, pi], "end_lon": lon[vi, pi],
        "distance_nm": rng.uniform(1, 200, len(vi)), "implied_speed_kn": rng.uniform(0, 12, len(vi)),
        "others_received": rng.integers(0, 20, len(vi)),
        "possible_port_calls": rng.choice(["", "Najin", "Dunay;Najin", "Vladivostok"], len(vi)),
        "own_messages": rng.integers(0, 3, len(vi)),
    })

    # port visits: 12 per vessel, 3-hour stays, ports at random
    k = visits_per_vessel
    vv = np.repeat(np.arange(n_vessels), k)
    start = np.sort(rng.integers(0, n_positions - 20, (n_vessels, k)), axis=1).ravel()
    visits = pd.DataFrame({
        "visit_id": _ids("V", len(vv), 2), "mmsi": mmsi[vv], "name": [names[i] for i in vv],
        "port": rng.choice(ports, len(vv)),
        "arrival_utc": pd.to_datetime(t[vv, start], unit="s", utc=True),
        "departure_utc": pd.to_datetime(t[vv, start + 18], unit="s", utc=True),
        "dwell_hours": 3.0, "n_positions": 19,
    })
    # legs between consecutive visits at different ports; round trips from pairs of legs
    same_vessel = visits["mmsi"].to_numpy()[1:] == visits["mmsi"].to_numpy()[:-1]
    differ = visits["port"].to_numpy()[1:] != visits["port"].to_numpy()[:-1]
    li = np.flatnonzero(same_vessel & differ)
    legs = pd.DataFrame({
        "leg_id": _ids("L", len(li), 3), "mmsi": visits["mmsi"].to_numpy()[li],
        "name": visits["name"].to_numpy()[li], "origin": visits["port"].to_numpy()[li],
        "destination": visits["port"].to_numpy()[li + 1],
        "depart_origin_utc": visits["departure_utc"].to_numpy()[li],
        "arrive_destination_utc": visits["arrival_utc"].to_numpy()[li + 1],
        "status": rng.choice(["observed", "inferred"], len(li), p=[0.8, 0.2]),
        "origin_call_id": visits["visit_id"].to_numpy()[li],
        "destination_call_id": visits["visit_id"].to_numpy()[li + 1], "pair": "",
    })
    ti = li[::2]
    trips = pd.DataFrame({
        "trip_id": _ids("T", len(ti), 4), "mmsi": visits["mmsi"].to_numpy()[ti],
        "name": visits["name"].to_numpy()[ti], "origin": visits["port"].to_numpy()[ti],
        "destination": visits["port"].to_numpy()[ti + 1],
        "depart_origin_utc": visits["departure_utc"].to_numpy()[ti],
        "arrive_destination_utc": visits["arrival_utc"].to_numpy()[ti + 1],
        "depart_destination_utc": visits["departure_utc"].to_numpy()[ti + 1],
        "return_origin_utc": visits["arrival_utc"].to_numpy()[ti + 1],
        "duration_hours": 30.0, "status": rng.choice(["observed", "inferred"], len(ti)),
        "dark_period_id": "",
    })

    # alerts: one per dark period and per round trip, scores spread over [0, 1]
    alerts = pd.DataFrame({
        "alert_id": _ids("A", len(gaps) + len(trips), 5),
        "kind": ["dark_period"] * len(gaps) + ["round_trip"] * len(trips),
        "mmsi": np.r_[gaps["mmsi"].to_numpy(), trips["mmsi"].to_numpy()],
        "name": list(gaps["name"]) + list(trips["name"]), "imo": pd.NA,
        "start_utc": list(gaps["start_utc"]) + list(trips["depart_origin_utc"]),
        "end_utc": list(gaps["end_utc"]) + list(trips["return_origin_utc"]),
        "lat": np.r_[gaps["start_lat"].to_numpy(), np.full(len(trips), 42.5)],
        "lon": np.r_[gaps["start_lon"].to_numpy(), np.full(len(trips), 131.5)],
        "score": np.round(rng.random(len(gaps) + len(trips)), 4),
        "summary": ["an alert worth a look: " + "x" * 120] * (len(gaps) + len(trips)),
        "evidence": list(gaps["gap_id"]) + list(trips["trip_id"]), "claim_ids": "",
    })
    watch = pd.DataFrame([{"alert_id": "A-watchlist00001", "kind": "watchlist",
                           "mmsi": int(mmsi[-1]), "name": names[-1], "imo": pd.NA,
                           "start_utc": T0, "end_utc": T0, "lat": 40.0, "lon": 130.0,
                           "score": 1.0, "summary": "on TEST LIST (entry 1): matched by IMO",
                           "evidence": "watchlist:TEST:1", "claim_ids": ""}])
    alerts = pd.concat([alerts, watch], ignore_index=True)

    claimed = (int(mmsi[10]), int(mmsi[20]))
    evaluation = types.SimpleNamespace(
        results=(types.SimpleNamespace(
            claim=types.SimpleNamespace(id="test-claim"),
            matches=(types.SimpleNamespace(given="IMO 9000010", mmsis=(claimed[0],)),
                     types.SimpleNamespace(given="IMO 9000020", mmsis=(claimed[1],)))),),
        evidence=pd.DataFrame({"claim_id": ["test-claim"], "mmsi": [claimed[0]],
                               "evidence_id": [trips["trip_id"].iloc[0]]}))
    empty = pd.DataFrame()
    return types.SimpleNamespace(
        positions=positions, statics=statics, rejects=empty, port_visits=visits,
        round_trips=trips, dark_periods=gaps, alerts=alerts, claims=empty, legs=legs,
        possible_calls=pd.DataFrame(columns=["call_id", "mmsi", "name", "port", "gap_id",
                                             "start_utc", "end_utc", "pair"]),
        jumps=empty, summary={}, registry=registry, settings=None, claims_evaluation=evaluation,
        simulated_note=None, claimed=claimed, watchlisted=int(mmsi[-1]))
