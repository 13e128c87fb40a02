"""The kernels' disk cache (``ais._kernel_cache``): a change to a helper module is seen by
a kernel of another module that compiles the helper in, wherever the cache lives (beside
the sources, numba's per-user directory when they are read-only, ``NUMBA_CACHE_DIR``),
and an unchanged source still loads from the cache.

numba's own cache stamps a kernel with its own file only: the helper's change would go
unseen and the old machine code would run. Each run is a fresh interpreter, as a user's
command, a test run or a Dask worker is."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import ais
from ais import _kernel_cache

PROJECT_ROOT = Path(ais.__file__).resolve().parents[1]      # the checkout or site-packages

HELPER = """\
from ais._numba import njit

STEP = {step}


@njit
def bump(x):
    return x + STEP
"""

KERNEL = """\
import numpy as np

from ais._numba import njit
from {pkg}.helpers import bump


@njit
def kernel(a, out):
    for i in range(a.shape[0]):
        out[i] = bump(a[i])
"""

RUN = """\
import json, numpy as np
from {pkg}.kernels import kernel
out = np.empty(3)
kernel(np.arange(3.0), out)
stats = kernel.stats
print(json.dumps({{"out": out.tolist(), "hits": sum(stats.cache_hits.values()),
                  "misses": sum(stats.cache_misses.values()),
                  "cache_path": stats.cache_path}}))
"""


def _package(tmp_path: Path, pkg: str, step: int) -> Path:
    root = tmp_path / "src"
    (root / pkg).mkdir(parents=True, exist_ok=True)
    (root / pkg / "__init__.py").write_text("")
    (root / pkg / "helpers.py").write_text(HELPER.format(step=step))
    kernels = root / pkg / "kernels.py"
    if not kernels.exists():
        kernels.write_text(KERNEL.format(pkg=pkg))
    return root


def _run(root: Path, pkg: str, **env_extra) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_CACHE_DIR"}
    env["PYTHONPATH"] = os.pathsep.join([str(root), str(PROJECT_ROOT)])
    env.update(env_extra)
    proc = subprocess.run([sys.executable, "-c", RUN.format(pkg=pkg)], env=env, cwd=root,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _change_helper_only(root: Path, pkg: str, step: int) -> None:
    kernels = root / pkg / "kernels.py"
    before = kernels.stat()
    (root / pkg / "helpers.py").write_text(HELPER.format(step=step))
    assert kernels.stat().st_mtime_ns == before.st_mtime_ns     # the kernel's file untouched


def _check_helper_change_is_seen(root: Path, pkg: str, **env) -> list[str]:
    first = _run(root, pkg, **env)
    assert first["out"] == [1.0, 2.0, 3.0] and first["misses"] == 1
    again = _run(root, pkg, **env)                              # unchanged: from the cache
    assert again["out"] == [1.0, 2.0, 3.0]
    assert again["hits"] == 1 and again["misses"] == 0
    _change_helper_only(root, pkg, step=10)
    changed = _run(root, pkg, **env)
    assert changed["out"] == [10.0, 11.0, 12.0]                 # numba alone: [1, 2, 3]
    assert changed["misses"] == 1
    cached = _run(root, pkg, **env)                             # and the new code is cached
    assert cached["out"] == [10.0, 11.0, 12.0] and cached["hits"] == 1
    return [first["cache_path"], changed["cache_path"]]


def test_a_change_to_a_helper_module_is_seen_by_a_kernel_of_another(tmp_path):
    root = _package(tmp_path, "sfcache_intree", step=1)
    paths = _check_helper_change_is_seen(root, "sfcache_intree",
                                         XDG_CACHE_HOME=str(tmp_path / "xdg"))
    # a writable package: numba's cache beside the sources
    assert {Path(p) for p in paths} == {root / "sfcache_intree" / "__pycache__"}
    assert list((root / "sfcache_intree" / "__pycache__").glob("kernels.kernel-*.nbi"))


def test_read_only_package_caches_in_the_user_directory_and_sees_changes(tmp_path):
    """An installed package in a read-only site-packages: no ``__pycache__`` can be made
    beside the sources (here a file stands in its way, so the test holds even as root),
    and numba's per-user cache directory takes the kernels, stamped the same way."""
    root = _package(tmp_path, "sfcache_ro", step=1)
    (root / "sfcache_ro" / "__pycache__").write_text("not a directory")
    xdg = tmp_path / "xdg"
    paths = _check_helper_change_is_seen(root, "sfcache_ro", XDG_CACHE_HOME=str(xdg))
    for p in paths:
        assert Path(p).is_relative_to(xdg)
    assert list(xdg.rglob("kernels.kernel-*.nbi"))


def test_numba_cache_dir_set_by_the_user_is_where_kernels_go(tmp_path):
    root = _package(tmp_path, "sfcache_env", step=1)
    chosen = tmp_path / "chosen"
    paths = _check_helper_change_is_seen(root, "sfcache_env", NUMBA_CACHE_DIR=str(chosen),
                                         XDG_CACHE_HOME=str(tmp_path / "xdg"))
    for p in paths:
        assert Path(p).is_relative_to(chosen)
    assert not (root / "sfcache_env" / "__pycache__").exists()


def test_closure_follows_every_form_of_import_within_the_project(tmp_path):
    pkg = tmp_path / "src" / "sfclosure"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("from sfclosure.unrelated import thing\n")
    (pkg / "sub" / "__init__.py").write_text("")
    (pkg / "unrelated.py").write_text("thing = 1\n")
    (pkg / "consts.py").write_text("C = 3\n")
    (pkg / "deep.py").write_text("import numpy as np\nD = 4\n")
    (pkg / "geo.py").write_text("from .deep import D\n")
    (pkg / "lazy.py").write_text("L = 5\n")
    (pkg / "sub" / "kern.py").write_text(
        "import math\n"
        "import sfclosure.consts as c\n"
        "from .. import geo\n"
        "from ais._numba import (njit,\n"
        "                        readonly)\n"
        "def f():\n"
        "    from sfclosure.lazy import L\n")
    sys.path.insert(0, str(tmp_path / "src"))
    try:
        names = [n for n, _ in _kernel_cache.module_closure("sfclosure.sub.kern")]
    finally:
        sys.path.remove(str(tmp_path / "src"))
        _kernel_cache._package_root.cache_clear()
    # `import sfclosure.consts` binds sfclosure, so its __init__ (and what it imports) counts
    assert names == ["ais._kernel_cache", "ais._numba", "sfclosure", "sfclosure.consts",
                     "sfclosure.deep", "sfclosure.geo", "sfclosure.lazy", "sfclosure.sub.kern",
                     "sfclosure.unrelated"]


def test_project_kernels_are_stamped_with_the_modules_they_compile_in():
    from detectors import _port_visits_kernel

    names = [n for n, _ in _kernel_cache.module_closure("detectors._port_visits_kernel")]
    assert {"ports._pip", "ports._geo", "ais._numba"} <= set(names)
    assert not any(n.startswith("shadowfleet") for n in names)    # layers point one way
    assert "detectors.port_visits" not in names                  # the caller is not compiled in
    stamp = _port_visits_kernel.port_visits_kernel.serial._cache._cache_file._source_stamp
    assert stamp == ("shadowfleet-closure",
                     _kernel_cache.module_stamp("detectors._port_visits_kernel"))


def _kernel_cache_key():
    from detectors._port_visits_kernel import port_visits_kernel

    cache = port_visits_kernel.serial._cache
    return cache._cache_file._source_stamp, cache.cache_path


def test_dask_worker_processes_share_the_cache_and_its_key():
    """A Dask worker is a process of its own that imports the kernels anew: it computes
    the same stamps and finds the same cache directory, so the kernels one process
    compiled are loaded by the others."""
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        on_worker = client.submit(_kernel_cache_key, pure=False).result(timeout=120)
    assert tuple(on_worker) == _kernel_cache_key()
