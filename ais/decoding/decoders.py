"""Choosing a message decoder: ``"pyais"`` (the reference) or ``"fast"``.

The fast path is the module ``ais.decoding.fast`` when present; it exposes ``FAST_TYPES``
(the message types it decodes) and ``decode_messages(MessageTable) -> DecodedParts``.
``"fast"`` sends the types in ``FAST_TYPES`` to it and every other type to pyais; with
no fast module that is every type, so ``"fast"`` always works and always agrees with
``"pyais"`` wherever the fast path has not taken over.
"""

from __future__ import annotations

import importlib
from typing import Callable

import numpy as np

from ais.decoding import reference
from ais.tables.columns import MessageTable
from ais.errors import ConfigError
from ais.tables.frames import DecodedParts

DECODERS = ("fast", "pyais")


def _fast_module():
    try:
        return importlib.import_module("ais.decoding.fast")
    except ModuleNotFoundError as exc:
        if exc.name == "ais.decoding.fast":
            return None
        raise


def fast_types() -> frozenset[int]:
    """Message types the fast path decodes (empty when it is not installed)."""
    mod = _fast_module()
    return frozenset(getattr(mod, "FAST_TYPES", ())) if mod is not None else frozenset()


def decode_fast(m: MessageTable) -> DecodedParts:
    """Fast path for the types it covers, pyais for the rest."""
    mod = _fast_module()
    covered = fast_types()
    mask = np.isin(m.msg_type, np.fromiter(covered, dtype=np.int16, count=len(covered)))
    parts = []
    if mask.any():
        parts.append(mod.decode_messages(m.take(np.flatnonzero(mask))))
    if not mask.all():
        parts.append(reference.decode_messages(m.take(np.flatnonzero(~mask))))
    return DecodedParts.concat(parts)


def get_decoder(name: str) -> Callable[[MessageTable], DecodedParts]:
    if name == "pyais":
        return reference.decode_messages
    if name == "fast":
        return decode_fast
    raise ConfigError(None, f"unknown decoder {name!r}", f"use one of {', '.join(DECODERS)}")
