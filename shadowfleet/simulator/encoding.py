"""What a simulated vessel puts on the air, as NMEA sentences encoded through
:mod:`ais.encode` (``ais`` is the one package that knows NMEA), and the values a decoder
reads back from them.

- Position reports: type 1 or 3 (Class A) or 18 (Class B). While the vessel withholds
  its position, every kinematic field is "not available" (lat 91, lon 181, speed 102.3,
  course 360, heading 511: ITU-R M.1371-5, the sentinels of :mod:`ais.decoding.fields`).
- Static reports: type 5 in two fragments (Class A), type 24 parts A and B (Class B).
- Each received copy is one line: a tag block ``s:`` station, ``c:`` receive time
  (whole epoch seconds), NMEA 4.10 style, then the sentence.

:func:`decoded_positions` gives the positions a decoder reads back from the reports
without encoding them (positions are quantised on the air: 1/10000 minute, 1/10 knot,
1/10 degree, whole degrees of heading). Encoding 80,000 reports through pyais takes
some 20 s, so the accuracy tests run the detectors on these frames directly; a test
checks, for a whole scenario, that they equal what ``ais`` decodes from the feed.
"""

from __future__ import annotations

import numpy as np

from ais.decoding import fields
from ais.encode import encode_message, reframe, tag_block
from shadowfleet.simulator.vessels import Vessel

HEADING_NOT_AVAILABLE = 511

__all__ = ["position_sentences", "static_sentences", "station_line", "reframe",
           "decoded_positions"]


def position_sentences(vessel: Vessel, t: float, lat: float, lon: float, sog: float,
                       cog: float, heading: float, status: int, msg_type: int,
                       channel: str, available: bool = True) -> list[str]:
    """The sentences of one position report (``available`` False: position withheld)."""
    second = int(t) % 60
    if not available:
        lat, lon = fields.LAT_NOT_AVAILABLE, fields.LON_NOT_AVAILABLE
        sog, cog = fields.SOG_NOT_AVAILABLE, fields.COG_LIMIT
        heading = HEADING_NOT_AVAILABLE
    if vessel.ais_class == "B":
        data = dict(type=18, mmsi=vessel.mmsi, speed=sog, accuracy=0, lon=lon, lat=lat,
                    course=cog, heading=HEADING_NOT_AVAILABLE, second=second, cs=1)
    else:
        data = dict(type=msg_type, mmsi=vessel.mmsi, status=int(status), turn=0, speed=sog,
                    accuracy=1, lon=lon, lat=lat, course=cog, heading=int(heading),
                    second=second)
    return encode_message(data, channel=channel)


def static_sentences(vessel: Vessel, eta: float, part_b: bool) -> list[str]:
    """The static report (type 5, two fragments; Class B: type 24 part A or B), as sent
    with sequence id 0 on channel A (:func:`ais.encode.reframe` changes both)."""
    bow = int(vessel.length_m * 0.8)
    port_side = vessel.beam_m // 2
    dims = dict(to_bow=bow, to_stern=vessel.length_m - bow, to_port=port_side,
                to_starboard=vessel.beam_m - port_side)
    if vessel.ais_class == "B":
        if not part_b:
            data = dict(type=24, mmsi=vessel.mmsi, partno=0, shipname=vessel.name)
        else:
            data = dict(type=24, mmsi=vessel.mmsi, partno=1, ship_type=vessel.ship_type,
                        vendorid="SIM", callsign=vessel.callsign, **dims)
        return encode_message(data, channel="A")
    when = np.datetime64(int(eta), "s").astype(object)
    data = dict(type=5, mmsi=vessel.mmsi, ais_version=0, imo=vessel.imo,
                callsign=vessel.callsign, shipname=vessel.name, ship_type=vessel.ship_type,
                epfd=1, month=when.month, day=when.day, hour=when.hour, minute=when.minute,
                draught=vessel.draught_m, destination=vessel.destination, dte=0, **dims)
    return encode_message(data, channel="A", seq_id=0)


def station_line(station: str, t_rx: int, sentence: str) -> str:
    """One line of the feed: the receiving station's tag block, then the sentence."""
    return f"{tag_block({'s': station, 'c': int(t_rx)})}{sentence}"


def _lat_lon(x: np.ndarray) -> np.ndarray:
    """Degrees as decoded: 1/10000 minute units, read back as pyais does
    (``((10 * units + 3) // 6) / 1e6``)."""
    units = np.round(np.asarray(x, dtype=float) * 600000.0).astype(np.int64)
    return ((10 * units + 3) // 6) / 1e6


def _tenths(x: np.ndarray) -> np.ndarray:
    return np.round(np.asarray(x, dtype=float) * 10.0) / 10.0


def decoded_positions(lat, lon, sog, cog, heading, available, class_b: bool
                      ) -> dict[str, np.ndarray]:
    """lat, lon, sog, cog, heading as a decoder reads them from the reports
    :func:`position_sentences` encodes (NaN where "not available")."""
    available = np.asarray(available, dtype=bool)
    nan = np.full(len(available), np.nan)
    sog_q = _tenths(sog)
    cog_q = _tenths(cog)
    out = {
        "lat": np.where(available, _lat_lon(lat), nan),
        "lon": np.where(available, _lat_lon(lon), nan),
        "sog": np.where(available & (sog_q != fields.SOG_NOT_AVAILABLE), sog_q, nan),
        "cog": np.where(available & (cog_q < fields.COG_LIMIT), cog_q, nan),
        "heading": (nan if class_b else
                    np.where(available, np.asarray(heading, dtype=float).astype(np.int64)
                             .astype(float), nan)),
    }
    return out
