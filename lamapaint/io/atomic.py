"""Atomic file writes: a temp file in the destination folder, fsync, then rename.

A crash or an exception half way leaves the previous file untouched and no stray temp file.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from pathlib import Path
from typing import BinaryIO, Iterator


def _read_umask() -> int:
    """The process umask (read once, at import, while no other thread can race the set-and-restore)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


_UMASK = _read_umask()


class DestinationExistsError(FileExistsError):
    """The destination exists and the caller did not ask to replace it."""


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike[str], *, overwrite: bool = True) -> Iterator[BinaryIO]:
    """Yield a binary file object; on clean exit it replaces ``path`` in one rename."""
    dest = Path(path)
    if not overwrite and dest.exists():
        raise DestinationExistsError(f"{dest} already exists")
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
    tmp = Path(tmp_name)
    try:
        # mkstemp makes the file private (0600); give it the mode a plain open() would, or keep the
        # mode of the file it replaces.
        try:
            mode = stat.S_IMODE(dest.stat().st_mode)
        except FileNotFoundError:
            mode = 0o666 & ~_UMASK
        os.chmod(fd, mode)
        with os.fdopen(fd, "wb") as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        if not overwrite and dest.exists():
            raise DestinationExistsError(f"{dest} already exists")
        os.replace(tmp, dest)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(dest.parent)


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes, *, overwrite: bool = True) -> None:
    with atomic_write(path, overwrite=overwrite) as fh:
        fh.write(data)


def _fsync_dir(folder: Path) -> None:
    """Make the rename itself durable where the OS allows it (not on Windows)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
