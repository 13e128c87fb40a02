"""Coverage-guided fuzzing of the framer: both decoders on the same bytes must agree.

atheris (``pip install atheris``; not a dependency of the project) mutates inputs guided
by the coverage of the Python code it instruments: the reference framer
(``ais.framing.nmea``), the assembly and the pyais decoding. Each input is fed, as one
chunk of a feed, to an ``IncrementalDecoder`` of each kind (``fast``: the numba framer,
which hands the lines it does not frame to the reference; ``pyais``: the reference all
the way), then ``finish``; the harness fails on an exception of either and on any
difference between their positions, statics, rejects (line, reason, text) and counts.

    python benchmarks/fuzz_framer.py -max_total_time=300 [-seed=1] [CORPUS_DIR]

Without a corpus directory it starts from a few lines of the bundled feed and of the
real samples in ``tests/data/ais``. A crash writes the input to ``crash-*`` (libFuzzer).
"""

from __future__ import annotations

import gzip
import sys
import tempfile
from pathlib import Path

import atheris

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

# the Python code only: numba cannot compile instrumented kernels
KERNEL_MODULES = ["ais._numba", "ais.assembly.dedup", "ais.assembly.fast_dedup",
                  "ais.assembly.fast_fragments", "ais.decoding.payloads",
                  "ais.framing.fast_lines", "ais.framing.line_kernel", "ais.tables.order",
                  "ais.tables.spans"]
with atheris.instrument_imports(include=["ais"], exclude=KERNEL_MODULES):
    import ais
    from ais.tables.decoded import Decoded

COUNTS = ("lines_read", "sentences", "non_ais_sentences", "tagblock_checksum_errors",
          "messages", "duplicates", "no_receive_time", "rejected")


def decode(kind: str, data: bytes) -> Decoded:
    dec = ais.IncrementalDecoder(decoder=kind)
    return Decoded.merge([dec.feed("fuzz", data), dec.finish()])


def same(a: Decoded, b: Decoded) -> str | None:
    for k in COUNTS:
        if a.stats[k] != b.stats[k]:
            return f"count {k}: fast {a.stats[k]} pyais {b.stats[k]}"
    if a.stats["messages_by_type"] != b.stats["messages_by_type"]:
        return "messages_by_type"
    if a.stats["rejected_by_reason"] != b.stats["rejected_by_reason"]:
        return f"reasons: fast {a.stats['rejected_by_reason']} pyais {b.stats['rejected_by_reason']}"
    for name in ("positions", "statics"):
        x, y = getattr(a, name).reset_index(drop=True), getattr(b, name).reset_index(drop=True)
        if not x.equals(y):
            return name
    cols = ["line", "reason", "text"]
    x = a.rejects[cols].sort_values(cols, kind="mergesort").reset_index(drop=True)
    y = b.rejects[cols].sort_values(cols, kind="mergesort").reset_index(drop=True)
    if not x.equals(y):
        return "rejects"
    return None


def one_input(data: bytes) -> None:
    a = decode("fast", data)
    b = decode("pyais", data)
    problem = same(a, b)
    if problem:
        raise AssertionError(f"decoders differ ({problem}) on {data[:300]!r}")


def seed_corpus(folder: Path) -> None:
    lines = gzip.decompress((REPO / "shadowfleet" / "data" / "demo"
                             / "najin-dunay-2023.nmea.gz").read_bytes()).split(b"\n")
    samples = [lines[3:9], lines[100:104]]
    for path in sorted((REPO / "tests" / "data" / "ais").rglob("*")):
        if path.is_file() and path.suffix in (".nmea", ".txt", ".log", ""):
            samples.append(path.read_bytes().split(b"\n")[:6])
    for i, sample in enumerate(samples):
        (folder / f"seed-{i:03d}").write_bytes(b"\n".join(sample) + b"\n")


def main() -> None:
    args = list(sys.argv)
    if not any(not a.startswith("-") for a in args[1:]):
        corpus = Path(tempfile.mkdtemp(prefix="fuzz-framer-"))
        seed_corpus(corpus)
        args.append(str(corpus))
    decode("fast", b"!AIVDM,1,1,,A,13aG?P0P00PD;88MD5MTDww@2<0L,0*71\n")   # compile first
    atheris.Setup(args, one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
