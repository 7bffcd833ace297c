"""File ▸ Import Mask…, Export Mask… and Reuse Last Mask: masks as files, and across photos.

Reading and writing run as foreground jobs on the files lane (a 50 MP mask takes a moment to
decode or encode); putting a mask on the document is one undoable step. The last photo's mask is
kept in memory for the session when another document replaces it: what was marked for removal
(``Document.marked_mask``: the painted mask plus the areas already removed), so a series shot on
a tripod, sensor dust or a watermark is marked once.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import QFileDialog, QMessageBox, QWidget

from lamapaint.io.mask_files import read_mask_for, write_mask
from lamapaint.io.write_errors import explain_write_error
from lamapaint.qt.files import FILES_LANE

if TYPE_CHECKING:
    from lamapaint.core.document import Document
    from lamapaint.qt.actions import Actions
    from lamapaint.qt.document_adapter import DocumentAdapter
    from lamapaint.qt.jobs import JobRunner

log = logging.getLogger(__name__)

MASK_OPEN_FILTER = "Images (*.png *.jpg *.jpeg *.tif *.tiff *.webp *.bmp *.gif);;All files (*)"
MASK_SAVE_FILTER = "PNG masks (*.png)"


class MaskFiles(QObject):
    """Connects the three mask actions; ``message`` carries status-bar text."""

    message = Signal(str)

    def __init__(self, adapter: "DocumentAdapter", jobs: "JobRunner", actions: "Actions", parent: QWidget) -> None:
        super().__init__(parent)
        self._adapter = adapter
        self._jobs = jobs
        self._actions = actions
        self._parent = parent
        self._doc: Document | None = adapter.document
        #: What the last document replaced had marked for removal (0/255), kept for the session.
        self.last_mask: np.ndarray | None = None
        actions.import_mask.triggered.connect(self.ask_import)
        actions.export_mask.triggered.connect(self.ask_export)
        actions.reuse_mask.triggered.connect(self.reuse_last)
        adapter.documentReplaced.connect(self._document_replaced)
        self._update_reuse()

    # -- import ---------------------------------------------------------------------------------
    def ask_import(self) -> None:
        doc = self._adapter.document
        if doc is None:
            return
        name, _ = QFileDialog.getOpenFileName(self._parent, "Import Mask", str(_folder(doc)), MASK_OPEN_FILTER)
        if name:
            self.import_path(Path(name))

    def import_path(self, path: Path) -> None:
        """Read ``path`` off the GUI thread and make it the painted mask (one undo step)."""
        doc = self._adapter.document
        if doc is None:
            return
        width, height = doc.width, doc.height
        self._jobs.submit(
            FILES_LANE,
            f"Reading the mask {path.name}…",
            lambda _progress, _cancel: read_mask_for(path, width, height),
            lambda mask: self._imported(doc, path, mask),
            lambda exc: self._failed("Could not import the mask", str(exc)),
            on_cancelled=lambda: self.message.emit(f"Importing {path.name} cancelled."),
            foreground=True,
        )

    def _imported(self, doc: "Document", path: Path, mask: np.ndarray) -> None:
        if doc is not self._adapter.document:
            self.message.emit(f"The mask {path.name} was not used: another photo was opened meanwhile.")
            return
        doc.replace_mask(mask, "Import mask")
        holes = int(np.count_nonzero(mask))
        if holes:
            self.message.emit(f"Imported the mask {path.name}: {holes:,} pixels to remove. Undo puts the old mask back.")
        else:
            self.message.emit(f"The mask {path.name} marks nothing to remove (it is all black or transparent).")

    # -- export ---------------------------------------------------------------------------------
    def ask_export(self) -> None:
        """Ask where, then write a PNG. The file dialog confirms replacing the name it returns; a
        name this method changes (the .png added) is confirmed here; nothing else is replaced."""
        doc = self._adapter.document
        if doc is None:
            return
        mask = doc.marked_mask()
        if not mask.any():
            self._failed("Nothing to export", "The mask is empty: paint or import a mask first.")
            return
        suggestion = _folder(doc) / f"{Path(doc.name).stem or 'photo'}-mask.png"
        name, _ = QFileDialog.getSaveFileName(self._parent, "Export Mask", str(suggestion), MASK_SAVE_FILTER)
        if not name:
            return
        chosen = Path(name)
        path = chosen if chosen.suffix.lower() == ".png" else chosen.with_suffix(".png")
        overwrite = path == chosen and path.exists()
        if path != chosen and path.exists():
            answer = QMessageBox.question(
                self._parent, "Replace the file?", f"{path.name} already exists in {path.parent}. Replace it with the mask?",
                QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, QMessageBox.StandardButton.No,
            )
            if answer != QMessageBox.StandardButton.Yes:
                return
            overwrite = True
        self.export_to(path, mask, overwrite)

    def export_to(self, path: Path, mask: np.ndarray, overwrite: bool = False) -> None:
        self._jobs.submit(
            FILES_LANE,
            f"Writing the mask {path.name}…",
            lambda _progress, _cancel: write_mask(path, mask, overwrite),
            lambda _result: self.message.emit(f"Exported the mask to {path.name} (white = remove)."),
            lambda exc: self._failed(
                "Could not export the mask", explain_write_error(exc, path, "exported") or f"Could not write {path.name}: {exc}"
            ),
            on_cancelled=lambda: self.message.emit(f"Export of {path.name} cancelled."),
            foreground=True,
        )

    # -- the last mask --------------------------------------------------------------------------
    def reuse_last(self) -> None:
        doc = self._adapter.document
        if doc is None or not self._fits(doc):
            return
        assert self.last_mask is not None
        doc.replace_mask(self.last_mask, "Reuse last mask")
        self.message.emit("The last photo's mask is on this one. Undo takes it off.")

    def _document_replaced(self) -> None:
        old, self._doc = self._doc, self._adapter.document
        if old is not None and old is not self._doc:
            marked = old.marked_mask()
            if marked.any():
                self.last_mask = marked
        self._update_reuse()
        doc = self._doc
        if doc is not None and self._fits(doc) and not doc.mask.any():
            # After the window's own "Opened …" message, which is sent once the document is shown.
            QTimer.singleShot(0, lambda: self.message.emit("The last photo's mask fits this one: File ▸ Reuse Last Mask puts it on."))

    def _fits(self, doc: "Document") -> bool:
        return self.last_mask is not None and self.last_mask.shape == doc.mask.shape

    def _update_reuse(self) -> None:
        doc = self._adapter.document
        self._actions.reuse_mask.setEnabled(doc is not None and self._fits(doc))

    def _failed(self, title: str, text: str) -> None:
        self.message.emit(text)
        QMessageBox.warning(self._parent, title, text)


def _folder(doc: "Document") -> Path:
    """The photo's folder, else the project's, else home: where a mask file is looked for first."""
    for path in (getattr(doc.source, "path", None), doc.project_path):
        if path:
            return Path(path).parent
    return Path.home()
