"""Atomic file writes: a temp file in the destination folder, fsync, then rename.

A crash or an exception half way leaves the previous file untouched. An exception removes the
temp file at once; a killed process cannot, so its temp file (``.<name>.<random>.part``, or
``.lp.<random>.part`` where the name is too long to carry) stays until the next write to the same
name or a start-up sweep of an app folder (:func:`remove_stale_temp_files`) removes it. The writer
holds an exclusive lock on its temp file while it writes, so a sweep never removes the temp file
of a write still in progress in another window or process.

``overwrite=False`` is exclusive: of several writers racing for one new name exactly one succeeds,
the others get ``DestinationExistsError``. The finished temp file is hard-linked to the name (a
link fails when the name exists, atomically) and then unlinked. Where the file system has no hard
links (FAT, some network shares) the name is reserved instead by creating an empty file with
``O_EXCL`` and the temp file is renamed over that reservation; there, a crash between the two
steps leaves an empty file under the name.
"""

from __future__ import annotations

import contextlib
import glob
import logging
import os
import re
import stat
import tempfile
import time
from pathlib import Path
from typing import BinaryIO, Iterator

log = logging.getLogger(__name__)

TEMP_SUFFIX = ".part"
#: The temp-file prefix for names too long to carry in ``.<name>.<random>.part``.
SHORT_TEMP_PREFIX = ".lp."
#: The longest file name (in bytes) file systems commonly allow.
NAME_MAX = 255
_RANDOM_CHARS = 8
#: A temp file younger than this is left alone by sweeps: it may belong to a write that has
#: created it but not locked it yet (a few microseconds in practice).
STALE_AFTER_S = 2.0
# mkstemp's random part: 8 characters of [a-z0-9_] (CPython's tempfile._RandomNameSequence).
_TEMP_NAME = re.compile(r"^\..+\.[a-z0-9_]{8}" + re.escape(TEMP_SUFFIX) + "$")


def _read_umask() -> int:
    """The process umask (read once, at import, while no other thread can race the set-and-restore)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


_UMASK = _read_umask()


class DestinationExistsError(FileExistsError):
    """The destination exists and the caller did not ask to replace it."""


def _lock_exclusive(fd: int) -> bool:
    """Take an exclusive, non-blocking lock on an open file; False when someone else holds it.

    On Windows an open file cannot be deleted anyway, so there the lock is not needed.
    """
    if os.name == "nt":
        return True
    import fcntl

    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    return True


def _open_temp(fd: int) -> BinaryIO:
    """The file object callers write to (one place, so tests can make it fail half way)."""
    return os.fdopen(fd, "wb")


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike[str], *, overwrite: bool = True) -> Iterator[BinaryIO]:
    """Yield a binary file object; on clean exit it replaces ``path`` in one rename."""
    dest = Path(path)
    if not overwrite and dest.exists():
        raise DestinationExistsError(f"{dest} already exists")
    dest.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temp_files(dest.parent, dest.name)
    fd, tmp_name = tempfile.mkstemp(prefix=_temp_prefix(dest.name), suffix=TEMP_SUFFIX, dir=dest.parent)
    tmp = Path(tmp_name)
    try:
        _lock_exclusive(fd)  # a fresh private file: nobody else can hold it
        # mkstemp makes the file private (0600); give it the mode a plain open() would, or keep the
        # mode of the file it replaces.
        try:
            mode = stat.S_IMODE(dest.stat().st_mode)
        except FileNotFoundError:
            mode = 0o666 & ~_UMASK
        os.chmod(fd, mode)
        with _open_temp(fd) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        if overwrite:
            os.replace(tmp, dest)
        else:
            _place_new(tmp, dest)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(dest.parent)


def _temp_prefix(name: str) -> str:
    """``.<name>.`` where the temp name still fits in ``NAME_MAX`` bytes, else a short fixed one."""
    prefix = f".{name}."
    if len(os.fsencode(prefix)) + _RANDOM_CHARS + len(TEMP_SUFFIX) <= NAME_MAX:
        return prefix
    return SHORT_TEMP_PREFIX


def _place_new(tmp: Path, dest: Path) -> None:
    """Give the finished temp file the name ``dest`` only if no file has it, in one step (see the
    module docstring); DestinationExistsError otherwise."""
    try:
        os.link(tmp, dest)
    except FileExistsError:
        raise DestinationExistsError(f"{dest} already exists") from None
    except OSError as exc:  # no hard links here: reserve the name, then rename over the reservation
        log.debug("hard link to %s failed (%s); reserving the name instead", dest, exc)
        _replace_reservation(tmp, dest)
        return
    try:
        tmp.unlink()
    except OSError as exc:  # the file is in place; a second name for it is only untidy
        log.warning("could not remove the temp file %s: %s", tmp, exc)


def _replace_reservation(tmp: Path, dest: Path) -> None:
    try:
        fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o600)
    except FileExistsError:
        raise DestinationExistsError(f"{dest} already exists") from None
    try:
        reserved = os.fstat(fd)
    finally:
        os.close(fd)
    try:
        os.replace(tmp, dest)
    except BaseException:
        with contextlib.suppress(OSError):
            now = dest.stat()
            if (now.st_dev, now.st_ino) == (reserved.st_dev, reserved.st_ino):
                dest.unlink()  # our empty reservation, not someone's file
        raise


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes, *, overwrite: bool = True) -> None:
    with atomic_write(path, overwrite=overwrite) as fh:
        fh.write(data)


def remove_stale_temp_files(folder: str | os.PathLike[str], name: str | None = None, min_age_s: float = STALE_AFTER_S) -> int:
    """Delete temp files that killed writes left in ``folder`` (only those of ``name`` when given).

    Only files named like ours, older than ``min_age_s`` and not locked by a running write are
    removed; anything that cannot be removed is left as it is. Returns how many were removed.
    """
    pattern = f"{glob.escape(_temp_prefix(name))}*{TEMP_SUFFIX}" if name is not None else f".*{TEMP_SUFFIX}"
    removed = 0
    now = time.time()
    for candidate in Path(folder).glob(pattern):
        if _TEMP_NAME.match(candidate.name) and _remove_if_abandoned(candidate, now - min_age_s):
            removed += 1
    return removed


def _remove_if_abandoned(path: Path, born_before: float) -> bool:
    try:
        info = path.lstat()
        if not stat.S_ISREG(info.st_mode) or info.st_mtime > born_before:
            return False
        if os.name == "nt":
            path.unlink()  # fails while the writing process still has the file open
            log.info("removed %s, left by an interrupted save", path)
            return True
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return False
    try:
        if not _lock_exclusive(fd):
            return False  # a write in progress
        path.unlink()
    except OSError as exc:
        log.debug("could not remove the stale temp file %s: %s", path, exc)
        return False
    finally:
        os.close(fd)
    log.info("removed %s, left by an interrupted save", path)
    return True


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
