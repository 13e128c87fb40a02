"""AIS input: NMEA 0183 and decoded tables in, columnar positions and statics out.

The only package that knows NMEA, pyais and the AIS "not available" sentinels.

Stages (each usable alone, all on columnar tables): ``ais.nmea`` frames lines into a
sentence table, ``ais.assemble`` joins fragments and drops multi-receiver duplicates,
``ais.decoders`` decodes messages (pyais reference or the fast path) into the positions
and statics frames of ``ais.schema``. ``read_inputs`` and ``IncrementalDecoder`` drive
them (``iter_inputs`` piece by piece, for bounded memory); reject reasons are in
``ais.reasons``.
"""

from ais._memory import share_main_arena

share_main_arena()     # before pandas starts a thread: see ais._memory

from ais.errors import InputError, ShadowfleetError  # noqa: E402
from ais.schema import POSITION_COLUMNS, REJECT_COLUMNS, STATIC_COLUMNS
from ais.decoded import Decoded
from ais.incremental import IncrementalDecoder
from ais.reader import InputsRead, expand_inputs, iter_inputs, read_inputs
from ais.nmea import receive_time
from ais import reasons

__all__ = ["InputError", "ShadowfleetError", "POSITION_COLUMNS", "STATIC_COLUMNS",
           "REJECT_COLUMNS", "Decoded", "IncrementalDecoder", "read_inputs", "iter_inputs",
           "InputsRead", "expand_inputs", "receive_time", "reasons"]
