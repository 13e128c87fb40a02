"""Carry an ``IncrementalDecoder`` from one run to the next as a job does: its state as
strict JSON and an ``.npz`` read back without pickle."""

from __future__ import annotations

import io
import json

import numpy as np

from ais.incremental.decoder import IncrementalDecoder


def carried(dec: IncrementalDecoder) -> IncrementalDecoder:
    meta, arrays = dec.state()
    text = json.dumps(meta, allow_nan=False)
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    buf.seek(0)
    with np.load(buf, allow_pickle=False) as npz:
        return IncrementalDecoder.from_state(json.loads(text), npz)
