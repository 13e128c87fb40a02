"""``IncrementalDecoder``: framing -> assembly and dedup -> decoding, with the state of
each stage kept between calls (``decoder``); ``fast_framing`` and ``fast_feed`` are its
fast path on whole chunks.
"""
