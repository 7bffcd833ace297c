"""The one-time offer of MobileSAM when the Select tool finds no Segment Anything model.

A small non-modal box says plainly that the classical select is in use and that MobileSAM
(~39 MB) selects better; "Download MobileSAM" fetches and installs it as a foreground job (the
status bar shows its progress and its Cancel stops it) while the person keeps working.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QMessageBox, QWidget

from lamapaint.qt.jobs import JobRunner

log = logging.getLogger(__name__)

SAM_DOWNLOAD_LANE = "sam download"
OFFERED_SAM = "mobile-sam"
OFFER_TEXT = (
    "No Segment Anything model is installed, so the Select tool uses the classical select "
    "(GrabCut for a box or a stroke, the similar-colour wand for a click).\n\n"
    "MobileSAM (~39 MB) selects objects much better."
)


class SamOffer(QObject):
    """``offer()`` shows the box once per session; ``installed`` is emitted with the model's path."""

    installed = Signal(object)
    message = Signal(str)

    def __init__(self, jobs: JobRunner, parent: QWidget) -> None:
        super().__init__(parent)
        self._jobs = jobs
        jobs.lane(SAM_DOWNLOAD_LANE)
        self._parent = parent
        self._offered = False
        self.box: QMessageBox | None = None

    def offer(self) -> None:
        if self._offered:
            return
        self._offered = True
        box = QMessageBox(QMessageBox.Icon.Information, "Select objects better", OFFER_TEXT, QMessageBox.StandardButton.NoButton, self._parent)
        self.download_button = box.addButton("Download MobileSAM", QMessageBox.ButtonRole.AcceptRole)
        box.addButton("Not Now", QMessageBox.ButtonRole.RejectRole)
        box.setModal(False)
        box.buttonClicked.connect(lambda button: self.download() if button is self.download_button else None)
        self.box = box
        box.show()

    def download(self) -> None:
        def run(progress: Any, cancel: Any) -> Path:
            from lamapaint.select.weights import download_sam

            return download_sam(OFFERED_SAM, progress, cancel)

        self._jobs.submit(SAM_DOWNLOAD_LANE, "Downloading MobileSAM…", run, self._done, self._failed, foreground=True)

    def _done(self, path: object) -> None:
        self.message.emit("MobileSAM is installed: the Select tool uses it from the next click.")
        self.installed.emit(path)

    def _failed(self, exc: BaseException) -> None:
        log.warning("MobileSAM download failed: %s", exc)
        self.message.emit(f"Could not download MobileSAM: {exc}")
