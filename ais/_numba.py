"""Numba settings for every kernel of the project, in one place.

It lives in ``ais``, the lowest layer that compiles kernels, so that ``ports``,
``detectors`` and ``shadowfleet`` import it from below (CONVENTIONS.md, 4 and 15).

``cache=True`` so compiled kernels are reused across processes (tests, CLI runs), in
numba's disk cache keyed on the sources a kernel may compile in (:mod:`ais._kernel_cache`).
No fastmath: positions use NaN for "not available" and fastmath assumes no NaN.
Thresholds are passed as arguments, never read from globals (numba freezes globals
at compile time).
"""

from __future__ import annotations

import numba
from llvmlite import ir
from numba.core.dispatcher import Dispatcher
from numba.core import cgutils, types
from numba.extending import intrinsic

from ais._kernel_cache import enable as _enable_kernel_cache

KERNEL = dict(cache=True, nogil=True)


def njit(*args, **kwargs):
    """``numba.njit`` with the project's settings (``parallel`` may be added per kernel).

    ``cache=True`` is the project's disk cache (:mod:`ais._kernel_cache`): numba's, but
    stamped with the sources of every project module the kernel's module imports, so a
    change to a helper module is seen by the kernels that compile it in."""
    opts = {**KERNEL, **kwargs}
    cache = opts.pop("cache")
    sigs = None
    if args and not callable(args[0]):
        sigs, args = args[0], args[1:]

    def decorate(fn):
        disp = numba.njit(**opts)(fn)
        if isinstance(disp, Dispatcher):          # not with NUMBA_DISABLE_JIT
            if cache:
                _enable_kernel_cache(disp)
            if sigs is not None:
                for sig in (sigs if isinstance(sigs, (list, tuple)) else [sigs]):
                    disp.compile(sig)
                disp.disable_compile()
        return disp

    if args and callable(args[0]):
        return decorate(args[0])
    return decorate


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
