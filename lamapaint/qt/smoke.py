"""``lamapaint --smoke-test PNG PHOTO``: prove that a build can open a window and show a photo.

Used by ``packaging/smoke.sh`` on the frozen bundle (under Xvfb). It waits until the window is
exposed and the photo is on the canvas, saves a screenshot, prints when each happened (Unix
time, so the caller can subtract its own start time) and quits; exit status 1 when the photo
does not show within the time limit.
"""

from __future__ import annotations

import logging
import sys
import time
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QObject, QTimer

from lamapaint.qt.main_window import MainWindow

log = logging.getLogger(__name__)

TIMEOUT_MS = 120_000
POLL_MS = 10


class SmokeTest(QObject):
    def __init__(self, window: MainWindow, screenshot: Path, timeout_ms: int | None = None) -> None:
        super().__init__(window)
        self.window = window
        self.screenshot = screenshot
        self.exit_code = 1
        self.exposed_at: float | None = None
        self.photo_at: float | None = None
        self._poll = QTimer(self)
        self._poll.setInterval(POLL_MS)
        self._poll.timeout.connect(self._check)
        self._poll.start()
        self._timeout_ms = timeout_ms or TIMEOUT_MS
        QTimer.singleShot(self._timeout_ms, self._give_up)

    def _check(self) -> None:
        handle = self.window.windowHandle()
        if self.exposed_at is None and handle is not None and handle.isExposed():
            self.exposed_at = time.time()
        if self.exposed_at is not None and self.photo_at is None and self.window.document is not None:
            self.photo_at = time.time()
            self._poll.stop()
            QTimer.singleShot(300, self._finish)  # let the canvas paint the photo first

    def _finish(self) -> None:
        if not self.window.grab().save(str(self.screenshot)):
            print(f"smoke test: could not write {self.screenshot}", file=sys.stderr)
            self._quit(1)
            return
        print(f"smoke test: exposed_at={self.exposed_at:.3f} photo_at={self.photo_at:.3f} screenshot={self.screenshot}")
        self._quit(0)

    def _give_up(self) -> None:
        if self.photo_at is None:
            what = "the window was never exposed" if self.exposed_at is None else "the photo never showed"
            print(f"smoke test failed: {what} within {self._timeout_ms / 1000:g} s", file=sys.stderr)
            self._quit(1)

    def _quit(self, code: int) -> None:
        self.exit_code = code
        self.window.close()
        QCoreApplication.exit(code)  # even if another top-level window is still open
