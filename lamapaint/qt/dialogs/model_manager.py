"""Model manager: what is installed, download big-lama (progress, checksum, cancel), import a
local file, choose model, device, precision and strategy. Choices go to Settings.

Downloads and imports go through the window's ``ModelInstaller`` (shared with the first-run panel,
on the window's job runner: the status bar shows them and its Cancel stops them). Listing the
installed models and the devices needs the engine's weights module and torch (about 2 s the first
time), so it runs as a job on the same models lane, after a running install: the window never
waits for it. Closing the dialog cancels a download or import it started.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

from PySide6.QtCore import Qt
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

from lamapaint.qt.dialogs.model_choices import DEVICE_CHOICES, MODEL_CHOICES, PRECISION_CHOICES, STRATEGY_CHOICES, Choice
from lamapaint.qt.jobs import JobRunner
from lamapaint.qt.model_installer import MODELS_LANE, ModelInstaller, ModelStore
from lamapaint.qt.model_words import (
    IMPORT_FILTER,
    LAMA_STORE,
    OFFERED_FILENAME,
    OFFERED_MODEL,
    OFFERED_SIZE_TEXT,
    browser_download_text,
    describe_model_error,
    is_offline,
    models_dir,
)
from lamapaint.settings import Settings

log = logging.getLogger(__name__)

#: The devices every machine has: offered until the lookup says what else there is.
ALWAYS_THERE = ("auto", "cpu")


class ModelManagerDialog(QDialog):
    def __init__(self, settings: Settings, parent: QWidget | None = None, installer: ModelInstaller | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Models and Device")
        self.setMinimumWidth(560)
        self._settings = settings
        # The window passes its own; on its own (a test, a tool) the dialog makes one.
        self.installer = installer if installer is not None else ModelInstaller(JobRunner(self), self)
        self._jobs = self.installer.jobs
        self._started_here = False  # closing cancels only an install this dialog started
        self._lookups = 0  # listings queued or running

        self.installed = QListWidget(self)
        self.installed.setMinimumHeight(60)
        self.installed.setMaximumHeight(110)
        self.download_button = QPushButton("Download the LaMa model (≈ 200 MB)", self)
        self.import_button = QPushButton("Import a file I have…", self)
        self.cancel_button = QPushButton("Cancel download", self)
        self.cancel_button.setVisible(False)
        self.progress = QProgressBar(self)
        self.progress.setRange(0, 1000)
        self.progress.setVisible(False)
        self.status = QLabel("", self)
        self.status.setWordWrap(True)
        self.about = QLabel(_about_text(), self)
        self.about.setWordWrap(True)
        self.browser_help = QLabel(browser_download_text(), self)
        self.browser_help.setWordWrap(True)
        self.browser_help.setOpenExternalLinks(True)
        self.browser_help.setTextInteractionFlags(Qt.TextInteractionFlag.TextBrowserInteraction)
        self.browser_help.setVisible(False)

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
        box_layout.addWidget(self.browser_help)

        self.model_combo = _combo(self, MODEL_CHOICES, settings.model)
        # Until the devices are known: the always-present ones, and the saved one so that OK keeps it.
        self.device_combo = _combo(self, [c for c in DEVICE_CHOICES if c.value in (*ALWAYS_THERE, settings.device)], settings.device)
        self.precision_combo = _combo(self, PRECISION_CHOICES, settings.precision)
        self.strategy_combo = _combo(self, STRATEGY_CHOICES, settings.strategy)
        run_box = QGroupBox("How removals run", self)
        form = QFormLayout(run_box)
        for label, combo in (
            ("Model", self.model_combo),
            ("Runs on", self.device_combo),
            ("Precision", self.precision_combo),
            ("Large photos", self.strategy_combo),
        ):
            form.addRow(label, _with_hint(run_box, combo))

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
        self._following = [
            (self.installer.started, self._on_started),
            (self.installer.progress, self._on_progress),
            (self.installer.installed, self._on_installed),
            (self.installer.failed, self._on_failed),
            (self.installer.cancelled, self._on_cancelled),
        ]
        for signal, slot in self._following:
            signal.connect(slot)
        if self.installer.busy:  # opened while the first-run panel downloads: follow it
            self._on_started(self.installer.label)
        self.refresh()

    def refresh(self) -> None:
        """Look up the installed models and the devices on the models lane (after a running install)."""
        self._lookups += 1
        self.installed.clear()
        self.installed.addItem("Looking for installed models…")
        self._jobs.submit(MODELS_LANE, "Listing models", _look_around, on_done=self._show_found)

    @property
    def listing(self) -> bool:
        """True while the installed models and the devices are being looked up."""
        return self._lookups > 0

    def _show_found(self, found: "_Found") -> None:
        self._lookups -= 1
        self.installed.clear()
        if found.problem is not None:
            self.status.setText(f"The models folder could not be read: {describe_model_error(found.problem)}")
        for model in found.models:
            self.installed.addItem(_describe_model(model))
        if not found.models:
            self.installed.addItem("No LaMa model installed yet: removals use the basic fill, meant for small blemishes.")
        combo = self.device_combo
        current = combo.currentData()
        combo.blockSignals(True)  # the hint follows once, for the final choice
        combo.clear()
        for choice in DEVICE_CHOICES:
            if choice.value in found.devices:
                _add_choice(combo, choice)
        combo.setCurrentIndex(max(0, combo.findData(current)))
        combo.blockSignals(False)
        combo.currentIndexChanged.emit(combo.currentIndex())

    # -- download / import (any install the installer runs shows here) --------------------------
    @property
    def busy(self) -> bool:
        """True while a download or import runs (started here or elsewhere)."""
        return self.installer.busy

    def start_download(self) -> None:
        self._started_here = self.installer.download(LAMA_STORE, OFFERED_MODEL) or self._started_here

    def _ask_import(self) -> None:
        name, _ = QFileDialog.getOpenFileName(self, "Import a LaMa model file", str(Path.home()), IMPORT_FILTER)
        if name:
            self.import_file(Path(name))

    def import_file(self, path: Path) -> None:
        self._started_here = self.installer.import_file(LAMA_STORE, path) or self._started_here

    def cancel_job(self) -> None:
        if self.installer.cancel():
            self.status.setText("Cancelling…")

    def _set_running(self, running: bool) -> None:
        self.download_button.setEnabled(not running)
        self.import_button.setEnabled(not running)
        self.cancel_button.setVisible(running)
        self.progress.setVisible(running)
        self.progress.setValue(0)

    def _on_started(self, label: str) -> None:
        self.cancel_button.setText("Cancel import" if self.installer.importing else "Cancel download")
        self._set_running(True)
        self.browser_help.setVisible(False)
        self.status.setText(label)

    def _job_over(self) -> None:
        self._set_running(False)
        self._started_here = False

    def _on_progress(self, fraction: float, message: str) -> None:
        self.progress.setValue(int(max(0.0, min(1.0, fraction)) * 1000))
        if message:
            self.status.setText(message)

    def _on_installed(self, _store: ModelStore, path: Path) -> None:
        self._job_over()
        self.status.setText(f"Installed {path.stem}; the next removal uses it.")
        self.refresh()

    def _on_failed(self, exc: BaseException) -> None:
        self._job_over()
        self.status.setText(describe_model_error(exc))
        self.browser_help.setVisible(is_offline(exc))

    def _on_cancelled(self) -> None:
        self._job_over()
        self.status.setText("Cancelled; nothing was installed.")

    # -- settings -------------------------------------------------------------------------------
    def apply_to(self, settings: Settings) -> None:
        settings.model = self.model_combo.currentData()
        settings.device = self.device_combo.currentData()
        settings.precision = self.precision_combo.currentData()
        settings.strategy = self.strategy_combo.currentData()

    def done(self, result: int) -> None:
        """Closing the dialog (OK, Cancel, Esc, the title bar) cancels a download or import it started,
        and stops following the installer (the window's lives on)."""
        if self._started_here:
            self.cancel_job()
        following, self._following = self._following, []
        for signal, slot in following:
            signal.disconnect(slot)
        super().done(result)


@dataclass(frozen=True)
class _Found:
    models: list[Any]  # lamapaint.inpaint.weights.InstalledModel
    devices: tuple[str, ...]
    problem: Exception | None  # why the models folder could not be read


def _look_around(_progress: object, _cancel: object) -> _Found:
    """The installed models and the devices (a job: both import torch). Never raises: a broken
    models folder or torch install must not break the dialog."""
    try:
        devices = available_devices()
    except Exception:
        log.warning("Looking for devices failed", exc_info=True)
        devices = ALWAYS_THERE
    try:
        from lamapaint.inpaint.weights import installed_models

        return _Found(installed_models(), devices, None)
    except Exception as exc:
        log.warning("Listing models failed: %s", exc)
        log.debug("Listing models failed", exc_info=True)
        return _Found([], devices, exc)


def available_devices() -> tuple[str, ...]:
    """The devices this machine has."""
    import torch

    found = list(ALWAYS_THERE)
    if torch.cuda.is_available():
        found.append("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        found.append("mps")
    return tuple(found)


def select(combo: QComboBox, value: str) -> None:
    """Choose the item whose setting value is ``value`` (tests and callers use setting names)."""
    index = combo.findData(value)
    if index < 0:
        raise ValueError(f"{value!r} is not offered here")
    combo.setCurrentIndex(index)


def _combo(parent: QWidget, choices: Iterable[Choice], current: str) -> QComboBox:
    combo = QComboBox(parent)
    for choice in choices:
        _add_choice(combo, choice)
    index = combo.findData(current)
    combo.setCurrentIndex(max(0, index))
    return combo


def _add_choice(combo: QComboBox, choice: Choice) -> None:
    combo.addItem(choice.label, choice.value)
    combo.setItemData(combo.count() - 1, choice.explanation, Qt.ItemDataRole.ToolTipRole)


def _with_hint(parent: QWidget, combo: QComboBox) -> QWidget:
    """The combo with a one-line explanation of the current choice under it (also its tooltip)."""
    box = QWidget(parent)
    column = QVBoxLayout(box)
    column.setContentsMargins(0, 0, 0, 4)
    column.setSpacing(2)
    hint = QLabel(box)
    hint.setWordWrap(True)
    font = hint.font()
    font.setPointSizeF(font.pointSizeF() * 0.9)
    hint.setFont(font)
    column.addWidget(combo)
    column.addWidget(hint)

    def show(index: int) -> None:
        text = str(combo.itemData(index, Qt.ItemDataRole.ToolTipRole) or "")
        hint.setText(text)
        combo.setToolTip(text)

    combo.currentIndexChanged.connect(show)
    show(combo.currentIndex())
    return box


def _describe_model(model: Any) -> str:
    """One row: name, size, and whether it is ready or found elsewhere and converted on first use."""
    parts = [str(model.name)]
    if model.config and model.config != model.name:
        parts.append(str(model.config))
    if model.size_bytes:
        parts.append(f"{model.size_bytes / 1e6:.0f} MB")
    state = "installed" if model.installed else f"found at {model.path}, prepared on first use"
    return " · ".join(parts) + f" — {state}"


def _about_text() -> str:
    return (
        f"The LaMa model ({OFFERED_FILENAME}, {OFFERED_SIZE_TEXT}, Apache-2.0 licence, from the LaMa authors) "
        f"is kept in {models_dir()}."
    )
