"""Numba settings for every kernel of the project, in one place.

It lives in ``ais``, the lowest layer that compiles kernels, so that ``ports``,
``detectors`` and ``shadowfleet`` import it from below (CONVENTIONS.md, 4 and 15).

``cache=True`` so compiled kernels are reused across processes (tests, CLI runs), in
numba's disk cache keyed on the sources a kernel may compile in (:mod:`ais._kernel_cache`).
No fastmath: positions use NaN for "not available" and fastmath assumes no NaN.
Thresholds are passed as arguments, never read from globals (numba freezes globals
at compile time).

What the first run after an install compiles (``benchmarks/compile_cost.py`` prints it
per kernel) depends on how a kernel's helpers are declared:

- a plain ``njit`` function called from a kernel is a compile of its own (about 0.05 to
  0.1 s of CPU even for one line: its Python and C wrappers, an LLVM module), its code
  is optimised and generated again in each caller's module, and it is compiled again for
  every combination of constant arguments a kernel passes (``f(x, -1, True)``);
- a one-line or few-line helper called from small kernels is ``njit(inline="always")``:
  typed again at each call site, which costs less than a compile of its own. Not for
  large bodies, nor into a large kernel: typing grows faster than the function (the
  framer inlining its tag-block, ``$PGHP`` and sentence parsers compiled 25% slower, and
  ``_fast_line`` with its one-line byte helpers inlined took twice as long); measure
  with ``benchmarks/compile_cost.py``;
- a helper called with constant arguments is :func:`helper` (one build per argument
  types, constants or not).
"""

from __future__ import annotations

import functools
from contextlib import contextmanager
from typing import Iterator

import numba
import numpy as np
from llvmlite import ir
from numba.core.dispatcher import Dispatcher
from numba.core import cgutils, types
from numba.extending import intrinsic

from ais._kernel_cache import enable as _enable_kernel_cache

KERNEL = dict(cache=True, nogil=True)


# Inputs with fewer rows than this run a ``parallel=True`` kernel's one-thread build: the
# parallel build costs two to three times as much to compile (measured: the port-visit
# state machine 6.9 s of CPU against 2.2 s, the jump check 1.9 against 0.6) and saves
# nothing measurable on a few hundred thousand rows (the demo: 112,000 positions of 19
# vessels), so a run on such an input never compiles it. Larger inputs get the parallel
# build, compiled on their first use and cached.
PARALLEL_MIN_ROWS = 1_000_000


def njit(*args, **kwargs):
    """``numba.njit`` with the project's settings.

    ``cache=True`` is the project's disk cache (:mod:`ais._kernel_cache`): numba's, but
    stamped with the sources of every project module the kernel's module imports, so a
    change to a helper module is seen by the kernels that compile it in.

    ``parallel=True`` gives a :class:`SizedKernel`: a one-thread build for inputs under
    ``PARALLEL_MIN_ROWS`` rows and a parallel one (``prange`` on all cores) from there,
    each compiled only when first used. Called from Python only (never from another
    kernel)."""
    opts = {**KERNEL, **kwargs}
    sigs = None
    if args and not callable(args[0]):
        sigs, args = args[0], args[1:]

    def decorate(fn):
        if opts.get("parallel") is True and sigs is None and not numba.config.DISABLE_JIT:
            return SizedKernel(fn, opts)
        disp = _dispatcher(fn, opts)
        if sigs is not None and isinstance(disp, Dispatcher):
            for sig in (sigs if isinstance(sigs, (list, tuple)) else [sigs]):
                disp.compile(sig)
            disp.disable_compile()
        return disp

    if args and callable(args[0]):
        return decorate(args[0])
    return decorate


def _dispatcher(fn, opts, variant: str = ""):
    opts = dict(opts)
    cache = opts.pop("cache")
    disp = numba.njit(**opts)(fn)
    if cache and isinstance(disp, Dispatcher):     # not with NUMBA_DISABLE_JIT
        _enable_kernel_cache(disp, variant)
    return disp


_parallel_min_rows = PARALLEL_MIN_ROWS


def parallel_min_rows() -> int:
    """The row count from which :class:`SizedKernel` runs its parallel build."""
    return _parallel_min_rows


@contextmanager
def parallel_from(rows: int) -> Iterator[None]:
    """Run the parallel builds from ``rows`` rows within the block (``0``: always; the
    tests compare both builds)."""
    global _parallel_min_rows
    before, _parallel_min_rows = _parallel_min_rows, int(rows)
    try:
        yield
    finally:
        _parallel_min_rows = before


def pays_in_parallel(rows: int) -> bool:
    """Whether work over ``rows`` rows should take a kernel's parallel build."""
    return rows >= _parallel_min_rows and numba.get_num_threads() > 1


class SizedKernel:
    """A ``prange`` kernel built two ways, each compiled on first use: ``serial`` (the
    ``prange`` a plain loop) and ``parallel``. A call takes the parallel build when the
    longest array argument has at least ``PARALLEL_MIN_ROWS`` rows (and numba has more
    than one thread), else the serial one: the same results either way (each loop
    iteration writes only its own slice)."""

    def __init__(self, fn, opts):
        self.py_func = fn
        self.serial = _dispatcher(fn, {**opts, "parallel": False})
        self.parallel = _dispatcher(fn, {**opts, "parallel": True}, variant="-parallel")
        functools.update_wrapper(self, fn)

    def build_for(self, args) -> Dispatcher:
        rows = 0
        for a in args:
            if isinstance(a, np.ndarray) and a.ndim and a.shape[0] > rows:
                rows = a.shape[0]
        return self.parallel if pays_in_parallel(rows) else self.serial

    def __call__(self, *args):
        return self.build_for(args)(*args)

    def __repr__(self):
        return f"<SizedKernel {self.py_func.__module__}.{self.py_func.__qualname__}>"


def readonly(a):
    """A read-only view of array ``a`` (no copy), for the inputs a kernel only reads:
    numba compiles a kernel once per argument type, and an array pandas or pyarrow
    hands out read-only is another type than one numpy made; passing inputs as
    read-only views always gives one specialisation instead of two (each several
    seconds on the first run after an install)."""
    v = a.view()
    v.flags.writeable = False
    return v


def helper(fn):
    """A helper that kernels call (never a kernel itself): compiled into each kernel that
    calls it, for the argument types of the call. Unlike an ``njit`` function called from
    a kernel, it is not compiled again for every combination of constant arguments (a
    field decoder called with 78 different (bit, width) pairs compiled 78 times, about
    half a minute on the first run after an install). Still a plain Python function
    when called from Python."""
    from numba.extending import register_jitable

    return register_jitable(fn)


@intrinsic
def prefetch(typingctx, arr, idx):
    """Inside a kernel: ask the CPU to start loading ``arr[idx]`` into its caches (LLVM's
    ``llvm.prefetch``, for reading, kept close), so that a loop of random lookups (a hash
    table, a column read through an index) has many misses in flight at once. Only a
    hint: nothing is read, and an index out of the array never faults (the address is
    plain integer arithmetic, not an in-bounds element pointer). 1-D arrays."""
    if not isinstance(arr, types.Array) or arr.ndim != 1 or not isinstance(idx, types.Integer):
        return None

    def codegen(context, builder, signature, args):
        aryty, idxty = signature.args
        ary = context.make_array(aryty)(context, builder, args[0])
        intp = context.get_value_type(types.intp)
        stride = cgutils.unpack_tuple(builder, ary.strides, 1)[0]
        i = context.cast(builder, args[1], idxty, types.intp)
        addr = builder.add(builder.ptrtoint(ary.data, intp), builder.mul(i, stride))
        i32, i8p = ir.IntType(32), ir.IntType(8).as_pointer()
        fnty = ir.FunctionType(ir.VoidType(), [i8p, i32, i32, i32])
        fn = cgutils.get_or_insert_function(builder.module, fnty, "llvm.prefetch.p0")
        builder.call(fn, [builder.inttoptr(addr, i8p), i32(0), i32(3), i32(1)])  # read, keep, data
        return context.get_dummy_value()

    return types.void(arr, idx), codegen


@intrinsic
def load8(typingctx, arr, idx):
    """Inside a kernel: the 8 bytes ``arr[idx:idx + 8]`` of a uint8 array as one
    little-endian uint64 (any alignment; the caller keeps ``idx + 8 <= len(arr)``)."""
    def codegen(context, builder, signature, args):
        ary = context.make_array(signature.args[0])(context, builder, args[0])
        ptr = builder.gep(ary.data, [args[1]])
        return builder.load(builder.bitcast(ptr, ir.IntType(64).as_pointer()), align=1)
    return types.uint64(arr, idx), codegen


@intrinsic
def store8(typingctx, arr, idx, value):
    """Inside a kernel: write the uint64 ``value`` little-endian to the 8 bytes
    ``arr[idx:idx + 8]`` of a uint8 array (any alignment; the caller keeps
    ``idx + 8 <= len(arr)``)."""
    def codegen(context, builder, signature, args):
        ary = context.make_array(signature.args[0])(context, builder, args[0])
        ptr = builder.gep(ary.data, [args[1]])
        builder.store(args[2], builder.bitcast(ptr, ir.IntType(64).as_pointer()), align=1)
        return context.get_dummy_value()
    return types.void(arr, idx, types.uint64), codegen
