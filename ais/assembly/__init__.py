"""Assembly and dedup: fragments joined into messages, multi-receiver copies dropped.

``fragments`` (``Assembler``) and ``dedup`` (``Deduplicator``) hold the rules and the
state kept between calls; ``fast_fragments`` and ``fast_dedup`` are their numba paths,
working on the same state.
"""
