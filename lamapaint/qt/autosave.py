"""Crash-recovery autosave for the open document, written off the GUI thread.

A timer on the GUI thread asks the core ``Autosaver`` whether a save is due (cheap); the snapshot
is taken here and written as a background job on the job runner's autosave lane, so painting never
waits for the disk and an autosave never queues behind an export.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QTimer

from lamapaint.io.autosave import Autosaver, RecoverableSession
from lamapaint.qt.jobs import JobRunner

if TYPE_CHECKING:
    from lamapaint.qt.document_adapter import DocumentAdapter

log = logging.getLogger(__name__)

CHECK_MS = 2000
AUTOSAVE_LANE = "autosave"


class AutosaveController(QObject):
    def __init__(self, adapter: "DocumentAdapter", jobs: JobRunner, every_seconds: float, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._adapter = adapter
        self._every_seconds = max(1.0, float(every_seconds))
        self._jobs = jobs
        jobs.lane(AUTOSAVE_LANE)
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
        snapshot = doc.snapshot()
        # A failure is logged by the runner and must never disturb the editing session.
        self._jobs.submit(AUTOSAVE_LANE, "Autosave", lambda _progress, _cancel: saver.save(snapshot))
        return True

    def saved_as_project(self) -> None:
        """The person saved: the autosave is no longer needed."""
        if self.saver is not None:
            self._jobs.wait(AUTOSAVE_LANE)
            self.saver.discard()

    def wait(self, timeout_ms: int = 30_000) -> bool:
        return self._jobs.wait(AUTOSAVE_LANE, timeout_ms)

    def shutdown(self) -> None:
        self._timer.stop()
        self._end_session()

    def _end_session(self) -> None:
        if self.saver is not None:
            self._jobs.wait(AUTOSAVE_LANE)
            self.saver.close()
            self.saver = None
