"""The main window's saved size, restored within what the screen can show.

A geometry is saved in logical pixels. A session under ``QT_SCALE_FACTOR=2`` on a small screen
saves a window half the size a 1x session wants, and the next session opened that shrunken
window with toolbar actions hidden behind its overflow arrow. So a restored window is grown to a
sane minimum (the tool bar's full width) and kept inside the screen's available area.
"""

from __future__ import annotations

import base64
import binascii

from PySide6.QtCore import QByteArray, QSize
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QMainWindow

#: The size a window opens with when nothing was saved.
DEFAULT_SIZE = QSize(1280, 820)
#: The least a restored window gets (wider where its tool bar needs it), screen allowing.
MIN_SIZE = QSize(960, 600)


def restore_geometry(window: QMainWindow, saved: str, least_width: int = 0) -> None:
    """Restore ``saved`` (base64 of saveGeometry), then fit it to the screen: at least
    ``MIN_SIZE`` and ``least_width`` wide, at most the screen's available area."""
    restored = False
    if saved:
        try:
            restored = window.restoreGeometry(QByteArray(base64.b64decode(saved)))
        except (ValueError, binascii.Error):
            restored = False
    if not restored:
        window.resize(DEFAULT_SIZE)
    fit_to_screen(window, QSize(max(MIN_SIZE.width(), least_width), MIN_SIZE.height()))


def fit_to_screen(window: QMainWindow, least: QSize) -> None:
    """Grow ``window`` to ``least`` and keep it inside its screen's available area (not when maximized)."""
    if window.isMaximized() or window.isFullScreen():
        return
    screen = window.screen() or QGuiApplication.primaryScreen()
    if screen is None:
        return
    area = screen.availableGeometry()
    width = min(max(window.width(), least.width()), area.width())
    height = min(max(window.height(), least.height()), area.height())
    window.resize(width, height)
    x = min(max(window.x(), area.left()), area.left() + area.width() - width)
    y = min(max(window.y(), area.top()), area.top() + area.height() - height)
    window.move(x, y)
