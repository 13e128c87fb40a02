"""Framing: raw lines (bytes) -> a table of AIS sentences + rejects.

``nmea`` is the reference framer (every line style, the receive-time ranking,
``receive_time`` for one line); ``line_kernel`` (the row layout and the general framer
of one line) and ``fast_lines`` (the common line in one pass, chunks in blocks) are the
numba framer of the fast path, which hands every line it does not cover to ``nmea``.
"""
