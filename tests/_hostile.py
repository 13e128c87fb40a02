"""Hostile feeds for the tests: a real feed with junk lines of every kind spliced in.

``spliced(lines, rng, share)`` inserts, after about ``share`` of the lines, one junk line
of a kind drawn in turn: a sentence cut short, a copy with one bit flipped, a copy with a
wrong checksum, binary bytes, a 100 KB line, an orphan fragment, NUL padding alone, and
a valid sentence behind NUL padding (a serial capture's: it must still decode). It
returns the new lines and, for each original line, its line number in the new feed, so a
test can say which rejects are the junk's and which the feed had already.
"""

from __future__ import annotations

import gzip
import random
from pathlib import Path

from ais.encode import checksum

FEED = Path(__file__).resolve().parents[1] / "shadowfleet" / "data" / "demo" / "najin-dunay-2023.nmea.gz"

# never a sentence start, a comment or a line end: binary junk stays junk
_BINARY = bytes(b for b in range(256) if b not in b"\n\r#!$\\")
KINDS = ("nul_only", "cut", "bit_flip", "bad_checksum", "binary", "huge", "orphan")


def feed_lines(n: int | None = None) -> list[bytes]:
    """The bundled simulated feed's lines (its comment lines first), the first ``n``."""
    lines = gzip.decompress(FEED.read_bytes()).split(b"\n")
    if lines and not lines[-1]:
        lines.pop()
    return lines[:n] if n is not None else lines


def _sentence_part(line: bytes) -> tuple[bytes, bytes]:
    """(tag block, sentence) of a tag-blocked line."""
    k = line.rfind(b"\\")
    return line[:k + 1], line[k + 1:]


def junk_line(kind: str, template: bytes, rng: random.Random) -> bytes:
    """One junk line of ``kind``, made from ``template`` (a valid tag-blocked sentence)."""
    tag, sentence = _sentence_part(template)
    if kind == "cut":                       # cut inside the payload: no checksum
        return tag + sentence[:rng.randrange(16, sentence.rfind(b","))]
    if kind == "bit_flip":                  # one bit of the payload: checksum fails
        star = sentence.rfind(b"*")
        body = bytearray(sentence)
        while True:
            k = rng.randrange(7, star)
            flipped = body[k] ^ (1 << rng.randrange(7))
            if flipped not in b"\n\r*!$\\" and flipped != body[k]:
                body[k] = flipped
                return tag + bytes(body)
    if kind == "bad_checksum":
        star = sentence.rfind(b"*")
        good = sentence[star + 1:star + 3]
        bad = b"%02X" % ((int(good, 16) + rng.randrange(1, 256)) % 256)
        return tag + sentence[:star + 1] + bad + sentence[star + 3:]
    if kind == "binary":
        first = rng.choice([b for b in _BINARY if b > 32])
        return bytes([first]) + bytes(rng.choice(_BINARY) for _ in range(rng.randrange(8, 120)))
    if kind == "huge":
        return b"A" * 100_000
    if kind == "orphan":                    # fragment 1 of 3 from a receiver of its own
        body = "AIVDM,3,1,7,B,53cG?P0000000000000000000000000000000000,0"
        station = f"s:JUNKRX{rng.randrange(1000)},c:{1691625600 + rng.randrange(10**6)}"
        return f"\\{station}*{checksum(station)}\\!{body}*{checksum(body)}".encode()
    if kind == "nul_only":
        return b"\x00" * rng.randrange(1, 64)
    raise ValueError(kind)


def spliced(lines: list[bytes], rng: random.Random, share: float = 0.25
            ) -> tuple[list[bytes], list[int], dict[int, str]]:
    """``lines`` with junk after about ``share`` of them (a fifth of the result when
    share is 0.25) and NUL padding before some valid sentences.

    Returns (new lines, the new line number of each original line, {new line number:
    junk kind} for every junk line)."""
    out: list[bytes] = []
    where: list[int] = []
    junk: dict[int, str] = {}
    templates = [ln for ln in lines if ln.startswith(b"\\") and b"!AIVDM,1,1," in ln]
    k = 0
    for line in lines:
        if line.startswith(b"\\") and (rng.random() < 0.02 or not where or where[-1] < 5):
            line = b"\x00" * rng.randrange(1, 8) + line      # NUL padding: still valid
        out.append(line)
        where.append(len(out))
        if not line.startswith(b"#") and rng.random() < share:
            kind = KINDS[k % len(KINDS)]
            k += 1
            out.append(junk_line(kind, rng.choice(templates), rng))
            junk[len(out)] = kind
    return out, where, junk
