"""Fixtures for driving the real editor window offscreen."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication, QFileDialog, QMessageBox

from lamapaint.core.document import Document
from lamapaint.qt.main_window import MainWindow


def make_photo(height: int = 96, width: int = 128, seed: int = 0) -> np.ndarray:
    """A smooth gradient with a dark square "object" in the middle: fills have something to do."""
    yy, xx = np.mgrid[0:height, 0:width]
    rgb = np.stack([xx * 255 // max(width - 1, 1), yy * 255 // max(height - 1, 1), np.full_like(xx, 128)], axis=-1)
    rgb[height // 2 - 10 : height // 2 + 10, width // 2 - 10 : width // 2 + 10] = (20, 20, 20)
    noise = np.random.default_rng(seed).integers(-3, 4, rgb.shape)
    return np.clip(rgb + noise, 0, 255).astype(np.uint8)


@pytest.fixture
def photo_path(tmp_path: Path) -> Path:
    path = tmp_path / "photo.png"
    Image.fromarray(make_photo()).save(path)
    return path


class Dialogs:
    """Stands in for modal message boxes and file dialogs, which would block an offscreen test."""

    def __init__(self) -> None:
        self.asked: list[str] = []
        self.button = QMessageBox.StandardButton.Discard
        self.save_name = ""
        self.open_name = ""

    def message(self, _parent, title, text, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN201
        self.asked.append(f"{title}: {text}")
        return self.button


@pytest.fixture
def dialogs(monkeypatch: pytest.MonkeyPatch) -> Dialogs:
    d = Dialogs()
    for name in ("question", "warning", "information", "critical"):
        monkeypatch.setattr(QMessageBox, name, d.message)
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (d.save_name, ""))
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (d.open_name, ""))
    return d


@pytest.fixture
def window(qtbot, dialogs: Dialogs) -> Iterator[MainWindow]:  # noqa: ANN001 - pytest-qt fixture
    win = MainWindow()
    win.resize(900, 640)
    win.show()
    qtbot.waitExposed(win)
    win.first_run.hide()  # past the first run: the model offer floats over the canvas
    yield win
    dialogs.button = QMessageBox.StandardButton.Discard
    win.close()
    win.deleteLater()


@pytest.fixture
def doc_window(window: MainWindow) -> MainWindow:
    window.set_document(Document(make_photo()))
    window.view.fit()
    return window


def image_to_viewport(win: MainWindow, x: float, y: float) -> QPoint:
    return win.view.mapFromScene(QPointF(x, y))


def drag(qtbot, win: MainWindow, points: list[tuple[float, float]], modifier=Qt.KeyboardModifier.NoModifier) -> None:  # noqa: ANN001
    """Press at the first image point, move through the rest, release at the last."""
    vp = win.view.viewport()
    pts = [image_to_viewport(win, x, y) for x, y in points]
    qtbot.mousePress(vp, Qt.MouseButton.LeftButton, modifier, pts[0])
    for p in pts[1:]:
        # QTest.mouseMove sends no buttons; send a move event with the left button held.
        ev = QMouseEvent(QEvent.Type.MouseMove, QPointF(p), QPointF(vp.mapToGlobal(p)), Qt.MouseButton.NoButton, Qt.MouseButton.LeftButton, modifier)
        QApplication.sendEvent(vp, ev)
    qtbot.mouseRelease(vp, Qt.MouseButton.LeftButton, modifier, pts[-1])


