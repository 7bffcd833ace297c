"""Run slow file I/O (open a 50 MP photo, save a project, export) off the GUI thread.

The job is a plain callable working on numpy/plain data; its result or exception comes back to the
GUI thread through a queued signal. The window shows a busy indicator while any task runs.
"""

from __future__ import annotations

import logging
from typing import Any, Callable

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

log = logging.getLogger(__name__)


class _Signals(QObject):
    done = Signal(object)
    error = Signal(object)


class _Job(QRunnable):
    def __init__(self, fn: Callable[[], Any], signals: _Signals) -> None:
        super().__init__()
        self._fn = fn
        self._signals = signals
        self.setAutoDelete(True)

    def run(self) -> None:
        try:
            result = self._fn()
        except Exception as exc:  # handed to the GUI thread, which shows it
            log.exception("Background task failed")
            self._signals.error.emit(exc)
            return
        self._signals.done.emit(result)


class TaskRunner(QObject):
    """Starts background jobs; ``busyChanged`` drives the window's busy indicator."""

    busyChanged = Signal(bool, str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)  # file jobs run in order: a save then an export, never both
        self._running = 0
        self._signals: set[_Signals] = set()

    @property
    def busy(self) -> bool:
        return self._running > 0

    def run(
        self,
        label: str,
        fn: Callable[[], Any],
        on_done: Callable[[Any], None],
        on_error: Callable[[BaseException], None],
    ) -> None:
        signals = _Signals()  # lives on the GUI thread: its signals are delivered here, queued
        self._signals.add(signals)

        def finish() -> None:
            self._signals.discard(signals)
            self._running -= 1
            self.busyChanged.emit(self._running > 0, "")

        def done(result: Any) -> None:
            finish()
            on_done(result)

        def error(exc: BaseException) -> None:
            finish()
            on_error(exc)

        signals.done.connect(done)
        signals.error.connect(error)
        self._running += 1
        self.busyChanged.emit(True, label)
        self._pool.start(_Job(fn, signals))

    def wait(self, timeout_ms: int = 30_000) -> bool:
        """Block until queued jobs are done (used on quit so a save is never cut short)."""
        return self._pool.waitForDone(timeout_ms)
