"""The one-time offer of MobileSAM when the Select tool finds no Segment Anything model.

A small non-modal box says plainly that the classical select is in use and that MobileSAM
(~39 MB) selects better; "Download MobileSAM" fetches and installs it as a foreground job (the
status bar shows its progress and its Cancel stops it) while the person keeps working.
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QMessageBox, QWidget

from lamapaint.jobs import CancelToken, ProgressCallback
from lamapaint.qt.model_installer import ModelInstaller

log = logging.getLogger(__name__)

OFFERED_SAM = "mobile-sam"
OFFER_TEXT = (
    "No Segment Anything model is installed, so the Select tool uses the classical select "
    "(GrabCut for a box or a stroke, the similar-colour wand for a click).\n\n"
    "MobileSAM (~39 MB) selects objects much better."
)


class SamStore:
    """The Segment Anything family's downloads and imports, for the window's model installer."""

    title = "Segment Anything model"

    def download(self, model_id: str, progress: ProgressCallback, cancel: CancelToken) -> Path:
        from lamapaint.select.weights import download_sam

        return download_sam(model_id, progress, cancel)

    def import_file(self, path: Path, progress: ProgressCallback, cancel: CancelToken) -> Path:
        from lamapaint.select.weights import import_sam

        return import_sam(path)


SAM_STORE = SamStore()


class SamOffer(QObject):
    """``offer()`` shows the box once per session; ``installed`` is emitted with the model's path.

    The download runs on the window's one model installer, so the status bar shows its progress and
    its Cancel stops it, like any other model install.
    """

    installed = Signal(object)
    message = Signal(str)

    def __init__(self, installer: ModelInstaller, parent: QWidget) -> None:
        super().__init__(parent)
        self._installer = installer
        installer.installed.connect(self._on_installed)
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
        if not self._installer.download(SAM_STORE, OFFERED_SAM):
            self.message.emit("Another model is being installed; try again when it is done.")

    def _on_installed(self, store: object, path: object) -> None:
        if store is not SAM_STORE:
            return
        self.message.emit("The Segment Anything model is installed: the Select tool uses it from the next click.")
        self.installed.emit(path)
