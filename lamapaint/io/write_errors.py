"""Plain words for the write failures a person can fix: a full disk, no permission, a read-only folder.

The save paths wrap OSError in their own error types (ProjectError, ExportError); the OSError stays
reachable as the cause, which is what these helpers look at.
"""

from __future__ import annotations

import errno
from pathlib import Path

DISK_FULL = frozenset({errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)})
NO_PERMISSION = frozenset({errno.EACCES, errno.EPERM})
READ_ONLY = frozenset({errno.EROFS})


def os_error_behind(exc: BaseException) -> OSError | None:
    """The OSError that caused ``exc`` (``exc`` itself, or one in its cause chain), if any."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, OSError) and current.errno is not None:
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None


def is_expected_write_error(exc: BaseException) -> bool:
    """True for failures that come from the person's disk or folder, not from a bug in lamapaint."""
    os_error = os_error_behind(exc)
    return os_error is not None and os_error.errno in DISK_FULL | NO_PERMISSION | READ_ONLY


def explain_write_error(exc: BaseException, path: str | Path, verb: str = "saved") -> str | None:
    """One sentence for a disk-full, permission or read-only failure to write ``path``; else None."""
    os_error = os_error_behind(exc)
    if os_error is None:
        return None
    p = Path(path)
    if os_error.errno in DISK_FULL:
        return f"The disk is full: {p.name} could not be {verb}. Free some space and try again."
    if os_error.errno in READ_ONLY:
        return f"The folder {p.parent} is read-only: {p.name} could not be {verb}. Choose another folder."
    if os_error.errno in NO_PERMISSION:
        return f"No permission to write in {p.parent}: {p.name} could not be {verb}. Choose another folder."
    return None


def describe_write_error(exc: BaseException, path: str | Path, verb: str = "written") -> str:
    """One sentence for any failure to write ``path``: :func:`explain_write_error`'s words where it
    has them, else the system's message (a name too long, an I/O error, ...)."""
    explained = explain_write_error(exc, path, verb)
    if explained:
        return explained
    os_error = os_error_behind(exc)
    reason = (os_error.strerror or str(os_error)) if os_error is not None else str(exc)
    return f"{Path(path).name} could not be {verb}: {reason}."
