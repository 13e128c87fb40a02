"""A library does not change its host (CONVENTIONS.md, 16).

In a fresh process, importing every module of ``ais``, ``ports``, ``detectors`` and
``shadowfleet`` and reading a feed with each decoder leaves the process as it was: the
same signal handlers, umask, environment and numba thread count, and glibc's allocator
with its defaults (new threads get arenas of their own; a 64 MiB block is ``mmap``-ed).
The ``shadowfleet`` command's process does tune the allocator (``shadowfleet.tuning``):
that is checked the same way.
"""

import json
import subprocess
import sys

import pytest

from tests._live_feeds import REPO, cli_env

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="observes glibc and /proc")

# helpers run inside the child process
PROBE = r'''
import ctypes, json, os, signal, sys, threading

libc = ctypes.CDLL("libc.so.6")

def umask():
    for line in open("/proc/self/status"):
        if line.startswith("Umask:"):
            return line.split()[1]

def handlers():
    out = {}
    for s in signal.valid_signals():
        try:
            h = signal.getsignal(s)
        except (OSError, ValueError):
            continue
        out[int(s)] = h if isinstance(h, int) else repr(h)
    return out

def state():
    import numba
    return {"umask": umask(), "signals": handlers(), "env": dict(os.environ),
            "numba_threads": numba.get_num_threads()}

class MallInfo2(ctypes.Structure):
    _fields_ = [(n, ctypes.c_size_t) for n in ("arena", "ordblks", "smblks", "hblks", "hblkhd",
                                               "usmblks", "fsmblks", "uordblks", "fordblks",
                                               "keepcost")]

def big_block_is_mmapped():
    """Whether glibc serves a 64 MiB block with mmap (its default above 32 MiB)."""
    libc.mallinfo2.restype = MallInfo2
    libc.malloc.restype = ctypes.c_void_p
    libc.free.argtypes = (ctypes.c_void_p,)
    before = libc.mallinfo2().hblkhd
    p = libc.malloc(64 << 20)
    grown = libc.mallinfo2().hblkhd - before
    libc.free(p)
    return grown >= 64 << 20

def arenas_after_threads(n=3):
    """glibc arenas while ``n`` new threads that have allocated are alive (each gets an
    arena of its own unless the arena limit is reached); ``malloc_stats`` prints one
    block per arena on stderr."""
    import numpy as np
    allocated, done = threading.Barrier(n + 1), threading.Event()
    def work():
        a = np.ones(1 << 20)
        allocated.wait()
        done.wait()
        del a
    threads = [threading.Thread(target=work) for _ in range(n)]
    for t in threads:
        t.start()
    allocated.wait()
    r, w = os.pipe()
    saved = os.dup(2)
    os.dup2(w, 2)
    libc.malloc_stats()
    os.dup2(saved, 2)
    os.close(w)
    text = os.read(r, 1 << 20).decode()
    done.set()
    for t in threads:
        t.join()
    return sum(1 for line in text.splitlines() if line.startswith("Arena "))

def nmea_feed(path):
    """A few timed sentences: a position report, a type 5 in two fragments, a copy."""
    def xor(b):
        x = 0
        for c in b:
            x ^= c
        return x
    lines = []
    for k, body in enumerate(["AIVDM,1,1,,A,13u?etPv2;0n:dDPwUM1U1Cb069D,0",
                              "AIVDM,2,1,3,A,55?MbV02;H;s<HtKR20EHE:0@T4@Dn2222222216L961O5Gf0NSQEp6ClRp8,0",
                              "AIVDM,2,2,3,A,88888888880,2",
                              "AIVDM,1,1,,A,13u?etPv2;0n:dDPwUM1U1Cb069D,0"]):
        tag = f"s:r{k % 2},c:{1694080000 + k}"
        lines.append(f"\\{tag}*{xor(tag.encode()):02X}\\!{body}*{xor(body.encode()):02X}")
    with open(path, "w") as fh:
        fh.write("\n".join(lines) + "\n")
'''

LIBRARY = PROBE + r'''
import importlib, pkgutil, tempfile
import numpy, pandas, pyarrow, numba, pyais, shapely, sklearn, matplotlib, yaml, click
before = state()
for name in ("ais", "ports", "detectors", "shadowfleet"):
    pkg = importlib.import_module(name)
    for info in pkgutil.walk_packages(pkg.__path__, prefix=name + "."):
        if not info.name.endswith(".__main__"):
            importlib.import_module(info.name)
import ais
feed = os.path.join(tempfile.mkdtemp(), "feed.nmea")
nmea_feed(feed)
for decoder in ("fast", "pyais"):
    assert len(ais.read_inputs([feed], decoder=decoder).positions) == 1
after = state()
print(json.dumps({"same": before == after,
                  "changed": sorted(k for k in before if before[k] != after[k]),
                  "arenas": arenas_after_threads(), "mmapped": big_block_is_mmapped()}))
'''

COMMAND = PROBE + r'''
from shadowfleet import tuning
tuning.command_started()            # what shadowfleet.__main__ does first
tuning.command_chosen(sys.argv[1])  # what the command line's group does
import ais, pandas
print(json.dumps({"arenas": arenas_after_threads(), "mmapped": big_block_is_mmapped()}))
'''


def _run(code: str, *args: str) -> dict:
    out = subprocess.run([sys.executable, "-c", code, *args], cwd=REPO, env=cli_env(),
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def _glibc() -> bool:
    import ctypes
    try:
        ctypes.CDLL("libc.so.6").mallinfo2
    except (OSError, AttributeError):
        return False
    return True


def test_importing_and_reading_leave_the_process_as_it_was():
    got = _run(LIBRARY)
    assert got["same"], f"changed by importing or reading: {got['changed']}"
    if not _glibc():
        pytest.skip("not glibc >= 2.33: allocator settings not observable")
    assert got["arenas"] >= 4, "new threads share arenas (M_ARENA_MAX set)"
    assert got["mmapped"], "a 64 MiB block came from the heap (mmap threshold raised)"


@pytest.mark.skipif(not _glibc(), reason="not glibc >= 2.33: allocator settings not observable")
@pytest.mark.parametrize("command, keeps_freed", [("decode", True), ("detect", True),
                                                   ("demo", True), ("watch", False),
                                                   ("job", False)])
def test_the_command_tunes_its_own_process(command, keeps_freed):
    got = _run(COMMAND, command)
    assert got["arenas"] == 1                   # one heap for every thread, every command
    assert got["mmapped"] is not keeps_freed    # freed memory kept for bulk reads only


def test_the_command_says_so_in_its_help():
    from click.testing import CliRunner

    from shadowfleet.cli import main

    text = " ".join(CliRunner().invoke(main, ["--help"]).output.split())
    assert "tunes glibc's memory allocator for its own process" in text


END_OF_READ = PROBE + r'''
from shadowfleet import tuning
if sys.argv[1] == "command":
    tuning.command_started()
    tuning.command_chosen("detect")
import ais, pandas
kept = not big_block_is_mmapped()
ended = tuning.end_bulk_read()
print(json.dumps({"kept": kept, "ended": ended, "mmapped": big_block_is_mmapped(),
                  "again": tuning.end_bulk_read()}))
'''


AFTER_THE_READ = PROBE + r'''
from shadowfleet import tuning
if sys.argv[1] == "command":
    tuning.command_started()
    tuning.command_chosen("detect")
import ais, pandas
before = tuning.trim_heap()
tuning.end_bulk_read()
print(json.dumps({"before": before, "after": tuning.trim_heap(),
                  "again": tuning.trim_heap()}))
'''


@pytest.mark.skipif(not _glibc(), reason="not glibc >= 2.33: allocator settings not observable")
def test_detect_trims_its_heap_during_and_after_the_read():
    """``tuning.trim_heap`` (what ``detect`` calls while the read's pieces are joined
    and between the analysis's steps) trims the heap in a command's process that reads
    in bulk, during and after the read, as often as it is called; in a library caller
    it does nothing."""
    assert _run(AFTER_THE_READ, "command") == {"before": True, "after": True, "again": True}
    assert _run(AFTER_THE_READ, "library") == {"before": False, "after": False,
                                               "again": False}


@pytest.mark.skipif(not _glibc(), reason="not glibc >= 2.33: allocator settings not observable")
def test_detect_gives_the_read_s_memory_back_when_the_read_ends():
    """``tuning.end_bulk_read`` (what ``pipeline.decode`` calls once the read is over):
    in the command's process, large blocks are mmap-ed (given back on free) again for
    the analysis; in a process that only imports the library it does nothing."""
    got = _run(END_OF_READ, "command")
    assert got == {"kept": True, "ended": True, "mmapped": True, "again": False}
    got = _run(END_OF_READ, "library")
    assert got == {"kept": False, "ended": False, "mmapped": True, "again": False}
