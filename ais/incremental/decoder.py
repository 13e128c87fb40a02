"""``IncrementalDecoder``: the ingest stages with their state kept between calls.

framing (``ais.framing.nmea``) -> assembly and dedup (``ais.assembly``) -> decoding
(``ais.decoding.decoders``). ``read_inputs`` feeds whole files through one instance;
scheduled jobs and live feeds call ``feed`` as bytes arrive and keep the instance's
``state()`` between runs (open fragments, the dedup window, partial lines and line
counters travel with it; ``ais.incremental.state``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ais.assembly.dedup import DedupParams, Deduplicator
from ais.assembly.fragments import Assembler, AssemblyParams
from ais.tables.columns import RejectTable
from ais.tables.decoded import Decoded
from ais.decoding.decoders import get_decoder
from ais.tables.frames import rejects_frame
from ais.framing.nmea import Framer, FramingParams

__all__ = ["IncrementalDecoder"]


def station_name(source: str) -> str:
    """Station used when a sentence names none: the input's file name."""
    if source in ("-", "<stdin>"):
        return "stdin"
    return Path(source).name or source


class IncrementalDecoder:
    """Decode AIS as it arrives: ``feed(source, data)`` any number of times, then ``finish()``.

    ``source`` names the input (a path, a URL, ``"<stdin>"``): rejects cite it with their
    line number, and its file name is the station of sentences without ``s:``. Each call
    returns the messages completed by that call as a ``Decoded`` (counts of that call).
    """

    def __init__(self, *, decoder: str = "fast", framing: FramingParams = FramingParams(),
                 assembly: AssemblyParams = AssemblyParams(), dedup: DedupParams = DedupParams()):
        get_decoder(decoder)   # validate early
        self.decoder = decoder
        self.names: list[str] = []
        self._index: dict[str, int] = {}
        self.framer = Framer(framing)
        self.assembler = Assembler(assembly)
        self.deduper = Deduplicator(dedup)

    def state(self) -> tuple[dict, dict]:
        """The decoder's state as ``(meta, arrays)``: JSON values and numeric numpy arrays
        (``ais.incremental.state``), to store between runs without pickle."""
        from ais.incremental.state import decoder_state

        return decoder_state(self)

    @classmethod
    def from_state(cls, meta: dict, arrays) -> "IncrementalDecoder":
        """The decoder ``state()`` described; ``DecoderStateError`` for anything else."""
        from ais.incremental.state import decoder_from_state

        return decoder_from_state(meta, arrays)

    def _source(self, source: str) -> int:
        i = self._index.get(source)
        if i is None:
            i = self._index[source] = len(self.names)
            self.names.append(source)
        return i

    def feed(self, source: str, data: bytes, *, final: bool = False, framed=None,
             spare=None) -> Decoded:
        """Decode the next bytes of ``source``. Its last line waits for its newline unless
        ``final`` (the end of that input). ``data``: bytes or any bytes-like object (not
        kept once the call returns). ``framed``: what ``prepare(data)`` gave, when it was
        called ahead (in another thread: ``ais.reading``); used up by this call.
        ``spare``: a writable uint8 array that ``data`` is the start of, whose bytes after
        ``data`` this call may overwrite (the fast path extends the chunk there instead
        of copying it)."""
        if self.decoder == "fast":      # the same stages in bulk: ais.incremental.fast_feed
            from ais.incremental import fast_feed
            return fast_feed.feed(self, source, data, final=final, framed=framed, spare=spare)
        i = self._source(source)
        before = dict(self.framer.counts)
        dups_before = self.deduper.duplicates
        sentences, frame_rejects = self.framer.frame(i, station_name(source), data, final=final)
        messages, orphans = self.assembler.assemble(sentences)
        keep = self.deduper.keep_mask(messages)
        n_messages = len(messages)
        messages = messages.take(np.flatnonzero(keep))
        parts = get_decoder(self.decoder)(messages)
        rejects = RejectTable.concat([frame_rejects, orphans, parts.rejects])
        counts = {k: self.framer.counts[k] - before[k] for k in before}
        counts.update(messages=n_messages, duplicates=self.deduper.duplicates - dups_before,
                      no_receive_time=int(np.isnan(messages.time).sum()))
        return Decoded(parts.positions, parts.statics, rejects_frame(rejects, self.names),
                       counts, parts.types)

    def prepare(self, data: bytes):
        """Work on ``data`` that needs no decoder state (the fast path frames its lines),
        safe to run in another thread ahead of ``feed(..., framed=...)``; None when there
        is nothing to do ahead."""
        if self.decoder != "fast":
            return None
        from ais.incremental import fast_framing
        return fast_framing.frame_ahead(data, self.framer.params.max_sentence_bytes)

    def end_source(self, source: str) -> Decoded:
        """The input ended: decode its last line even without a newline."""
        return self.feed(source, b"", final=True)

    def finish(self) -> Decoded:
        """End of all input: last lines of every source, then open fragments -> rejects."""
        done = [self.end_source(name) for name in list(self.names)
                if self.framer.states.get(self._index[name]) is not None
                and self.framer.states[self._index[name]].partial]
        orphans = self.assembler.finish()
        done.append(Decoded(rejects=rejects_frame(orphans, self.names)))
        return Decoded.merge(done)
