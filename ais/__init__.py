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

from __future__ import annotations

import importlib

# name -> the module that defines it, imported on first use (PEP 562): ``import ais`` (or
# ``ais.errors`` through it, which every command's error handling reaches) costs no
# pandas, numba or pyais until something is read, so ``shadowfleet --help`` starts fast
_LAZY = {
    "InputError": "ais.errors", "ShadowfleetError": "ais.errors",
    "POSITION_COLUMNS": "ais.schema", "REJECT_COLUMNS": "ais.schema",
    "STATIC_COLUMNS": "ais.schema",
    "Decoded": "ais.tables.decoded",
    "IncrementalDecoder": "ais.incremental.decoder",
    "InputsRead": "ais.reading.read", "iter_inputs": "ais.reading.read",
    "read_inputs": "ais.reading.read",
    "expand_inputs": "ais.reading.sources",
    "receive_time": "ais.framing.nmea",
}

__all__ = ["InputError", "ShadowfleetError", "POSITION_COLUMNS", "STATIC_COLUMNS",
           "REJECT_COLUMNS", "Decoded", "IncrementalDecoder", "read_inputs", "iter_inputs",
           "InputsRead", "expand_inputs", "receive_time", "reasons"]


def __getattr__(name: str):
    if name == "reasons":
        return importlib.import_module("ais.reasons")
    where = _LAZY.get(name)
    if where is None:
        raise AttributeError(f"module 'ais' has no attribute {name!r}")
    value = getattr(importlib.import_module(where), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
