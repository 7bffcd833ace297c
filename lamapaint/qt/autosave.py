"""Crash-recovery autosave for the open document, written off the GUI thread.

A timer on the GUI thread asks the core ``Autosaver`` whether a save is due (cheap); the snapshot
is taken here and written by a pool thread, so painting never waits for the disk.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QRunnable, QThreadPool, QTimer

from lamapaint.io.autosave import Autosaver, RecoverableSession

if TYPE_CHECKING:
    from lamapaint.core.document import DocumentSnapshot
    from lamapaint.qt.document_adapter import DocumentAdapter

log = logging.getLogger(__name__)

CHECK_MS = 2000


class _Save(QRunnable):
    def __init__(self, saver: Autosaver, snapshot: "DocumentSnapshot") -> None:
        super().__init__()
        self._saver = saver
        self._snapshot = snapshot

    def run(self) -> None:
        try:
            self._saver.save(self._snapshot)
        except Exception:  # an autosave failure must never disturb the editing session
            log.exception("Autosave failed")


class AutosaveController(QObject):
    def __init__(self, adapter: "DocumentAdapter", every_seconds: float, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._adapter = adapter
        self._every_seconds = max(1.0, float(every_seconds))
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)
        self.saver: Autosaver | None = None
        self._timer = QTimer(self)
        self._timer.setInterval(CHECK_MS)
        self._timer.timeout.connect(self.check)
        self._timer.start()

    def document_replaced(self, recovered: RecoverableSession | None = None) -> None:
        """A new document: end the old session cleanly, start (or resume) one for the new."""
        self._end_session()
        doc = self._adapter.document
        if doc is None:
            return
        if recovered is not None:
            self.saver = Autosaver.resume(recovered, every_seconds=self._every_seconds, revision=doc.revision)
        else:
            self.saver = Autosaver(every_seconds=self._every_seconds, revision=doc.revision)

    def check(self) -> bool:
        """Start an autosave when one is due; True when one was started."""
        doc = self._adapter.document
        saver = self.saver
        if doc is None or saver is None or saver.busy:
            return False
        if not saver.should_save(doc.revision, doc.is_clean):
            return False
        self._pool.start(_Save(saver, doc.snapshot()))
        return True

    def saved_as_project(self) -> None:
        """The person saved: the autosave is no longer needed."""
        if self.saver is not None:
            self._pool.waitForDone()
            self.saver.discard()

    def wait(self, timeout_ms: int = 30_000) -> bool:
        return self._pool.waitForDone(timeout_ms)

    def shutdown(self) -> None:
        self._timer.stop()
        self._end_session()

    def _end_session(self) -> None:
        if self.saver is not None:
            self._pool.waitForDone()
            self.saver.close()
            self.saver = None
