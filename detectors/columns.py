"""Column lists of the behaviour detectors' tables, declared once.

The ``*_CONTRACT_COLUMNS`` are DESIGN.md's "Output files" (contract: checked from
outside, extended only at the end, never renamed); the ``*_COLUMNS`` add, after them,
what the detectors also know and the pipeline, alerts and map use. Detectors, outputs
and tests import these tuples; nobody writes the lists out again.
"""

from __future__ import annotations

# encounters.csv
ENCOUNTER_CONTRACT_COLUMNS = ("encounter_id", "mmsi_1", "name_1", "mmsi_2", "name_2",
                              "start_utc", "end_utc", "hours", "lat", "lon",
                              "median_distance_m", "median_speed_kn")
ENCOUNTER_COLUMNS = ENCOUNTER_CONTRACT_COLUMNS + (
    "median_speed_1_kn", "median_speed_2_kn", "n_steps", "nearest_port", "port_distance_nm")

# loitering.csv
LOITER_CONTRACT_COLUMNS = ("loiter_id", "mmsi", "name", "start_utc", "end_utc", "hours", "lat",
                           "lon", "mean_speed_kn", "nearest_port", "port_distance_nm")
LOITER_COLUMNS = LOITER_CONTRACT_COLUMNS + ("n_positions", "max_speed_kn")

# stops.csv
STOP_CONTRACT_COLUMNS = ("stop_id", "lat", "lon", "radius_m", "n_stays", "n_vessels",
                         "first_utc", "last_utc", "mmsis", "nearest_port", "port_distance_nm")
STOP_COLUMNS = STOP_CONTRACT_COLUMNS + ("stay_hours",)

# the stays behind the stops (no contract file of their own)
STAY_COLUMNS = ("stay_id", "mmsi", "name", "start_utc", "end_utc", "hours", "lat", "lon",
                "n_positions", "stop_id")

# vessels.csv: the identity and score columns, then the behaviour features in this order
VESSEL_FEATURES = ("hours_dark", "dark_periods", "possible_port_calls", "encounters",
                   "loitering_hours", "unlisted_stops", "identity_anomalies", "ports_called",
                   "share_received")
VESSEL_CONTRACT_COLUMNS = ("mmsi", "name", "imo", "outlier_score", "rank")
VESSEL_COLUMNS = VESSEL_CONTRACT_COLUMNS + VESSEL_FEATURES
