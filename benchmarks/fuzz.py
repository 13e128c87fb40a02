"""Fuzzing at scale: mutated AIS lines through both decoders and ``detect``.

A corpus of real-looking lines (the bundled simulated feed: tag blocks, two receivers,
two-fragment type 5 messages, Class B) is cycled, each cycle shifted in time, and about
``--mutate`` of its lines are mutated, one mutation each, drawn from:

- ``random``: a line of random bytes (NUL and high bytes included);
- ``truncate``: the line cut at a random byte;
- ``bit_flip``: one to three bits flipped anywhere in the line;
- ``giant``: a line of 10 to 200 KB (random text, or the same sentence repeated with
  no line end between the copies);
- ``tag_block``: the tag block broken (backslash lost, checksum wrong, field garbled,
  no closing backslash, a tag block alone on its line);
- ``orphan``: one fragment of a multi-fragment message dropped (the other is an orphan);
- ``out_of_order``: the fragments of a message swapped;
- ``line_end``: mixed line endings (CR LF, a bare CR between two lines, LF CR, a line
  end dropped so two lines run together);
- ``nul``: NUL bytes before, inside or after the line;
- ``duplicate``: the line sent twice (a second receiver's copy).

The feed is decoded by ``ais.read_inputs`` with ``decoder="fast"`` and ``"pyais"`` and
run through ``shadowfleet.pipeline.detect``; the script checks that

1. nothing raises (a bad line never stops a run);
2. every message is accounted for: messages assembled = duplicates + messages decoded
   (by type) + messages rejected by the decoding stage, and every line of the file is
   read (``lines_read`` = the file's lines);
3. every line made junk on purpose (random bytes, a cut or wrong checksum, a giant
   line, NUL padding alone) is a reject with a reason of ``ais.reasons``;
4. both decoders give the same positions, statics, rejects (line, reason, text) and
   counts.

    python benchmarks/fuzz.py --lines 1000000 [--seed 1] [--mutate 0.3] [--gz]

Prints the counts per mutation, the decoding times and each check's result; exits 1 on
a failed check. The regular tests run a small seeded slice (``tests/test_fuzz.py``).
"""

from __future__ import annotations

import argparse
import collections
import gzip
import random
import re
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import ais  # noqa: E402
from ais import reasons  # noqa: E402
from ais.encode import checksum  # noqa: E402

FEED = (Path(__file__).resolve().parents[1] / "shadowfleet" / "data" / "demo"
        / "najin-dunay-2023.nmea.gz")
MUTATIONS = ("random", "truncate", "bit_flip", "giant", "tag_block", "orphan", "out_of_order",
             "line_end", "nul", "duplicate")
# mutations whose line is junk for certain: each must be a reject
SURE_JUNK = ("random_junk", "cut", "bad_checksum", "giant_junk", "nul_only")
_TAG = re.compile(rb"^\\([^\\]*)\*([0-9A-F]{2})\\")
_C = re.compile(rb"c:(\d+)")
CYCLE_SHIFT_S = 120 * 86_400          # each pass over the corpus, 120 days later
DECODE_REJECTS = (reasons.SHORT_PAYLOAD, reasons.UNDECODABLE, reasons.LAT_OUT_OF_RANGE,
                  reasons.LON_OUT_OF_RANGE)


def corpus() -> list[bytes]:
    """The bundled feed's AIS lines (comment lines left out), in order."""
    lines = gzip.decompress(FEED.read_bytes()).split(b"\n")
    return [ln for ln in lines if ln.startswith(b"\\")]


def shifted(line: bytes, seconds: int) -> bytes:
    """``line`` with its tag block's ``c:`` moved by ``seconds`` (checksum recomputed)."""
    m = _TAG.match(line)
    if not m or not seconds:
        return line
    body = _C.sub(lambda c: b"c:%d" % (int(c.group(1)) + seconds), m.group(1))
    return b"\\" + body + b"*" + checksum(body.decode()).encode() + b"\\" + line[m.end():]


# random bytes, with the line ends and sentence starts among them made an "x"
_JUNK = bytes.maketrans(b"\n\r!$\\#", b"xxxxxx")


def _random_bytes(rng: random.Random, n: int) -> bytes:
    """Random bytes with no line end and no sentence start: junk for certain."""
    return rng.randbytes(n).translate(_JUNK)


def _fragment_pair(lines: list[bytes], i: int) -> bool:
    """lines[i], lines[i + 1] are fragments 1 and 2 of one two-fragment message."""
    return (i + 1 < len(lines) and b"!AIVDM,2,1," in lines[i] and b"!AIVDM,2,2," in lines[i + 1])


def mutate(lines: list[bytes], rng: random.Random, share: float):
    """Yield ``(text, label)`` per output line: the corpus ``lines`` with about ``share``
    of them mutated. ``text`` has no trailing newline unless the mutation made it end in
    one of its own (line-end mutations); labels name what was done."""
    i = 0
    while i < len(lines):
        line = lines[i]
        if rng.random() >= share:
            yield line, "valid"
            i += 1
            continue
        kind = rng.choice(MUTATIONS)
        if kind in ("orphan", "out_of_order"):
            if not _fragment_pair(lines, i):
                yield line, "valid"
                i += 1
                continue
            if kind == "orphan":
                yield lines[i + rng.randrange(2)], "orphan"
            else:
                yield lines[i + 1], "out_of_order"
                yield lines[i], "out_of_order"
            i += 2
            continue
        i += 1
        if kind == "random":
            text = _random_bytes(rng, rng.randrange(1, 300))
            yield (text, "random_junk") if text.strip() else (text + b"x", "random_junk")
        elif kind == "truncate":
            star = line.rfind(b"*")
            cut = rng.randrange(line.rfind(b"\\") + 8, star)      # inside the sentence
            yield line[:cut], "cut"
        elif kind == "bit_flip":
            body = bytearray(line)
            for _ in range(rng.randrange(1, 4)):
                k = rng.randrange(len(body))
                body[k] ^= 1 << rng.randrange(8)
            yield bytes(body).replace(b"\n", b"\x0b"), "bit_flip"   # a flip to LF: not a line end
        elif kind == "giant":
            if rng.random() < 0.8:
                yield _random_bytes(rng, rng.randrange(10_000, 200_000)), "giant_junk"
            else:       # a stream without line ends: 2 to 200 copies on one line
                yield line * rng.randrange(2, 200), "giant_sentences"
        elif kind == "tag_block":
            end = line.rfind(b"\\")
            how = rng.randrange(5)
            if how == 0:
                yield line[1:], "tag_block"                       # opening backslash lost
            elif how == 1:
                star = line.find(b"*")
                yield line[:star + 1] + b"ZZ" + line[star + 3:], "tag_block"
            elif how == 2:
                k = rng.randrange(1, end)
                yield line[:k] + bytes([rng.randrange(33, 127)]) + line[k + 1:], "tag_block"
            elif how == 3:
                yield line[:end] + line[end + 1:], "tag_block"    # no closing backslash
            else:
                yield line[:end + 1], "tag_block"                 # a tag block alone
                yield line[end + 1:], "tag_block"
        elif kind == "line_end":
            how = rng.randrange(4)
            if how == 0:
                yield line + b"\r", "line_end"                    # CR LF
            elif how == 1:
                yield line + b"\n\r", "line_end"                  # LF CR: a CR line next
            elif how == 2 and i < len(lines):
                yield line + b"\r" + lines[i], "line_end"         # bare CR between two
                i += 1
            else:
                yield line + (lines[i] if i < len(lines) else b""), "line_end"   # LF lost
                i += 1 if i < len(lines) else 0
        elif kind == "nul":
            how = rng.randrange(4)
            pad = b"\x00" * rng.randrange(1, 16)
            if how == 0:
                yield pad + line, "nul"
            elif how == 1:
                yield line + pad, "nul"
            elif how == 2:
                k = rng.randrange(len(line))
                yield line[:k] + pad + line[k:], "nul"
            else:
                yield pad, "nul_only"
        else:
            yield line, "duplicate"
            yield line, "duplicate"


def write_feed(path: Path, n_lines: int, seed: int, share: float, gz: bool = False):
    """Write ``n_lines`` fuzzed lines; returns ({line number: label}, Counter of labels)."""
    rng = random.Random(seed)
    base = corpus()
    labels: dict[int, str] = {}
    counts: collections.Counter = collections.Counter()
    opener = gzip.open if gz else open
    written = 0
    cycle = 0
    with opener(path, "wb") as fh:
        while written < n_lines:
            start = rng.randrange(len(base)) if cycle == 0 else 0
            lines = [shifted(ln, cycle * CYCLE_SHIFT_S) for ln in base[start:start + n_lines - written]]
            out = []
            for text, label in mutate(lines, rng, share):
                written += 1 + text.count(b"\n")
                counts[label] += 1
                if label in SURE_JUNK:
                    labels[written] = label
                out.append(text)
                if written >= n_lines:
                    break
            fh.write(b"\n".join(out) + b"\n")
            cycle += 1
    return labels, counts


def decode_counts(d) -> dict:
    s = d.stats
    return {k: s[k] for k in ("lines_read", "sentences", "non_ais_sentences", "messages",
                              "duplicates", "no_receive_time", "rejected",
                              "tagblock_checksum_errors", "messages_by_type",
                              "rejected_by_reason", "positions", "statics")}


def check(path: Path, labels: dict[int, str], *, detect: bool = True, log=print) -> list[str]:
    """Run the checks of the module docstring on the fuzzed feed ``path``; returns the
    failures (empty: all passed)."""
    failures: list[str] = []
    decoded = {}
    for decoder in ("fast", "pyais"):
        started = time.perf_counter()
        try:
            d = ais.read_inputs([path], decoder=decoder)
        except Exception as exc:        # noqa: BLE001 - the check is that nothing raises
            failures.append(f"{decoder}: raised {exc.__class__.__name__}: {exc}")
            continue
        seconds = time.perf_counter() - started
        decoded[decoder] = d
        s = d.stats
        by_reason = s["rejected_by_reason"]
        decoded_msgs = sum(s["messages_by_type"].values())
        decode_rej = sum(by_reason.get(r, 0) for r in DECODE_REJECTS)
        log(f"{decoder}: {s['lines_read']:,} lines, {s['messages']:,} messages "
            f"({s['duplicates']:,} duplicates, {decoded_msgs:,} decoded, {decode_rej:,} "
            f"rejected when decoded), {s['rejected']:,} rejects, {seconds:.1f} s")
        if s["messages"] != s["duplicates"] + decoded_msgs + decode_rej:
            failures.append(f"{decoder}: messages {s['messages']} != duplicates "
                            f"{s['duplicates']} + decoded {decoded_msgs} + rejected {decode_rej}")
        with open(path, "rb") as fh:
            opener = gzip.open if fh.read(2) == b"\x1f\x8b" else open
        with opener(path, "rb") as fh:
            physical = sum(block.count(b"\n") for block in iter(lambda: fh.read(1 << 24), b""))
        if s["lines_read"] != physical:
            failures.append(f"{decoder}: lines_read {s['lines_read']} != {physical} lines")
        reject_lines = set(d.rejects["line"].tolist())
        missed = [n for n in labels if n not in reject_lines]
        if missed:
            failures.append(f"{decoder}: {len(missed)} junk lines not rejected, e.g. "
                            f"line {missed[0]} ({labels[missed[0]]})")
        unknown = set(by_reason) - set(reasons.ALL_REASONS)
        if unknown or d.rejects["reason"].isna().any():
            failures.append(f"{decoder}: reasons outside ais.reasons: {unknown}")
    if len(decoded) == 2:
        fast, ref = decoded["fast"], decoded["pyais"]
        if decode_counts(fast) != decode_counts(ref):
            failures.append(f"counts differ: fast {decode_counts(fast)} pyais {decode_counts(ref)}")
        for name in ("positions", "statics"):
            a, b = getattr(fast, name), getattr(ref, name)
            if not a.reset_index(drop=True).equals(b.reset_index(drop=True)):
                failures.append(f"{name} differ between the decoders")
        cols = ["source", "line", "reason", "text"]
        ra = fast.rejects[cols].sort_values(cols[:3], kind="mergesort").reset_index(drop=True)
        rb = ref.rejects[cols].sort_values(cols[:3], kind="mergesort").reset_index(drop=True)
        if not ra.equals(rb):
            failures.append("rejects differ between the decoders")
    if detect:
        from shadowfleet.pipeline import detect as run_detect

        started = time.perf_counter()
        try:
            result = run_detect([path], pairs=[("Najin", "Dunay")])
            log(f"detect: {len(result.positions):,} positions, {len(result.dark_periods):,} "
                f"dark periods, {len(result.alerts):,} alerts, "
                f"{time.perf_counter() - started:.1f} s")
        except Exception as exc:        # noqa: BLE001
            failures.append(f"detect raised {exc.__class__.__name__}: {exc}")
    return failures


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lines", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--mutate", type=float, default=0.3, help="share of corpus lines mutated")
    ap.add_argument("--gz", action="store_true", help="write the feed gzip-compressed")
    ap.add_argument("--keep", type=Path, help="write the feed here and keep it")
    ap.add_argument("--no-detect", action="store_true")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="fuzz-"))
    path = args.keep or work / ("fuzz.nmea.gz" if args.gz else "fuzz.nmea")
    started = time.perf_counter()
    labels, counts = write_feed(path, args.lines, args.seed, args.mutate, gz=args.gz)
    print(f"{args.lines:,} lines written ({path.stat().st_size / 1e6:.0f} MB) in "
          f"{time.perf_counter() - started:.0f} s; by mutation: "
          + ", ".join(f"{k} {v:,}" for k, v in counts.most_common()))
    failures = check(path, labels, detect=not args.no_detect)
    if not args.keep:
        path.unlink()
    for f in failures:
        print("FAILED:", f)
    print("all checks passed" if not failures else f"{len(failures)} check(s) failed")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
