"""AIS input: NMEA 0183 and decoded tables in, columnar positions and statics out.

The only package that knows NMEA, pyais and the AIS "not available" sentinels; the
lowest layer of the project (it imports nothing from ``ports``, ``detectors`` or
``shadowfleet``).

Its parts, each a subpackage usable alone on columnar tables:

- ``ais.framing``: raw lines -> a sentence table (``nmea``, the reference framer;
  ``line_kernel`` and ``fast_lines``, the numba framer of the fast path);
- ``ais.assembly``: fragments joined (``fragments``) and multi-receiver copies dropped
  (``dedup``), each with its numba path (``fast_fragments``, ``fast_dedup``);
- ``ais.decoding``: messages -> positions and statics (``reference``: pyais; ``fast``
  and ``payloads``: the numba decoder; ``fields``: the value rules both follow);
- ``ais.incremental``: ``IncrementalDecoder``, the stages with their state kept between
  calls (``fast_framing`` and ``fast_feed``: its fast path);
- ``ais.reading``: files, ``.gz``, directories and stdin (``read``, ``sources``),
  decoded CSV and Parquet tables (``tabular``);
- ``ais.tables``: the tables passed between the stages (``columns``), the frames they
  end in (``frames``, ``order``) and ``Decoded``.

``ais.schema`` holds the column contracts of positions, statics and rejects,
``ais.reasons`` the reject reasons, ``ais.errors`` the root of the project's exceptions
and ``ais._numba`` the numba settings of every kernel of the project.
"""

from ais.errors import InputError, ShadowfleetError
from ais.schema import POSITION_COLUMNS, REJECT_COLUMNS, STATIC_COLUMNS
from ais.tables.decoded import Decoded
from ais.incremental.decoder import IncrementalDecoder
from ais.reading.read import InputsRead, iter_inputs, read_inputs
from ais.reading.sources import expand_inputs
from ais.framing.nmea import receive_time
from ais import reasons

__all__ = ["InputError", "ShadowfleetError", "POSITION_COLUMNS", "STATIC_COLUMNS",
           "REJECT_COLUMNS", "Decoded", "IncrementalDecoder", "read_inputs", "iter_inputs",
           "InputsRead", "expand_inputs", "receive_time", "reasons"]
