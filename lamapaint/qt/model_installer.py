"""Installing models in the editor: one object, one job at a time, on the window's job runner.

Every install route (the first-run panel, the model manager, and whatever model family comes next)
goes through the window's ``ModelInstaller``. It knows nothing of LaMa: a ``ModelStore`` (for LaMa,
``model_words.LAMA_STORE``) says how a catalogue entry is downloaded (progress, checksum, resume,
cancel) and how a local file is checked and installed; the installer runs that as a *foreground*
job on the window's ``JobRunner`` models lane, so the status bar shows its progress and its
Cancel button stops it, and it tells every view that follows it through its signals.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Callable, Protocol

from PySide6.QtCore import QObject, Signal

from lamapaint.jobs import CancelToken, ProgressCallback
from lamapaint.qt.jobs import Job, JobFn, JobRunner

log = logging.getLogger(__name__)

#: The lane of installs and of model listings (a listing queued after an install sees its result).
MODELS_LANE = "models"


class ModelStore(Protocol):
    """Where one model family's files come from and go to. Its methods run on a worker thread."""

    #: What the person calls the family's model: "LaMa model".
    title: str

    def download(self, model_id: str, progress: ProgressCallback, cancel: CancelToken) -> Path:
        """Download the catalogue entry ``model_id``, verify and install it; the installed file."""
        ...

    def import_file(self, path: Path, progress: ProgressCallback, cancel: CancelToken) -> Path:
        """Check a file the person picked and install it; the installed file."""
        ...


class ModelInstaller(QObject):
    """Runs one install at a time and reports it to whoever listens (panels, dialogs, the window)."""

    started = Signal(str)  # the job's label: "Downloading the LaMa model…"
    progress = Signal(float, str)
    installed = Signal(object, object)  # ModelStore, Path of the installed file
    failed = Signal(object)  # the exception (worded by model_words.describe_model_error)
    cancelled = Signal()
    finished = Signal()  # after any of installed / failed / cancelled

    def __init__(self, jobs: JobRunner, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.jobs = jobs
        jobs.lane(MODELS_LANE)
        self._job: Job | None = None
        self.importing = False  # what the running install is: an import of a file, or a download

    @property
    def busy(self) -> bool:
        return self._job is not None

    @property
    def label(self) -> str:
        """What is running ("" when nothing is)."""
        return self._job.label if self._job is not None else ""

    def download(self, store: ModelStore, model_id: str) -> bool:
        """Start downloading ``model_id`` from ``store``'s catalogue; False while another install runs."""
        return self._start(f"Downloading the {store.title}…", store, False, lambda progress, cancel: store.download(model_id, progress, cancel))

    def import_file(self, store: ModelStore, path: Path) -> bool:
        """Start checking and installing ``path`` as one of ``store``'s models; False while busy."""
        return self._start(f"Checking {path.name}…", store, True, lambda progress, cancel: store.import_file(path, progress, cancel))

    def cancel(self) -> bool:
        """Ask the running install to stop; ``cancelled`` follows. False when none runs."""
        if self._job is None:
            return False
        self._job.cancel()
        return True

    def _start(self, label: str, store: ModelStore, importing: bool, fn: JobFn) -> bool:
        if self._job is not None:
            return False
        self.importing = importing
        self._job = self.jobs.submit(
            MODELS_LANE,
            label,
            fn,
            on_done=lambda path: self._over(self.installed.emit, store, Path(str(path))),
            on_failed=lambda exc: self._over(self.failed.emit, exc),
            on_cancelled=lambda: self._over(self.cancelled.emit),
            on_progress=self.progress.emit,
            foreground=True,
        )
        self.started.emit(label)
        return True

    def _over(self, emit: Callable[..., Any], *args: object) -> None:
        self._job = None
        try:
            emit(*args)
        finally:
            self.finished.emit()
