"""The first-run offer of the LaMa model: a panel floating over the canvas, never in a layout.

It appears at start when no model is installed, downloads or imports in the background while the
person keeps working (through the window's ``ModelInstaller``, so the status bar's Cancel stops it
too), and explains the browser route when the download cannot reach the network. Because it is a
child of the canvas viewport, showing or hiding it moves nothing. It sits in the viewport's
bottom-right corner, away from the middle of the photo where the work is, and its ✕ hides it
until the next start.
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtWidgets import (
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from lamapaint.qt.model_installer import ModelInstaller, ModelStore
from lamapaint.qt.model_words import (
    IMPORT_FILTER,
    LAMA_STORE,
    OFFERED_MODEL,
    OFFERED_SIZE_TEXT,
    browser_download_text,
    describe_model_error,
    is_offline,
    models_dir,
)

log = logging.getLogger(__name__)

MARGIN = 12
WIDTH = 430


class FirstRunPanel(QFrame):
    """"Get the LaMa model" / "Import a file I have" / "Use the basic fill for now"."""

    dismissed = Signal()

    def __init__(self, host: QWidget, installer: ModelInstaller) -> None:
        super().__init__(host)
        self.setObjectName("firstRunPanel")
        self.setStyleSheet(
            "#firstRunPanel { background: rgba(40, 40, 36, 235); border: 1px solid #8a8450; border-radius: 6px; }"
            " #firstRunPanel QLabel { color: #f2ecc0; }"
            " #firstRunPanel QToolButton { color: #f2ecc0; border: none; font-size: 14px; padding: 0 4px; }"
            " #firstRunPanel QToolButton:hover { background: rgba(255, 255, 255, 40); border-radius: 3px; }"
        )
        self.setFixedWidth(WIDTH)
        self._installer = installer

        self.title = QLabel("<b>Get the LaMa model for clean removals</b>", self)
        self.close_button = QToolButton(self)
        self.close_button.setText("✕")
        self.close_button.setAutoRaise(True)
        self.close_button.setToolTip("Hide this offer until lamapaint starts again (Remove ▸ Models and Device… has it too)")
        self.close_button.setAccessibleName("Close")
        self.body = QLabel(
            "No LaMa model is installed yet, so removals use the basic fill, which is meant for small "
            f"blemishes. The LaMa model is {OFFERED_SIZE_TEXT}; it will be stored in<br><code>{models_dir()}</code>",
            self,
        )
        self.get_button = QPushButton("Get the LaMa model (≈ 200 MB)", self)
        self.import_button = QPushButton("Import a file I have…", self)
        self.basic_button = QPushButton("Use the basic fill for now", self)
        self.cancel_button = QPushButton("Cancel", self)
        self.progress = QProgressBar(self)
        self.progress.setRange(0, 1000)
        self.progress.setTextVisible(False)
        self.status = QLabel("", self)
        self.browser_help = QLabel(browser_download_text(link_colour="#9cd0ff"), self)  # readable on the dark panel
        self.browser_help.setOpenExternalLinks(True)
        self.browser_help.setTextInteractionFlags(Qt.TextInteractionFlag.TextBrowserInteraction)
        for label in (self.body, self.status, self.browser_help):
            label.setWordWrap(True)
        for widget in (self.get_button, self.import_button, self.basic_button, self.cancel_button, self.close_button):
            widget.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # keys stay with the canvas

        buttons = QHBoxLayout()
        buttons.addWidget(self.get_button)
        buttons.addWidget(self.import_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 10, 12, 10)
        heading = QHBoxLayout()
        heading.addWidget(self.title, 1)
        heading.addWidget(self.close_button, 0, Qt.AlignmentFlag.AlignTop)
        layout.addLayout(heading)
        layout.addWidget(self.body)
        layout.addLayout(buttons)
        layout.addWidget(self.basic_button)
        layout.addWidget(self.progress)
        layout.addWidget(self.cancel_button)
        layout.addWidget(self.status)
        layout.addWidget(self.browser_help)
        self._set_running(False)
        self.status.hide()
        self.browser_help.hide()

        self.get_button.clicked.connect(self.start_download)
        self.import_button.clicked.connect(self._ask_import)
        self.basic_button.clicked.connect(self.dismiss)
        self.close_button.clicked.connect(self.dismiss)
        self.cancel_button.clicked.connect(self.cancel)
        installer.started.connect(self._on_started)
        installer.progress.connect(self._on_progress)
        installer.installed.connect(self._on_installed)
        installer.failed.connect(self._on_failed)
        installer.cancelled.connect(self._on_cancelled)
        host.installEventFilter(self)
        self.hide()

    # -- placement ------------------------------------------------------------------------------
    def offer(self) -> None:
        self._place()
        self.show()
        self.raise_()

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        if obj is self.parentWidget() and event.type() == QEvent.Type.Resize:
            self._place()
        return False

    def _place(self) -> None:
        """The viewport's bottom-right corner, ``MARGIN`` from its edges (the top-left one on a tiny canvas)."""
        host = self.parentWidget()
        self.adjustSize()
        self.move(max(MARGIN, host.width() - self.width() - MARGIN), max(MARGIN, host.height() - self.height() - MARGIN))

    def dismiss(self) -> None:
        self.cancel()
        self.hide()
        self.dismissed.emit()

    # -- download / import (any install the window's installer runs shows here) ----------------
    @property
    def busy(self) -> bool:
        return self._installer.busy

    def start_download(self) -> None:
        self._installer.download(LAMA_STORE, OFFERED_MODEL)

    def _ask_import(self) -> None:
        name, _ = QFileDialog.getOpenFileName(self, "Import a LaMa model file", str(Path.home() / "Downloads"), IMPORT_FILTER)
        if name:
            self.import_file(Path(name))

    def import_file(self, path: Path) -> None:
        self._installer.import_file(LAMA_STORE, path)

    def cancel(self) -> None:
        self._installer.cancel()

    def _set_running(self, running: bool) -> None:
        self.get_button.setEnabled(not running)
        self.import_button.setEnabled(not running)
        self.progress.setVisible(running)
        self.cancel_button.setVisible(running)
        self.progress.setValue(0)
        if self.isVisible():
            self._place()

    def _say(self, text: str) -> None:
        self.status.setText(text)
        self.status.setVisible(bool(text))
        if self.isVisible():
            self._place()

    def _on_started(self, label: str) -> None:
        self._set_running(True)
        self.browser_help.hide()
        self._say(label)

    def _on_progress(self, fraction: float, message: str) -> None:
        self.progress.setValue(int(max(0.0, min(1.0, fraction)) * 1000))

    def _on_installed(self, _store: ModelStore, path: Path) -> None:
        self._set_running(False)
        log.info("Installed %s; the first-run offer goes away", path)
        self.hide()

    def _on_failed(self, exc: BaseException) -> None:
        self._set_running(False)
        self._say(describe_model_error(exc))
        self.browser_help.setVisible(is_offline(exc))
        if self.isVisible():
            self._place()

    def _on_cancelled(self) -> None:
        self._set_running(False)
        self._say("Cancelled; nothing was installed. The next try continues where this one stopped.")
