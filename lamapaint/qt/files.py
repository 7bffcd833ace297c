"""Open, save, export and the unsaved-changes prompt, with the slow parts off the GUI thread.

Loading, project saving and exporting run in the TaskRunner; the GUI thread only builds the
Document from the loaded data and shows messages. Saving works from ``Document.snapshot()``.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QFileDialog, QMessageBox, QWidget

from lamapaint.core.document import Document
from lamapaint.io.write_errors import explain_write_error
from lamapaint.qt.dialogs.export import ExportDialog, default_export_path
from lamapaint.qt.tasks import TaskRunner
from lamapaint.settings import Settings

if TYPE_CHECKING:
    from lamapaint.qt.document_adapter import DocumentAdapter

log = logging.getLogger(__name__)

PROJECT_SUFFIX = ".lamapaint"
IMAGE_FILTER = "Photos and projects (*.jpg *.jpeg *.png *.tif *.tiff *.webp *.bmp *.heic *.heif *.lamapaint);;All files (*)"
PROJECT_FILTER = "lamapaint projects (*.lamapaint)"
MAX_RECENT = 10


def load_document(path: Path) -> Document:
    """Read a photo or a project into a new Document (runs on a worker thread)."""
    if path.suffix.lower() == PROJECT_SUFFIX:
        from lamapaint.io.project import load_project

        doc = load_project(path)
        doc.project_path = path
        return doc
    from lamapaint.io.images import load_image

    loaded = load_image(path)
    return Document(loaded.rgb, source=loaded)


class DocumentFiles(QObject):
    """File commands of the window; ``documentLoaded`` hands a new Document to the window."""

    documentLoaded = Signal(object)
    projectSaved = Signal(object)  # Path
    message = Signal(str)
    recentChanged = Signal()

    def __init__(self, adapter: "DocumentAdapter", tasks: TaskRunner, settings: Settings, parent: QWidget) -> None:
        super().__init__(parent)
        self._adapter = adapter
        self._tasks = tasks
        self._settings = settings
        self._parent = parent

    # -- open -----------------------------------------------------------------------------------
    def ask_open(self) -> None:
        start = self._settings.recent_files[0] if self._settings.recent_files else str(Path.home())
        name, _ = QFileDialog.getOpenFileName(self._parent, "Open", str(Path(start).parent), IMAGE_FILTER)
        if name:
            self.open_path(Path(name))

    def open_path(self, path: Path) -> None:
        """Decode first, ask about unsaved work after: a file that does not open costs nothing."""
        path = Path(path)
        self._tasks.run(f"Opening {path.name}…", lambda: load_document(path), lambda doc: self._loaded(path, doc), lambda exc: self._error("Could not open", path, exc))

    def _loaded(self, path: Path, doc: Document) -> None:
        if self.maybe_save(on_saved=lambda: self._opened(path, doc)):
            self._opened(path, doc)

    def _opened(self, path: Path, doc: Document) -> None:
        self.add_recent(path)
        self.documentLoaded.emit(doc)
        self.message.emit(f"Opened {path.name} ({doc.width} × {doc.height}).")

    def add_recent(self, path: Path) -> None:
        text = str(Path(path).resolve())
        recent = [p for p in self._settings.recent_files if p != text]
        self._settings.recent_files = [text, *recent][:MAX_RECENT]
        self.recentChanged.emit()

    # -- save -----------------------------------------------------------------------------------
    def save(self, on_saved: Callable[[], None] | None = None) -> bool:
        """Save to the project's path, or ask for one; False when the person cancelled."""
        doc = self._adapter.document
        if doc is None:
            return False
        if doc.project_path is None:
            return self.save_as(on_saved)
        self.save_to(doc.project_path, on_saved)
        return True

    def save_as(self, on_saved: Callable[[], None] | None = None) -> bool:
        doc = self._adapter.document
        if doc is None:
            return False
        suggestion = doc.project_path or _default_project_path(doc)
        name, _ = QFileDialog.getSaveFileName(self._parent, "Save project", str(suggestion), PROJECT_FILTER)
        if not name:
            return False
        path = Path(name)
        if path.suffix.lower() != PROJECT_SUFFIX:
            path = path.with_suffix(PROJECT_SUFFIX)
        self.save_to(path, on_saved)
        return True

    def save_to(self, path: Path, on_saved: Callable[[], None] | None = None) -> None:
        from lamapaint.io.project import save_project

        doc = self._adapter.document
        if doc is None:
            return
        snapshot = doc.snapshot()

        def done(_result: object) -> None:
            doc.project_path = path
            if doc.revision == snapshot.revision:
                doc.mark_clean()  # edits made during the save keep the title starred
            self.add_recent(path)
            self.projectSaved.emit(path)
            self.message.emit(f"Saved {path.name}.")
            if on_saved is not None:
                on_saved()

        self._tasks.run(f"Saving {path.name}…", lambda: save_project(path, snapshot), done, lambda exc: self._error("Could not save", path, exc, "saved"))

    # -- export ---------------------------------------------------------------------------------
    def ask_export(self) -> None:
        doc = self._adapter.document
        if doc is None:
            return
        original = _source_path(doc)
        dialog = ExportDialog(
            default_export_path(original, doc.project_path), self._settings.jpeg_quality, original, self._parent, doc.source
        )
        if dialog.exec() != ExportDialog.DialogCode.Accepted:
            return
        choice = dialog.choice()
        self._settings.jpeg_quality = choice.quality
        self.export_to(choice.path, choice.format, choice.quality, choice.keep_metadata, choice.overwrite)

    def export_to(self, path: Path, fmt: str | None = None, quality: int = 95, keep_metadata: bool = True, overwrite: bool = False) -> None:
        from lamapaint.io.export import ExportOptions, export_image

        doc = self._adapter.document
        if doc is None:
            return
        snapshot = doc.snapshot()
        options = ExportOptions(format=fmt, quality=quality, keep_metadata=keep_metadata, overwrite=overwrite)

        def work() -> object:
            return export_image(path, snapshot.composite(), snapshot.source, options, touched=snapshot.touched())

        def done(report: object) -> None:
            summary = getattr(report, "summary", "")
            self.message.emit(f"Exported {path.name}" + (f": {summary}." if summary else "."))

        self._tasks.run(f"Exporting {path.name}…", work, done, lambda exc: self._error("Could not export", path, exc, "exported"))

    # -- unsaved changes ------------------------------------------------------------------------
    def maybe_save(self, on_saved: Callable[[], None] | None = None) -> bool:
        """Ask about unsaved changes. True: go on (saved synchronously or discarded); False: stay.

        When the person chooses Save, the save runs in the background and ``on_saved`` continues
        (e.g. closes the window); this returns False so the caller waits for it.
        """
        doc = self._adapter.document
        if doc is None or doc.is_clean:
            return True
        answer = QMessageBox.question(
            self._parent,
            "Unsaved changes",
            unsaved_changes_text(doc),
            QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Save,
        )
        if answer == QMessageBox.StandardButton.Discard:
            return True
        if answer == QMessageBox.StandardButton.Save:
            self.save(on_saved)
        return False

    def _error(self, what: str, path: Path, exc: BaseException, written: str | None = None) -> None:
        """``written`` ("saved", "exported"): a write failed; a full disk or a refused folder gets plain words."""
        text = (written and explain_write_error(exc, path, written)) or f"{what} {path.name}: {exc}"
        self.message.emit(text)
        QMessageBox.warning(self._parent, what, text)


def unsaved_changes_text(doc: Document) -> str:
    """The prompt names the project file, so nobody reads it as "overwrite my photo"."""
    project = (doc.project_path or _default_project_path(doc)).name
    if doc.project_path is not None:
        where = f"Save saves the layers and the mask in {project}."
    else:
        where = f"Save keeps the layers and the mask in a project file, {project}."
    return f"Save this editing session as a project?\n\n{where} The photo {doc.name} itself is never changed."


def _source_path(doc: Document) -> Path | None:
    path = getattr(doc.source, "path", None)
    return Path(path) if path else None


def _default_project_path(doc: Document) -> Path:
    src = _source_path(doc)
    if src is not None:
        return src.with_suffix(PROJECT_SUFFIX)
    return Path.home() / f"{Path(doc.name).stem or 'untitled'}{PROJECT_SUFFIX}"
