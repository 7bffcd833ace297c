"""Fault injection for atomic writes: a disk that fills up (or refuses) half way through a save.

``inject_write_fault`` makes every atomic write fail at one point: after ``after_bytes`` bytes went
to the temp file (``point="write"``), at the fsync, or at the final rename (``point="replace"``: the
rename over an old file, or the hard link that puts a new file in place). Tests check that the
previous file survived, nothing stray is left and the person got one clear message.
"""

from __future__ import annotations

import errno as _errno
import os
from dataclasses import dataclass
from typing import Any, BinaryIO, Literal

import pytest

from lamapaint.io import atomic

FaultPoint = Literal["write", "fsync", "replace"]


@dataclass
class FaultLog:
    """What the injector did: how many faults it raised and how many bytes reached temp files."""

    injected: int = 0
    bytes_written: int = 0


class _FailingFile:
    """Passes ``budget`` bytes through to the real temp file, then raises ``OSError(code)``."""

    def __init__(self, fh: BinaryIO, budget: int, code: int, log: FaultLog) -> None:
        self._fh = fh
        self._budget = budget
        self._code = code
        self._log = log

    def write(self, data: Any) -> int:
        view = memoryview(data).cast("B")
        if len(view) <= self._budget:
            self._budget -= len(view)
            self._log.bytes_written += len(view)
            return self._fh.write(view)
        head = view[: self._budget]
        self._fh.write(head)
        self._fh.flush()  # the bytes really reach the file before the "disk" gives up
        self._log.bytes_written += len(head)
        self._budget = 0
        self._log.injected += 1
        raise OSError(self._code, os.strerror(self._code))

    def __enter__(self) -> "_FailingFile":
        return self

    def __exit__(self, *exc: object) -> None:
        self._fh.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._fh, name)


def inject_write_fault(
    monkeypatch: pytest.MonkeyPatch,
    point: FaultPoint = "write",
    code: int = _errno.ENOSPC,
    after_bytes: int = 4096,
) -> FaultLog:
    """Make atomic writes fail at ``point`` with ``code`` (ENOSPC: disk full, EACCES: denied)."""
    log = FaultLog()
    if point == "write":
        real_open = atomic._open_temp
        monkeypatch.setattr(atomic, "_open_temp", lambda fd: _FailingFile(real_open(fd), after_bytes, code, log))
    elif point == "fsync":
        real_fsync = os.fsync

        def failing_fsync(fd: int) -> None:
            if os.fstat(fd).st_size > 0 and _is_temp(fd):
                log.injected += 1
                raise OSError(code, os.strerror(code))
            real_fsync(fd)

        monkeypatch.setattr(os, "fsync", failing_fsync)
    else:
        real_replace = os.replace

        def failing_replace(src: Any, dst: Any, *args: Any, **kwargs: Any) -> None:
            if str(src).endswith(atomic.TEMP_SUFFIX):
                log.injected += 1
                raise OSError(code, os.strerror(code))
            real_replace(src, dst, *args, **kwargs)

        monkeypatch.setattr(os, "replace", failing_replace)
        real_link = os.link

        def failing_link(src: Any, dst: Any, *args: Any, **kwargs: Any) -> None:
            if str(src).endswith(atomic.TEMP_SUFFIX):
                log.injected += 1
                raise OSError(code, os.strerror(code))
            real_link(src, dst, *args, **kwargs)

        monkeypatch.setattr(os, "link", failing_link)
    return log


def _is_temp(fd: int) -> bool:
    try:
        return os.readlink(f"/proc/self/fd/{fd}").endswith(atomic.TEMP_SUFFIX)
    except OSError:
        return True  # no /proc: every fsync of a non-empty file is a save's
