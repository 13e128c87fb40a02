"""Atomic file replacement: write a temporary file beside the target, fsync, rename.

A reader (or a run killed at any moment) sees either the old file or the new one,
never a torn one. The temporary file is created with mode 0666, less the process's
umask applied by the kernel, as a plain ``open()`` would create the target: nothing
reads or changes the umask (a process-wide setting; changing it for a moment would
race with the other threads of the process creating files).

``writable_dir`` creates an output or state directory and proves it writable before a
command does any work, so a bad ``--out`` fails at once, not after the analysis.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import secrets
from pathlib import Path
from typing import Iterator


_REMEDIES = {
    errno.ENOSPC: "free some disk space and run again (what was committed is kept)",
    errno.EDQUOT: "free some disk space and run again (what was committed is kept)",
    errno.EFBIG: "the file size limit of this process was reached; raise it (ulimit -f) "
                 "and run again (what was committed is kept)",
    errno.EACCES: "check its permissions, or choose another path",
    errno.EPERM: "check its permissions, or choose another path",
    errno.EROFS: "the file system is read-only; choose another path",
    errno.ENOENT: "check the path",
    errno.ENOTDIR: "a file stands where a directory is expected; check the path",
    errno.EISDIR: "a directory stands where a file is expected; check the path",
    errno.EEXIST: "something already stands at that path; move it or choose another",
}
_ERRNO_IN_TEXT = re.compile(r"errno (\d+)")


def _errno(exc: OSError) -> int | None:
    """The errno of ``exc``, also when a library put it only in the text (pyarrow)."""
    if exc.errno is not None:
        return exc.errno
    m = _ERRNO_IN_TEXT.search(str(exc))
    return int(m.group(1)) if m else None


def os_error_text(exc: OSError) -> tuple[str, str]:
    """(what went wrong, what to do) for an ``OSError``, each on one line."""
    code = _errno(exc)
    what = exc.strerror or (os.strerror(code) if code is not None else str(exc))
    remedy = _REMEDIES.get(code, "check the path, its permissions and the free disk space")
    return " ".join(str(what).split()), remedy


def write_failed(path: str | Path, exc: OSError):
    """The ``OutputError`` of a failed write to ``path`` (a library's error may not name it)."""
    from shadowfleet.errors import OutputError

    what, remedy = os_error_text(exc)
    return OutputError(path, f"cannot write ({what})", remedy)


@contextlib.contextmanager
def atomic_path(target: str | Path) -> Iterator[Path]:
    """Yield a temporary path in the target's directory; on success fsync and rename it
    over ``target``; on error remove it and leave ``target`` untouched."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp_path = _new_file(target.parent, f".{target.name}.", ".tmp")
    try:
        yield tmp_path
        with open(tmp_path, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp_path, target)
        _fsync_dir(target.parent)
    except BaseException as exc:
        with contextlib.suppress(FileNotFoundError):
            tmp_path.unlink()
        if isinstance(exc, OSError):
            raise write_failed(target, exc) from exc
        raise


def atomic_write_text(target: str | Path, text: str) -> None:
    with atomic_path(target) as tmp:
        tmp.write_text(text, encoding="utf-8")


def atomic_write_bytes(target: str | Path, data: bytes) -> None:
    with atomic_path(target) as tmp:
        tmp.write_bytes(data)


def _new_file(directory: Path, prefix: str, suffix: str) -> Path:
    """A new empty file of a random name in ``directory``, mode 0666 less the umask (as
    ``open(path, "w")`` makes it; ``tempfile.mkstemp`` would make it 0600)."""
    for _ in range(100):
        path = directory / f"{prefix}{secrets.token_hex(6)}{suffix}"
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0),
                         0o666)
        except FileExistsError:
            continue
        os.close(fd)
        return path
    raise FileExistsError(f"{directory}: no free temporary name")


def writable_dir(path: str | Path, option: str, *, for_file: bool = False) -> Path:
    """Create directory ``path`` (parents too) and check that a file can be made in it;
    ``OutputError`` naming the path, the option that gave it and what to do otherwise
    (``for_file``: ``path`` is the directory of the file ``option`` names)."""
    from shadowfleet.errors import OutputError

    path = Path(path)
    remedy = (f"give {option} a path in a directory you can write to" if for_file
              else f"give {option} a directory you can create and write to")
    if path.exists() and not path.is_dir():
        raise OutputError(path, "is a file, not a directory", remedy)
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = _new_file(path, ".shadowfleet-write-check.", ".tmp")
        probe.unlink()
    except OSError as exc:
        raise OutputError(path, f"cannot write there ({exc.strerror or exc})", remedy) from None
    return path


def _fsync_dir(directory: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
