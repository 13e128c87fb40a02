"""Decoding: assembled messages -> the positions and statics frames.

``fields`` states what is read from each message type and the value rules;
``reference`` decodes with pyais, one message at a time (the reference); ``payloads``
(numba kernels on the armoured payload bytes) and ``fast`` (the table rules around them)
are the fast decoder; ``decoders`` chooses one (``"pyais"`` or ``"fast"``).
"""
