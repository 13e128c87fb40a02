"""Reject reasons: the fixed vocabulary of ``rejects.csv`` (column ``reason``).

Every decoder (the pyais reference and the numba fast path) uses these constants, so a
bad line gets the same reason whichever path read it. Add new reasons here, never
spell one out as a literal elsewhere.
"""

from __future__ import annotations

# Framing (ais.framing.nmea): one line or sentence
NOT_NMEA = "not_nmea"                  # no NMEA sentence on the line (garbage, binary junk)
INVALID_UTF8 = "invalid_utf8"          # bytes that are not UTF-8 (NMEA is ASCII)
LINE_TOO_LONG = "line_too_long"        # longer than FramingParams.max_line_bytes, no sentence boundaries
BAD_CHECKSUM = "bad_checksum"          # the sentence's own *hh does not match
TRUNCATED = "truncated"                # sentence cut short: no checksum or fewer than 7 fields
UNKNOWN_TALKER = "unknown_talker"      # !xxVDM/VDO with a talker id that is not two letters
BAD_FIELDS = "bad_fields"              # fragment count/number, sequence id or fill bits not valid
BAD_PAYLOAD = "bad_payload"            # empty payload or characters outside the 6-bit armour
CONTROL_BYTES = "control_bytes"        # an NMEA-looking line that does not frame and holds NUL or
                                       # other control bytes (serial-capture padding, binary junk)

# Assembly (ais.assembly)
ORPHAN_FRAGMENT = "orphan_fragment"    # a fragment whose message never completed

# Decoding (ais.decoding.reference and the fast path)
SHORT_PAYLOAD = "short_payload"        # fewer bits than the fields shadowfleet reads (fields.MIN_BITS)
UNDECODABLE = "undecodable"            # the decoder could not read the message (e.g. type 24 part 3)
LAT_OUT_OF_RANGE = "lat_out_of_range"  # |lat| > 90 and not the "not available" 91
LON_OUT_OF_RANGE = "lon_out_of_range"  # |lon| > 180 and not the "not available" 181

# Decoded tables (ais.reading.tabular)
BAD_ROW = "bad_row"                    # a CSV row whose MMSI, time or coordinates do not parse

ALL_REASONS = (NOT_NMEA, INVALID_UTF8, LINE_TOO_LONG, BAD_CHECKSUM, TRUNCATED,
               UNKNOWN_TALKER, BAD_FIELDS, BAD_PAYLOAD, CONTROL_BYTES, ORPHAN_FRAGMENT,
               SHORT_PAYLOAD, UNDECODABLE, LAT_OUT_OF_RANGE, LON_OUT_OF_RANGE, BAD_ROW)


def reject_text(raw: bytes) -> str:
    """The ``text`` of a reject: the rejected line or message as text, at most 200
    characters (decoded from its first 400 bytes, undecodable bytes replaced)."""
    return raw[:400].decode("utf-8", "replace")[:200]
