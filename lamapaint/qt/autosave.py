"""Crash-recovery autosave for the open document, written off the GUI thread.

A timer on the GUI thread asks the core ``Autosaver`` whether a save is due (cheap); the snapshot
is taken here and written as a background job on the job runner's autosave lane, so painting never
waits for the disk and an autosave never queues behind an export. The first
autosave of a session starts within ``CHECK_MS * 2 + FIRST_SAVE_DELAY_S`` (4 s) of the first
change; later ones follow the settings' ``autosave_seconds``.

Failures a person can fix (disk full, no permission, read-only folder) are logged in one line and
shown once in the status bar (``failed``); tracebacks go to the debug log. Anything else is a bug
and is logged with its traceback.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Callable

from PySide6.QtCore import QObject, QTimer, Signal

from lamapaint.jobs import CancelToken, ProgressCallback
from lamapaint.io.autosave import Autosaver, RecoverableSession, SessionInUseError, remove_abandoned_files
from lamapaint.io.write_errors import explain_write_error, is_expected_write_error
from lamapaint.qt.jobs import JobRunner

if TYPE_CHECKING:
    from lamapaint.qt.document_adapter import DocumentAdapter

log = logging.getLogger(__name__)

CHECK_MS = 1000
AUTOSAVE_LANE = "autosave"


class AutosaveController(QObject):
    """Runs one ``Autosaver`` per open document; ``failed`` carries a one-line message for the user."""

    failed = Signal(str)

    def __init__(
        self,
        adapter: "DocumentAdapter",
        jobs: JobRunner,
        every_seconds: float,
        parent: QObject | None = None,
        brush_size: Callable[[], int | None] = lambda: None,
    ) -> None:
        super().__init__(parent)
        self._adapter = adapter
        self._every_seconds = max(1.0, float(every_seconds))
        self._brush_size = brush_size
        self._jobs = jobs
        jobs.lane(AUTOSAVE_LANE)
        self.saver: Autosaver | None = None
        self._claimed: Autosaver | None = None
        self._last_failure = ""  # written by the autosave lane's thread, read there only
        self._timer = QTimer(self)
        self._timer.setInterval(CHECK_MS)
        self._timer.timeout.connect(self.check)
        self._timer.start()
        try:
            remove_abandoned_files()
        except OSError as exc:
            log.warning("Could not clean the autosave folder: %s", exc)

    def claim(self, session: RecoverableSession) -> bool:
        """Take a crashed session's lock before restoring it; False when another window has it."""
        self.release_claim()
        try:
            self._claimed = Autosaver.resume(session, every_seconds=self._every_seconds)
        except SessionInUseError:
            return False
        except OSError as exc:
            log.warning("Cannot take over autosave %s: %s", session.session_id, exc)
            return False
        return True

    def release_claim(self) -> None:
        """The restore failed or was abandoned: leave the session's files for a later try."""
        if self._claimed is not None:
            self._claimed.release()
            self._claimed = None

    def document_replaced(self, recovered: RecoverableSession | None = None) -> None:
        """A new document: end the old session cleanly, start (or resume) one for the new."""
        self._end_session()
        doc = self._adapter.document
        claimed, self._claimed = self._claimed, None
        if doc is None:
            if claimed is not None:
                claimed.release()
            return
        if recovered is not None and claimed is not None and claimed.session_id == recovered.session_id:
            claimed.start_at(doc.revision)
            self.saver = claimed
            return
        if claimed is not None:
            claimed.release()
        if recovered is not None:
            try:
                self.saver = Autosaver.resume(recovered, every_seconds=self._every_seconds, revision=doc.revision)
                return
            except (SessionInUseError, OSError) as exc:  # still protect the document, in a session of its own
                log.warning("Autosave %s is taken (%s); continuing in a new session", recovered.session_id, exc)
        self.saver = Autosaver(every_seconds=self._every_seconds, revision=doc.revision)

    def check(self) -> bool:
        """Start an autosave when one is due; True when one was started."""
        doc = self._adapter.document
        saver = self.saver
        if doc is None or saver is None or saver.busy:
            return False
        if not saver.should_save(doc.revision, doc.is_clean):
            return False
        snapshot, brush_size = doc.snapshot(), self._brush_size()

        def save(_progress: ProgressCallback, _cancel: CancelToken) -> None:
            try:
                saver.save(snapshot, brush_size)
            except Exception as exc:  # noqa: BLE001 - an autosave failure must never disturb the editing session
                self.report_failure(saver, exc)
            else:
                self.report_success()

        self._jobs.submit(AUTOSAVE_LANE, "Autosave", save)
        return True

    def report_failure(self, saver: Autosaver, exc: BaseException) -> None:
        """Called on the autosave lane's thread: log one line for expected failures and tell the window once."""
        if is_expected_write_error(exc):
            text = explain_write_error(exc, saver.project_file, verb="autosaved") or str(exc)
            log.warning("Autosave failed: %s", text)
            log.debug("Autosave failure details", exc_info=exc)
        else:
            text = f"Autosave failed: {exc}"
            log.error("Autosave failed", exc_info=exc)
        if text != self._last_failure:
            self._last_failure = text
            self.failed.emit(text)

    def report_success(self) -> None:
        self._last_failure = ""

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
        self.release_claim()

    def _end_session(self) -> None:
        if self.saver is not None:
            self._jobs.wait(AUTOSAVE_LANE)
            self.saver.close()
            self.saver = None
