"""Event detectors over the positions frame: one module per detector.

Each detector has a frozen, keyword-only dataclass of thresholds with units in the names,
a private numba kernel over arrays sorted by (mmsi, timestamp) with per-vessel offsets,
and a public function that speaks DataFrames.
"""
