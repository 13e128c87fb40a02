"""The tables of ``ais``: what passes between the stages and what comes out.

``columns``: the sentence, message and reject tables (equal-length numpy arrays) passed
from framing to assembly to decoding; ``spans``: byte spans of one buffer (ids, strings)
without a loop in Python; ``frames``: the contract frames built from columns (and
``PositionBatch``, positions kept as columns until asked for); ``order``: the contract
row order in numba; ``decoded``: ``Decoded``, what a read gives.
"""
