"""AIS input: NMEA 0183 and decoded tables in, columnar positions and statics out.

The only package that knows NMEA, pyais and the AIS "not available" sentinels.
"""

from ais.errors import InputError, ShadowfleetError
from ais.schema import POSITION_COLUMNS, REJECT_COLUMNS, STATIC_COLUMNS

__all__ = ["InputError", "ShadowfleetError", "POSITION_COLUMNS", "STATIC_COLUMNS",
           "REJECT_COLUMNS"]
