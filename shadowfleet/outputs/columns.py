"""The column lists of the files only the application writes, declared once.

The event tables' lists live with the detectors (``detectors.columns``), those of
positions, statics and rejects with ``ais`` (``ais.schema``); here are the rest
(DESIGN.md, "Output files"; README, "Scheduled jobs"). ``*_COLUMNS`` of a file is its
contract: those columns, in this order, first; more may follow.
"""

from __future__ import annotations

from detectors.columns import (ALERT_COLUMNS, DARK_PERIOD_COLUMNS, ENCOUNTER_COLUMNS,
                               IDENTITY_COLUMNS, LOITER_COLUMNS, PORT_VISIT_COLUMNS,
                               ROUND_TRIP_COLUMNS, STAY_TABLE, STOP_COLUMNS, VESSEL_TABLE)

# claims.csv
CLAIM_COLUMNS = ("claim_id", "source", "window_start", "window_end", "ports", "expected",
                 "observed", "inferred", "verdict", "evidence")

# alerts.csv of ``job`` and ``watch``: the alert columns, then the alert's status and version;
# alerts_log.csv: the same, then when the version was logged and the run's provenance
# (``data``: simulated or real, shadowfleet.provenance)
ALERT_STATUS_COLUMNS = ("status", "version")
ALERT_BOOK_COLUMNS = ALERT_COLUMNS + ALERT_STATUS_COLUMNS
ALERT_LOG_COLUMNS = ALERT_BOOK_COLUMNS + ("logged_utc", "data")

# the CSV files of every analysis: file name and contract columns, per result table
# (vessels.csv: its contract is the identity and score columns followed by the features,
# all declared in detectors.columns; stays.csv: the stays behind stops.csv, no contract
# file of DESIGN.md, written so that a stop's evidence can be followed vessel by vessel)
EVENT_FILES = {
    "port_visits": ("port_visits.csv", PORT_VISIT_COLUMNS),
    "round_trips": ("round_trips.csv", ROUND_TRIP_COLUMNS),
    "dark_periods": ("dark_periods.csv", DARK_PERIOD_COLUMNS),
    "encounters": ("encounters.csv", ENCOUNTER_COLUMNS),
    "loitering": ("loitering.csv", LOITER_COLUMNS),
    "stops": ("stops.csv", STOP_COLUMNS),
    "stays": ("stays.csv", STAY_TABLE),
    "vessels": ("vessels.csv", VESSEL_TABLE),
    "alerts": ("alerts.csv", ALERT_COLUMNS),
    "claims": ("claims.csv", CLAIM_COLUMNS),
    "identity": ("identity.csv", IDENTITY_COLUMNS),
}
