"""QApplication set-up and the editor's main loop."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import PySide6
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from lamapaint import __version__
from lamapaint.qt.main_window import MainWindow

log = logging.getLogger(__name__)


#: Versions whose Signal.emit() loses a reference on every call: the process dies after a few
#: hundred signals ("bool_dealloc"). pyproject excludes them; warn loudly if one is installed anyway.
BROKEN_PYSIDE = {"6.12.0"}


def create_app(argv: list[str] | None = None) -> QApplication:
    """The QApplication (reused when one exists, as under pytest-qt)."""
    if PySide6.__version__ in BROKEN_PYSIDE:
        log.error("PySide6 %s has a signal reference-count bug that crashes the editor; install another version", PySide6.__version__)
    app = QApplication.instance()
    if app is None:
        app = QApplication(argv if argv is not None else sys.argv[:1])
    app.setApplicationName("lamapaint")
    app.setOrganizationName("lamapaint")
    app.setApplicationVersion(__version__)
    return app  # type: ignore[return-value]


def main(path: Path | None = None) -> int:
    app = create_app()
    window = MainWindow()
    window.show()
    QTimer.singleShot(0, window.offer_recovery)
    if path is not None:
        QTimer.singleShot(0, lambda: window.open_path(path))
    return app.exec()
