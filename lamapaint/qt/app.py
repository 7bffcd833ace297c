"""QApplication set-up and the editor's main loop."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import PySide6
from PySide6.QtCore import QCoreApplication, QEvent, QTimer
from PySide6.QtWidgets import QApplication

from lamapaint import __version__
from lamapaint.qt.icons import app_icon
from lamapaint.qt.main_window import MainWindow
from lamapaint.qt.platform_libs import missing_libraries, missing_libraries_message, uses_xcb

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
    app.setDesktopFileName("io.github.lamapaint.Lamapaint")  # Wayland: match the .desktop file and its icon
    app.setWindowIcon(app_icon())
    return app  # type: ignore[return-value]


def system_libraries_missing() -> str | None:
    """A readable message when Qt's xcb plugin would abort for lack of a system library."""
    if not uses_xcb():
        return None
    missing = missing_libraries()
    return missing_libraries_message(missing) if missing else None


def main(path: Path | None = None, smoke_screenshot: Path | None = None) -> int:
    problem = system_libraries_missing()
    if problem:
        log.error("%s", problem)
        return 1
    app = create_app()
    window = MainWindow()
    smoke = None
    if smoke_screenshot is not None:
        from lamapaint.qt.smoke import SmokeTest

        smoke = SmokeTest(window, smoke_screenshot)
    window.show()
    if smoke is None:
        QTimer.singleShot(0, window.offer_recovery)
    if path is not None:
        QTimer.singleShot(0, lambda: window.open_path(path))
    code = app.exec()
    # Closing the last window posts a Quit; when exit() ended the loop first (the smoke test) it
    # stays queued and would end the next event loop of this process at once (tests call main()).
    QCoreApplication.removePostedEvents(app, QEvent.Type.Quit)
    return smoke.exit_code if smoke is not None else code
