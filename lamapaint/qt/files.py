"""Open, save, export and the unsaved-changes prompt, with the slow parts off the GUI thread.

Loading, project saving and exporting are foreground jobs on the job runner's files lane (in order,
with progress in the status bar and its Cancel button); the worker thread builds the Document, the
GUI thread only takes it over and shows messages. Saving works from ``Document.snapshot()``.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QFileDialog, QMessageBox, QWidget

from lamapaint.core.document import Document
from lamapaint.io.formats import PHOTO_SUFFIXES, path_for_format
from lamapaint.io.write_errors import explain_write_error
from lamapaint.qt.dialogs.export import ExportDialog, default_export_path
from lamapaint.jobs import CancelToken, ProgressCallback
from lamapaint.qt.jobs import JobRunner
from lamapaint.settings import Settings

if TYPE_CHECKING:
    from lamapaint.io.export import ExportPlan
    from lamapaint.io.jpeg_blocks import BlockSource
    from lamapaint.qt.document_adapter import DocumentAdapter

log = logging.getLogger(__name__)

PROJECT_SUFFIX = ".lamapaint"
IMAGE_FILTER = f"Photos and projects ({' '.join('*' + s for s in PHOTO_SUFFIXES)} *.lamapaint);;All files (*)"
PROJECT_FILTER = "lamapaint projects (*.lamapaint)"
MAX_RECENT = 10
FILES_LANE = "files"


def load_document(path: Path, progress: ProgressCallback, cancel: CancelToken) -> Document:
    """Read a photo or a project into a new Document (runs on the files lane).

    The readers decode in one call, so cancel is honoured between the stages (before reading,
    after decoding); a cancelled open leaves the open document as it was.
    """
    progress(0.0, f"Opening {path.name}…")
    cancel.raise_if_cancelled()
    if path.suffix.lower() == PROJECT_SUFFIX:
        from lamapaint.io.project import load_project

        doc = load_project(path)
        doc.set_project_path(path)
    else:
        from lamapaint.io.images import load_image

        loaded = load_image(path)
        progress(0.8, f"Preparing {path.name}…")
        cancel.raise_if_cancelled()
        doc = Document(loaded.rgb, source=loaded)
    cancel.raise_if_cancelled()
    progress(1.0, f"Opened {path.name}")
    return doc


class DocumentFiles(QObject):
    """File commands of the window; ``documentLoaded`` hands a new Document to the window."""

    documentLoaded = Signal(object)
    projectSaved = Signal(object)  # Path
    message = Signal(str)
    recentChanged = Signal()

    def __init__(self, adapter: "DocumentAdapter", jobs: JobRunner, settings: Settings, parent: QWidget) -> None:
        super().__init__(parent)
        self._adapter = adapter
        self._jobs = jobs
        jobs.lane(FILES_LANE)
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
        self._run(
            f"Opening {path.name}…",
            lambda progress, cancel: load_document(path, progress, cancel),
            lambda doc: self._loaded(path, doc),
            lambda exc: self._error("Could not open", path, exc),
            f"Opening {path.name} cancelled.",
        )

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
        chosen = Path(name)
        path = project_path_for(chosen)
        # The dialog asked before replacing the name it returned, and only that name: a file under
        # the completed name was never confirmed, so ask here. Whatever nobody confirmed is written
        # with overwrite=False, so a file that appears meanwhile is not replaced either.
        if path != chosen and path.exists() and not self._confirm_replace(path):
            return False
        self.save_to(path, on_saved, overwrite=path.exists())
        return True

    def _confirm_replace(self, path: Path) -> bool:
        answer = QMessageBox.question(
            self._parent,
            "Replace project?",
            f"{path.name} already exists in {path.parent}. Replace it with this project?",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.No,
        )
        return answer == QMessageBox.StandardButton.Yes

    def save_to(self, path: Path, on_saved: Callable[[], None] | None = None, overwrite: bool = True) -> None:
        """Save the project to ``path``; ``overwrite=False`` refuses a file that exists by then."""
        from lamapaint.io.project import save_project

        doc = self._adapter.document
        if doc is None:
            return
        snapshot = doc.snapshot()

        def done(_result: object) -> None:
            doc.set_project_path(path)
            if doc.revision == snapshot.revision:
                doc.mark_clean()  # edits made during the save keep the title starred
            self.add_recent(path)
            self.projectSaved.emit(path)
            self.message.emit(f"Saved {path.name}.")
            if on_saved is not None:
                on_saved()

        self._run(
            f"Saving {path.name}…",
            lambda progress, cancel: save_project(path, snapshot, progress, cancel, overwrite=overwrite),
            done,
            lambda exc: self._error("Could not save", path, exc, "saved"),
            f"Saving {path.name} cancelled; the file on disk is as it was.",
        )

    # -- export ---------------------------------------------------------------------------------
    def ask_export(self) -> None:
        doc = self._adapter.document
        if doc is None:
            return
        original = _source_path(doc)
        path = default_export_path(original, doc.project_path)
        ahead = self._read_block_source_ahead(path, doc.source)
        dialog = ExportDialog(path, self._settings.jpeg_quality, original, self._parent, doc.source)
        if dialog.exec() != ExportDialog.DialogCode.Accepted:
            ahead.discard()
            return
        choice = dialog.choice()
        self._settings.jpeg_quality = choice.quality
        self.export_to(choice.path, choice.format, choice.quality, choice.keep_metadata, choice.overwrite, choice.plan, ahead)

    def _read_block_source_ahead(self, path: Path, source: object) -> "BlockSourceAhead":
        """Read a JPEG original's coefficients on the files lane while the dialog is open, so the
        export that follows on the same lane does not read them again (about a second for 20 MP)."""
        from lamapaint.io.export import ExportOptions, read_block_source
        from lamapaint.io.images import LoadedImage

        ahead = BlockSourceAhead()
        if not isinstance(source, LoadedImage) or source.format != "JPEG":
            return ahead

        def work(_progress: ProgressCallback, cancel: CancelToken) -> None:
            cancel.raise_if_cancelled()
            if not ahead.discarded:
                ahead.offer(read_block_source(path_for_format(path, "JPEG"), source, ExportOptions()))

        self._jobs.submit(FILES_LANE, f"Reading {path.name}'s JPEG blocks…", work)
        return ahead

    def export_to(
        self, path: Path, fmt: str | None = None, quality: int = 95, keep_metadata: bool = True, overwrite: bool = False,
        plan: "ExportPlan | None" = None, ahead: "BlockSourceAhead | None" = None,
    ) -> None:
        """Export on the files lane; ``plan`` is the one the dialog showed (made here when None),
        ``ahead`` the original's coefficients read ahead on the same lane."""
        from lamapaint.io.export import ExportOptions, export_image

        doc = self._adapter.document
        if doc is None:
            return
        snapshot = doc.snapshot()
        options = ExportOptions(format=fmt, quality=quality, keep_metadata=keep_metadata, overwrite=overwrite)

        def work(progress: ProgressCallback, cancel: CancelToken) -> object:
            # The encoder writes in one call: cancel is honoured between composing and writing.
            block_source = ahead.take() if ahead is not None else None
            progress(0.0, f"Composing {path.name}…")
            rgb = snapshot.composite()
            cancel.raise_if_cancelled()
            touched = snapshot.touched()
            cancel.raise_if_cancelled()
            progress(0.5, f"Writing {path.name}…")
            return export_image(path, rgb, snapshot.source, options, touched, block_source, plan)

        def done(report: object) -> None:
            summary = getattr(report, "summary", "")
            self.message.emit(f"Exported {path.name}" + (f": {summary}." if summary else "."))

        self._run(
            f"Exporting {path.name}…", work, done, lambda exc: self._error("Could not export", path, exc, "exported"), f"Export of {path.name} cancelled."
        )

    def _run(
        self,
        label: str,
        fn: Callable[[ProgressCallback, CancelToken], object],
        on_done: Callable[[object], None],
        on_failed: Callable[[BaseException], None],
        cancelled_text: str,
    ) -> None:
        self._jobs.submit(
            FILES_LANE, label, fn, on_done, on_failed, on_cancelled=lambda: self.message.emit(cancelled_text), foreground=True
        )

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


class BlockSourceAhead:
    """The original's JPEG coefficients, read on the files lane ahead of the export queued after it.

    Jobs on a lane run in order, so the export's worker finds the read finished; a cancelled
    dialog discards it, also when the read is still running (its result is then dropped).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.value: BlockSource | None = None
        self.discarded = False

    def offer(self, value: "BlockSource | None") -> None:
        """Keep what the read gave, unless the dialog was cancelled meanwhile (worker thread)."""
        with self._lock:
            if not self.discarded:
                self.value = value

    def take(self) -> "BlockSource | None":
        """The coefficients, once: a block-wise save splices into them."""
        with self._lock:
            value, self.value = self.value, None
        return value

    def discard(self) -> None:
        with self._lock:
            self.discarded = True
            self.value = None


def unsaved_changes_text(doc: Document) -> str:
    """The prompt names the project file, so nobody reads it as "overwrite my photo"."""
    project = (doc.project_path or _default_project_path(doc)).name
    if doc.project_path is not None:
        where = f"Save saves the layers and the mask in {project}."
    else:
        where = f"Save keeps the layers and the mask in a project file, {project}."
    return f"Save this editing session as a project?\n\n{where} The photo {doc.name} itself is never changed."


def project_path_for(chosen: Path) -> Path:
    """The name a project is saved under: ``.lamapaint`` appended unless it is there already
    (``trip.v2`` becomes ``trip.v2.lamapaint``, never ``trip.lamapaint``)."""
    if chosen.suffix.lower() == PROJECT_SUFFIX:
        return chosen
    return chosen.with_name(chosen.name + PROJECT_SUFFIX)


def _source_path(doc: Document) -> Path | None:
    path = getattr(doc.source, "path", None)
    return Path(path) if path else None


def _default_project_path(doc: Document) -> Path:
    src = _source_path(doc)
    if src is not None:
        return src.with_suffix(PROJECT_SUFFIX)
    return Path.home() / f"{Path(doc.name).stem or 'untitled'}{PROJECT_SUFFIX}"
