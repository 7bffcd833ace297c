"""Model manager: what is installed, download big-lama (progress, checksum, cancel), import a
local file, choose model, device, precision and strategy. Choices go to Settings.

The engine's weights module (and with it torch) is imported only when this dialog opens.
Downloads and imports run on a plain thread; progress reaches the dialog through queued signals.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any, Callable

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from lamapaint.inpaint.types import DEVICES, MODELS, PRECISIONS, STRATEGIES
from lamapaint.jobs import CancelToken, Cancelled
from lamapaint.settings import Settings

log = logging.getLogger(__name__)

DOWNLOADABLE = "big-lama"


class _Job(QObject):
    """Carries a background job's progress and outcome to the GUI thread."""

    progress = Signal(float, str)
    done = Signal(object)
    failed = Signal(str)
    cancelled = Signal()

    def start(self, fn: Callable[[Callable[[float, str], None], CancelToken], Any], cancel: CancelToken) -> None:
        def body() -> None:
            try:
                result = fn(lambda f, m: self.progress.emit(float(f), m), cancel)
            except Cancelled:
                self.cancelled.emit()
            except Exception as exc:  # shown in the dialog
                log.exception("Model job failed")
                self.failed.emit(str(exc) or type(exc).__name__)
            else:
                self.done.emit(result)

        threading.Thread(target=body, name="lamapaint-model-job", daemon=True).start()


class ModelManagerDialog(QDialog):
    modelsChanged = Signal()

    def __init__(self, settings: Settings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("LaMa models")
        self.setMinimumWidth(520)
        self._settings = settings
        self._cancel: CancelToken | None = None
        self._job: _Job | None = None

        self.installed = QListWidget(self)
        self.installed.setMinimumHeight(90)
        self.download_button = QPushButton(f"Download {DOWNLOADABLE}…", self)
        self.import_button = QPushButton("Import a file…", self)
        self.cancel_button = QPushButton("Cancel download", self)
        self.cancel_button.setVisible(False)
        self.progress = QProgressBar(self)
        self.progress.setRange(0, 1000)
        self.progress.setVisible(False)
        self.status = QLabel("", self)
        self.status.setWordWrap(True)
        self.about = QLabel(_known_model_text(DOWNLOADABLE), self)
        self.about.setWordWrap(True)

        models_box = QGroupBox("Installed models", self)
        box_layout = QVBoxLayout(models_box)
        box_layout.addWidget(self.installed)
        box_layout.addWidget(self.about)
        row = QHBoxLayout()
        row.addWidget(self.download_button)
        row.addWidget(self.import_button)
        row.addStretch(1)
        row.addWidget(self.cancel_button)
        box_layout.addLayout(row)
        box_layout.addWidget(self.progress)
        box_layout.addWidget(self.status)

        self.model_combo = _combo(self, MODELS, settings.model)
        self.device_combo = _combo(self, DEVICES, settings.device)
        self.precision_combo = _combo(self, PRECISIONS, settings.precision)
        self.strategy_combo = _combo(self, STRATEGIES, settings.strategy)
        run_box = QGroupBox("How removals run", self)
        form = QFormLayout(run_box)
        form.addRow("Model", self.model_combo)
        form.addRow("Device", self.device_combo)
        form.addRow("Precision", self.precision_combo)
        form.addRow("Large photos", self.strategy_combo)

        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(models_box)
        layout.addWidget(run_box)
        layout.addWidget(buttons)

        self.download_button.clicked.connect(self.start_download)
        self.import_button.clicked.connect(self._ask_import)
        self.cancel_button.clicked.connect(self.cancel_job)
        self.refresh()

    def refresh(self) -> None:
        from lamapaint.inpaint.weights import installed_models

        self.installed.clear()
        try:
            models = installed_models()
        except Exception as exc:  # a broken models folder must not break the dialog
            log.exception("Listing models failed")
            self.status.setText(f"Could not list the models: {exc}")
            models = []
        for model in models:
            self.installed.addItem(_describe_model(model))
        if not models:
            self.installed.addItem("No LaMa model installed: removals use OpenCV's classical fill.")

    # -- download / import ----------------------------------------------------------------------
    def start_download(self) -> None:
        from lamapaint.inpaint.weights import download_model

        self._run_job(f"Downloading {DOWNLOADABLE}…", lambda progress, cancel: download_model(DOWNLOADABLE, progress, cancel))

    def _ask_import(self) -> None:
        name, _ = QFileDialog.getOpenFileName(
            self, "Import LaMa weights", str(Path.home()), "Weights (*.safetensors *.ckpt *.pt *.pth);;All files (*)"
        )
        if name:
            self.import_file(Path(name))

    def import_file(self, path: Path) -> None:
        from lamapaint.inpaint.weights import import_model

        self._run_job(f"Importing {path.name}…", lambda _progress, _cancel: import_model(path))

    def cancel_job(self) -> None:
        if self._cancel is not None:
            self._cancel.cancel()
            self.status.setText("Cancelling…")

    def _run_job(self, label: str, fn: Callable[[Callable[[float, str], None], CancelToken], Any]) -> None:
        if self._job is not None:
            return
        self._cancel = CancelToken()
        self._job = _Job(self)
        self._job.progress.connect(self._on_progress)
        self._job.done.connect(self._on_done)
        self._job.failed.connect(self._on_failed)
        self._job.cancelled.connect(self._on_cancelled)
        self._set_running(True)
        self.status.setText(label)
        self._job.start(fn, self._cancel)

    def _set_running(self, running: bool) -> None:
        self.download_button.setEnabled(not running)
        self.import_button.setEnabled(not running)
        self.cancel_button.setVisible(running)
        self.progress.setVisible(running)
        self.progress.setValue(0)

    def _job_over(self) -> None:
        self._set_running(False)
        self._job = None
        self._cancel = None

    def _on_progress(self, fraction: float, message: str) -> None:
        self.progress.setValue(int(max(0.0, min(1.0, fraction)) * 1000))
        if message:
            self.status.setText(message)

    def _on_done(self, path: object) -> None:
        self._job_over()
        self.status.setText(f"Installed {Path(str(path)).name} (checksum verified).")
        self.refresh()
        self.modelsChanged.emit()

    def _on_failed(self, message: str) -> None:
        self._job_over()
        self.status.setText(message)

    def _on_cancelled(self) -> None:
        self._job_over()
        self.status.setText("Cancelled; nothing was installed.")

    # -- settings -------------------------------------------------------------------------------
    def apply_to(self, settings: Settings) -> None:
        settings.model = self.model_combo.currentText()
        settings.device = self.device_combo.currentText()
        settings.precision = self.precision_combo.currentText()
        settings.strategy = self.strategy_combo.currentText()

    def reject(self) -> None:
        self.cancel_job()
        super().reject()


def _combo(parent: QWidget, items: tuple[str, ...], current: str) -> QComboBox:
    combo = QComboBox(parent)
    combo.addItems(list(items))
    if current in items:
        combo.setCurrentText(current)
    return combo


def _describe_model(model: Any) -> str:
    """One row: name, configuration, size, and whether it is ready or merely found elsewhere."""
    parts = [str(model.name)]
    if model.config:
        parts.append(str(model.config))
    if model.size_bytes:
        parts.append(f"{model.size_bytes / 1e6:.0f} MB")
    state = "installed" if model.installed else f"found at {model.path} (converted on first use)"
    return " · ".join(parts) + f" — {state}"


def _known_model_text(name: str) -> str:
    from lamapaint.inpaint.weights import KNOWN_MODELS

    known = KNOWN_MODELS.get(name)
    if known is None:
        return ""
    size = f", {known.size / 1e6:.0f} MB" if known.size else ""
    return f"{known.name}: {known.description} ({known.license}{size})."
