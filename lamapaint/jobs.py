"""Progress and cancellation shared by long jobs (inference, downloads, exports).

Plain Python so that the core, the engine and the Qt worker can all hand the same objects around.
"""

from __future__ import annotations

import threading
from typing import Callable

#: ``progress(fraction, message)``: fraction in [0, 1], message a short human-readable phrase.
ProgressCallback = Callable[[float, str], None]


class Cancelled(Exception):
    """Raised inside a job when its cancel token was set; callers treat it as a normal outcome."""


class CancelToken:
    """A thread-safe flag a job polls at safe points (between regions, between chunks)."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def raise_if_cancelled(self) -> None:
        if self._event.is_set():
            raise Cancelled("cancelled")


def no_progress(fraction: float, message: str) -> None:
    """Default progress sink."""
