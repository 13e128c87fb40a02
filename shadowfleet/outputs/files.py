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
import os
import secrets
from pathlib import Path
from typing import Iterator


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
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp_path.unlink()
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
