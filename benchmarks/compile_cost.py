"""What the first run after an install compiles: numba's compile time per kernel.

Runs ``shadowfleet demo`` in a fresh process with an empty ``NUMBA_CACHE_DIR`` (so every
kernel it reaches is compiled, none loaded) and without the second process of
:mod:`shadowfleet.warmup` (so that every compile happens in the measured process, one
after another: the table is the compile WORK, not how it is shared out). numba's event
API (``numba:compile``, fired for a real compile only) records each compile's start and
end, per thread; a compile nested in another (a kernel calling an ``@njit`` function
compiles it during its own type inference) is counted apart, so that

Times are CPU time of the compiling thread (the work, much less sensitive to the
machine's load than wall time):

- ``self s``: the kernel's own compile (type inference, lowering and LLVM of its body,
  and of every ``inline='always'`` or ``helper`` function inlined into it), and
- ``incl s``: with the compiles nested in it,

and the total is the sum of the outermost compiles (``self`` summed over all rows gives
the same). ``sigs`` counts the kernel's specialisations (argument types) compiled;
``typing`` and ``lower`` split ``self`` into numba's nopython type inference (less the
nested compiles it triggered) and its lowering + LLVM optimisation (from the compile's pass timings; the rest is IR passes,
rewrites and linking). Then the demo's wall and CPU time in that process (compiling
included).

    python benchmarks/compile_cost.py                       # this checkout
    python benchmarks/compile_cost.py --baseline ../other   # and another, alternating
    python benchmarks/compile_cost.py --rounds 2 --top 25

Every figure is CPU-bound compile work on one core: on a busy machine it grows with the
load (printed beside it); compare checkouts in the same run (``--baseline``).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve()
CHECKOUT = HERE.parents[1]


# --------------------------------------------------------------------------- the child

def _child(out_json: str, what: str) -> None:
    """In the measured process: run ``what`` with a compile recorder; write the records."""
    import threading

    from numba.core import event

    records: list[dict] = []
    local = threading.local()

    class _Recorder(event.Listener):
        def on_start(self, ev):
            stack = getattr(local, "stack", None)
            if stack is None:
                stack = local.stack = []
            # start (CPU time of this thread: the compile's work, whatever the load),
            # CPU time of the compiles nested in it
            stack.append([time.thread_time(), 0.0])

        def on_end(self, ev):
            start, nested = local.stack.pop()
            dur = time.thread_time() - start
            if local.stack:
                local.stack[-1][1] += dur
            disp = ev.data["dispatcher"]
            fn = getattr(disp, "py_func", None)
            name = (f"{fn.__module__}.{fn.__qualname__}" if fn is not None
                    else type(disp).__name__)
            args = tuple(ev.data["args"])
            records.append({"kernel": name, "sig": str(args), "incl": dur,
                            "self": dur - nested, "nested": nested,
                            "depth": len(local.stack),
                            "thread": threading.current_thread().name,
                            "_disp": disp, "_args": args})

    event.register("numba:compile", _Recorder())

    import shadowfleet
    from shadowfleet import warmup

    warmup.start = lambda: None                    # every compile in this process
    t_wall, t_cpu = time.perf_counter(), time.process_time()
    if what == "demo":
        from shadowfleet.cli import main

        with tempfile.TemporaryDirectory(prefix="compile-cost-") as out:
            try:
                main(["demo", "--out", out, "--quiet"], standalone_mode=False)
            except SystemExit as e:                # click's exit for a finished command
                if e.code not in (0, None):
                    raise
    else:
        raise SystemExit(f"unknown --what {what!r}")
    wall, cpu = time.perf_counter() - t_wall, time.process_time() - t_cpu

    for r in records:                              # numba's pass timings of the compile
        disp, args = r.pop("_disp"), r.pop("_args")
        r["typing"] = r["lower"] = None
        try:
            meta = disp.overloads[args].metadata
            times = meta.get("pipeline_times", {})
        except Exception:
            continue
        typing = lower = 0.0
        for passes in times.values():
            for pass_name, t in passes.items():
                total = t.init + t.run + t.finalize
                if "nopython_type_inference" in pass_name:
                    typing += total
                elif "native_lowering" in pass_name:
                    lower += total
        # nested compiles happen during type inference (a call typed compiles its callee)
        r["typing"], r["lower"] = max(0.0, typing - r["nested"]), lower
    with open(out_json, "w") as f:
        json.dump({"records": records, "wall": wall, "cpu": cpu,
                   "module": shadowfleet.__file__}, f)


# --------------------------------------------------------------------------- the parent

def _measure(checkout: Path, what: str) -> dict:
    """One fresh process on ``checkout`` with an empty numba cache: its records."""
    with tempfile.TemporaryDirectory(prefix="compile-cost-cache-") as cache, \
            tempfile.NamedTemporaryFile(suffix=".json", delete=False) as tmp:
        env = {**os.environ, "NUMBA_CACHE_DIR": cache, "PYTHONPATH": str(checkout)}
        load = os.getloadavg()[0]
        t = time.perf_counter()
        p = subprocess.run([sys.executable, str(HERE), "--child", tmp.name, "--what", what],
                           env=env, cwd=str(checkout), capture_output=True, text=True)
        wall = time.perf_counter() - t
        if p.returncode != 0:
            sys.stderr.write(p.stderr[-4000:])
            raise SystemExit(f"the measured process on {checkout} exited {p.returncode}")
        with open(tmp.name) as f:
            res = json.load(f)
        os.unlink(tmp.name)
    if not res["module"].startswith(str(checkout)):
        raise SystemExit(f"the measured process imported {res['module']}, not {checkout}")
    res["process_wall"], res["load"] = wall, load
    return res


def _table(res: dict) -> dict[str, dict]:
    rows: dict[str, dict] = {}
    for r in res["records"]:
        row = rows.setdefault(r["kernel"], {"sigs": 0, "self": 0.0, "incl": 0.0,
                                            "typing": 0.0, "lower": 0.0})
        row["sigs"] += 1
        row["self"] += r["self"]
        row["incl"] += r["incl"]
        row["typing"] += r["typing"] or 0.0
        row["lower"] += r["lower"] or 0.0
    return rows


def _total(res: dict) -> float:
    return sum(r["incl"] for r in res["records"] if r["depth"] == 0)


def _print(label: str, results: list[dict], top: int) -> dict[str, float]:
    """The per-kernel table of ``label``'s rounds (each kernel's least self time)."""
    tables = [_table(r) for r in results]
    names = set().union(*tables)
    best = {}
    for n in names:
        rows = [t[n] for t in tables if n in t]
        best[n] = min(rows, key=lambda r: r["self"])
    order = sorted(best, key=lambda n: -best[n]["self"])
    print(f"\n== {label}: {len(order)} kernels, "
          f"{sum(best[n]['sigs'] for n in order)} specialisations compiled")
    print(f"{'kernel':<62} {'sigs':>4} {'self s':>7} {'incl s':>7} {'typing':>7} {'lower':>7}")
    for n in order[:top]:
        r = best[n]
        print(f"{n[-62:]:<62} {r['sigs']:>4} {r['self']:>7.2f} {r['incl']:>7.2f} "
              f"{r['typing']:>7.2f} {r['lower']:>7.2f}")
    rest = order[top:]
    if rest:
        print(f"{'(' + str(len(rest)) + ' more)':<62} {sum(best[n]['sigs'] for n in rest):>4} "
              f"{sum(best[n]['self'] for n in rest):>7.2f}")
    for i, r in enumerate(results):
        print(f"round {i + 1}: compile total {_total(r):.1f} s; demo wall {r['wall']:.1f} s, "
              f"CPU {r['cpu']:.1f} s (process {r['process_wall']:.1f} s); load {r['load']:.2f}")
    return {n: best[n]["self"] for n in order}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--baseline", type=Path, metavar="CHECKOUT",
                    help="also measure this checkout, alternating rounds with this one")
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--top", type=int, default=40, help="rows of the table (default 40)")
    ap.add_argument("--what", default="demo", choices=["demo"])
    ap.add_argument("--json", type=Path, help="write every round's records here")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        _child(args.child, args.what)
        return

    print(f"{os.cpu_count()} CPUs; load {os.getloadavg()}")
    checkouts = {"this": CHECKOUT}
    if args.baseline:
        checkouts["baseline"] = args.baseline.resolve()
    results: dict[str, list[dict]] = {k: [] for k in checkouts}
    for i in range(args.rounds):
        for label in (["baseline", "this"] if args.baseline and i % 2 == 0
                      else list(checkouts)):
            if label in checkouts:
                results[label].append(_measure(checkouts[label], args.what))
    selfs = {label: _print(f"{label} ({checkouts[label]})", results[label], args.top)
             for label in checkouts}
    if args.baseline:
        t_this = min(_total(r) for r in results["this"])
        t_base = min(_total(r) for r in results["baseline"])
        print(f"\ncompile total: baseline {t_base:.1f} s -> this {t_this:.1f} s "
              f"({t_this - t_base:+.1f} s)")
        diffs = sorted(set(selfs["this"]) | set(selfs["baseline"]),
                       key=lambda n: selfs["this"].get(n, 0) - selfs["baseline"].get(n, 0))
        print(f"{'largest changes (self s)':<62} {'base':>7} {'this':>7}")
        for n in diffs[:12]:
            print(f"{n[-62:]:<62} {selfs['baseline'].get(n, 0):>7.2f} {selfs['this'].get(n, 0):>7.2f}")
    if args.json:
        args.json.write_text(json.dumps(results))


if __name__ == "__main__":
    main()
