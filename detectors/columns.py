"""The column lists of the event tables, declared once (DESIGN.md, "Output files").

``*_COLUMNS`` of a file of ``--out DIR`` is its contract: those columns, in this order,
first; more may follow. A detector's table (``*_TABLE``) is the contract columns
followed by what the detector adds for the steps after it (call ids, the pair a leg was
inferred for, flags); the writers keep the contract ones. Every detector, writer, job
and test imports them from here (CONVENTIONS.md, 17); ``tests/test_columns.py`` fails on
a second declaration anywhere else.

``track`` (right after the contract columns of every table of per-vessel events) says
which ship of a shared MMSI an event belongs to: 0 for the only or main ship, 1, 2, ...
for the others (:mod:`detectors.identity_tracks`); encounters say it for both vessels
(``track_1``, ``track_2``).
"""

from __future__ import annotations

# port_visits.csv
PORT_VISIT_COLUMNS = ("visit_id", "mmsi", "name", "port", "arrival_utc", "departure_utc",
                      "dwell_hours", "n_positions")
PORT_VISIT_TABLE = PORT_VISIT_COLUMNS + ("track", "call_id", "open_at_end", "lat", "lon")

# round_trips.csv (``dark_period_id``: the dark period an inferred trip rests on)
ROUND_TRIP_COLUMNS = ("trip_id", "mmsi", "name", "origin", "destination", "depart_origin_utc",
                      "arrive_destination_utc", "depart_destination_utc", "return_origin_utc",
                      "duration_hours", "status", "dark_period_id")
ROUND_TRIP_TABLE = ROUND_TRIP_COLUMNS + ("track", "pair", "call_ids")

# legs and possible port calls (the Python result's ``.legs``, ``.possible_calls``)
LEG_COLUMNS = ("leg_id", "mmsi", "name", "origin", "destination", "depart_origin_utc",
               "arrive_destination_utc", "status", "origin_call_id", "destination_call_id",
               "pair", "dark_period_id", "track")
POSSIBLE_CALL_COLUMNS = ("call_id", "mmsi", "name", "port", "gap_id", "start_utc", "end_utc",
                         "pair", "track")

# dark_periods.csv
DARK_PERIOD_COLUMNS = ("gap_id", "mmsi", "name", "start_utc", "end_utc", "hours", "start_lat",
                       "start_lon", "end_lat", "end_lon", "distance_nm", "implied_speed_kn",
                       "others_received", "possible_port_calls", "own_messages")
DARK_PERIOD_TABLE = DARK_PERIOD_COLUMNS + ("track", "start_port", "end_port", "open",
                                           "own_first_utc", "own_last_utc")

# alerts.csv (of every kind: the detectors' and the watchlists')
ALERT_COLUMNS = ("alert_id", "kind", "mmsi", "name", "imo", "start_utc", "end_utc", "lat", "lon",
                 "score", "summary", "evidence", "claim_ids")
ALERT_TABLE = ALERT_COLUMNS + ("track",)

# spoofing jumps (the Python result's ``.jumps``)
JUMP_COLUMNS = ("jump_id", "mmsi", "prev_utc", "utc", "prev_lat", "prev_lon", "lat", "lon",
                "distance_nm", "implied_speed_kn", "track")

# encounters.csv
ENCOUNTER_COLUMNS = ("encounter_id", "mmsi_1", "name_1", "mmsi_2", "name_2", "start_utc",
                     "end_utc", "hours", "lat", "lon", "median_distance_m", "median_speed_kn")
ENCOUNTER_TABLE = ENCOUNTER_COLUMNS + ("track_1", "track_2", "median_speed_1_kn",
                                       "median_speed_2_kn", "n_steps", "nearest_port",
                                       "port_distance_nm")

# loitering.csv
LOITER_COLUMNS = ("loiter_id", "mmsi", "name", "start_utc", "end_utc", "hours", "lat", "lon",
                  "mean_speed_kn", "nearest_port", "port_distance_nm")
LOITER_TABLE = LOITER_COLUMNS + ("track", "n_positions", "max_speed_kn")

# stops.csv
STOP_COLUMNS = ("stop_id", "lat", "lon", "radius_m", "n_stays", "n_vessels", "first_utc",
                "last_utc", "mmsis", "nearest_port", "port_distance_nm")
STOP_TABLE = STOP_COLUMNS + ("stay_hours",)

# the stays behind the stops (no contract file of their own)
STAY_TABLE = ("stay_id", "mmsi", "name", "start_utc", "end_utc", "hours", "lat", "lon",
              "n_positions", "stop_id", "track")

# vessels.csv: the identity and score columns, then the behaviour features in this order
VESSEL_FEATURES = ("hours_dark", "dark_periods", "possible_port_calls", "encounters",
                   "loitering_hours", "unlisted_stops", "identity_anomalies", "ports_called",
                   "share_received")
VESSEL_COLUMNS = ("mmsi", "name", "imo", "outlier_score", "rank")
VESSEL_TABLE = VESSEL_COLUMNS + VESSEL_FEATURES

# identity.csv (``field``: what the row is about: imo, name, callsign, ship_type, mmsi,
# position)
IDENTITY_COLUMNS = ("identity_id", "kind", "mmsi", "imo", "start_utc", "end_utc", "before",
                    "after", "evidence")
IDENTITY_TABLE = IDENTITY_COLUMNS + ("field",)
