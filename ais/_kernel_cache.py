"""numba's disk cache for the project's kernels, keyed on every source a kernel can use.

numba's own cache (``cache=True``) stamps a kernel's compiled code with the source of
the one file that defines it. A kernel that calls an ``@njit`` function of another module
has that function compiled into it, and constants of other modules frozen into it: when
only that other module changes, numba still loads the old machine code (it hid a
failing test here; it would hit a user who upgrades, or a developer who pulls).

Here a kernel's stamp covers its module and every module of the project that module
imports, transitively: the import statements of each source file (``from ports._geo
import ...``, ``import ais._numba``, relative imports, imports inside functions), followed
within the project's packages (``PROJECT_PACKAGES``) and the kernel's own top-level
package. A change to any of those files makes the cached code stale, and it is compiled
again on first use; a change elsewhere (a CLI module, another detector) does not.

Where the cache lives is numba's choice, unchanged: ``NUMBA_CACHE_DIR`` when the user sets
it, else ``__pycache__`` beside the source when it is writable (a checkout, a venv), else
numba's per-user cache directory (an installed package in a read-only site-packages).
Every process computes the same stamp from the same files (tests, the CLI, Dask workers,
a process compiling ahead of the run), so they all share one cache on disk. The stamp of
a module is computed once per process (a few milliseconds for the whole project: the
files are read once and hashed with SHA-256).

Nothing of numba changes for other code: only the dispatchers made by
:func:`ais._numba.njit` get this cache (:func:`enable`).
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import re
import sys
from functools import lru_cache

__all__ = ["PROJECT_PACKAGES", "enable", "module_stamp", "module_closure"]

# The project's top-level packages, lowest layer first (CONVENTIONS.md, 15): a kernel may
# use code from its own layer and those below. Names only: nothing is imported from here.
PROJECT_PACKAGES = ("ais", "ports", "detectors", "shadowfleet")

_IMPORT = re.compile(
    rb"^[ \t]*(?:from[ \t]+(\.*[\w.]*)[ \t]+import[ \t]+(\([^)]*\)|[^\n#;]*)"
    rb"|import[ \t]+([^\n#;]+))",
    re.M)


@lru_cache(maxsize=None)
def _package_root(top: str) -> str | None:
    """The directory that holds top-level package (or module) ``top``, or None."""
    mod = sys.modules.get(top)
    path = getattr(mod, "__file__", None) if mod is not None else None
    locations = list(getattr(mod, "__path__", []) or []) if mod is not None else []
    if path is None and not locations:
        try:
            spec = importlib.util.find_spec(top)
        except (ImportError, ValueError):
            return None
        if spec is None:
            return None
        path = spec.origin if spec.origin not in (None, "namespace", "built-in", "frozen") else None
        locations = list(spec.submodule_search_locations or [])
    if locations:
        return os.path.dirname(os.path.abspath(locations[0]))
    if path and path.endswith(".py"):
        return os.path.dirname(os.path.abspath(path))
    return None


@lru_cache(maxsize=None)
def _module_file(name: str) -> str | None:
    """The source file of module ``name`` (``a/b.py`` or ``a/b/__init__.py``), or None."""
    parts = name.split(".")
    root = _package_root(parts[0])
    if root is None:
        return None
    base = os.path.join(root, *parts)
    for candidate in (base + ".py", os.path.join(base, "__init__.py")):
        if os.path.isfile(candidate):
            return candidate
    return None


@lru_cache(maxsize=None)
def _source(path: str) -> bytes:
    with open(path, "rb") as f:
        return f.read()


def _imported(name: str, path: str) -> set[str]:
    """Every project module an import statement of ``path`` (module ``name``) may bind
    names from: ``import a.b.c`` binds ``a`` and reaches ``a.b`` and ``a.b.c``; ``from a
    import b`` takes ``b`` from module ``a.b`` when there is one, else from ``a``."""
    package = name if os.path.basename(path) == "__init__.py" else name.rpartition(".")[0]
    out: set[str] = set()
    for m in _IMPORT.finditer(_source(path)):
        if m.group(3) is not None:                        # import a.b.c [as x], d
            for item in m.group(3).decode("ascii", "replace").split(","):
                target = item.split(" as ")[0].strip()
                if target:
                    bits = target.split(".")
                    out.update(".".join(bits[:k]) for k in range(1, len(bits) + 1))
            continue
        base = m.group(1).decode("ascii", "replace")
        level = len(base) - len(base.lstrip("."))
        base = base[level:]
        if level:
            anchor = package.split(".") if package else []
            anchor = anchor[:len(anchor) - (level - 1)] if level > 1 else anchor
            base = ".".join(anchor + ([base] if base else []))
        if not base:
            continue
        names = m.group(2).decode("ascii", "replace").strip().strip("()")
        from_package = False
        for item in names.replace("\n", " ").replace("\\", " ").split(","):
            sub = item.split(" as ")[0].strip()
            if not sub:
                continue
            if sub != "*" and _module_file(f"{base}.{sub}") is not None:
                out.add(f"{base}.{sub}")
            else:
                from_package = True
        if from_package:
            out.add(base)
    return out


@lru_cache(maxsize=None)
def module_closure(name: str) -> tuple[tuple[str, str], ...]:
    """(module name, source file) of ``name`` and of every project module it imports,
    transitively, sorted: the sources a kernel of ``name`` may compile in. Modules of
    the project's packages (``PROJECT_PACKAGES``) and of ``name``'s own top-level
    package are followed; anything else (numpy, numba, the standard library) is not."""
    allowed = set(PROJECT_PACKAGES) | {name.split(".")[0]}
    seen: dict[str, str] = {}
    stack = [name]
    while stack:
        mod = stack.pop()
        if mod in seen or mod.split(".")[0] not in allowed:
            continue
        path = _module_file(mod)
        if path is None:
            continue
        seen[mod] = path
        stack.extend(_imported(mod, path) - seen.keys())
    return tuple(sorted(seen.items()))


@lru_cache(maxsize=None)
def module_stamp(name: str) -> str | None:
    """A hash of the sources of :func:`module_closure` (their contents, not their times),
    or None when ``name``'s source cannot be found (a kernel typed at a prompt)."""
    closure = module_closure(name)
    if not closure:
        return None
    h = hashlib.sha256()
    for mod, path in closure:
        h.update(mod.encode())
        h.update(b"\0")
        h.update(hashlib.sha256(_source(path)).digest())
    return h.hexdigest()


class _ClosureStamp:
    """Mixin for numba's locators backed by a source file: the stamp of the function's
    module closure instead of the hash of its file alone."""

    _module: str | None = None

    @classmethod
    def from_function(cls, py_func, py_file):
        self = super().from_function(py_func, py_file)
        if self is not None:
            self._module = getattr(py_func, "__module__", None)
        return self

    def get_source_stamp(self):
        own = super().get_source_stamp()
        stamp = None
        if self._module and self._module != "__main__":
            try:
                stamp = module_stamp(self._module)
            except OSError:
                stamp = None
        return own if stamp is None else ("shadowfleet-closure", stamp)


@lru_cache(maxsize=None)
def _cache_class(variant: str = ""):
    from numba.core import caching

    impl_base = caching.CompileResultCacheImpl
    backed = caching._SourceFileBackedLocatorMixin
    locators = [type(f"Closure{c.__name__.lstrip('_')}", (_ClosureStamp, c), {"__module__": __name__})
                if issubclass(c, backed) else c
                for c in impl_base._locator_classes]

    class KernelCacheImpl(impl_base):
        _locator_classes = locators

        def get_filename_base(self, fullname, abiflags):
            # numba keys an entry by code and signature, not by options such as
            # ``parallel``: a second build of one function gets index files of its own
            return super().get_filename_base(fullname + variant, abiflags)

    class KernelCache(caching.FunctionCache):
        _impl_class = KernelCacheImpl

    return KernelCache


def enable(dispatcher, variant: str = "") -> None:
    """Give ``dispatcher`` (a numba ``Dispatcher`` made with ``cache=False``) the
    project's disk cache: numba's, stamped with its module closure. ``variant`` names a
    second build of the same function (``"-parallel"``), cached apart from the first."""
    dispatcher._cache = _cache_class(variant)(dispatcher.py_func)
