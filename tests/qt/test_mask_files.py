"""File ▸ Import Mask…, Export Mask… and Reuse Last Mask, driven through the window's actions."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image
from PySide6.QtWidgets import QMessageBox

from lamapaint.core.geometry import Rect
from lamapaint.core.layers import Layer
from lamapaint.qt.main_window import MainWindow
from tests.qt.conftest import Dialogs, make_photo


def _open(qtbot, window: MainWindow, path: Path) -> None:  # noqa: ANN001
    before = window.document
    window.open_path(path)
    qtbot.waitUntil(lambda: window.document is not None and window.document is not before and not window.jobs.busy, timeout=10_000)


def _idle(qtbot, window: MainWindow) -> None:  # noqa: ANN001
    qtbot.waitUntil(lambda: not window.jobs.busy, timeout=10_000)


def _save_photo(path: Path, height: int = 96, width: int = 128) -> Path:
    Image.fromarray(make_photo(height, width)).save(path)
    return path


def test_import_mask_is_one_undo_step_and_reads_alpha_strokes(qtbot, window: MainWindow, dialogs: Dialogs, tmp_path: Path) -> None:  # noqa: ANN001
    _open(qtbot, window, _save_photo(tmp_path / "photo.png"))
    doc = window.document
    doc.fill_rect(Rect(0, 0, 5, 5))
    strokes = np.zeros((96, 128, 4), np.uint8)  # white strokes on a transparent layer
    strokes[..., :3] = 255
    strokes[30:50, 40:90, 3] = 255
    dialogs.open_name = str(tmp_path / "strokes.png")
    Image.fromarray(strokes).save(dialogs.open_name)
    window.window_actions.import_mask.trigger()
    _idle(qtbot, window)
    assert doc.mask[40, 60] == 255 and doc.mask[2, 2] == 0 and np.count_nonzero(doc.mask) == 20 * 50
    assert window.window_actions.undo.text() == "&Undo Import mask"
    assert "strokes.png: 1,000 pixels to remove" in window.statusBar().currentMessage()
    window.window_actions.undo.trigger()
    assert doc.mask[2, 2] == 255 and doc.mask[40, 60] == 0


def test_import_of_a_wrong_size_says_so_and_changes_nothing(qtbot, window: MainWindow, dialogs: Dialogs, tmp_path: Path) -> None:  # noqa: ANN001
    _open(qtbot, window, _save_photo(tmp_path / "photo.png"))
    dialogs.open_name = str(tmp_path / "turned.png")
    Image.fromarray(np.full((128, 96), 255, np.uint8)).save(dialogs.open_name)
    window.window_actions.import_mask.trigger()
    _idle(qtbot, window)
    assert "The mask turned.png is 96 × 128 pixels but the photo is 128 × 96" in dialogs.asked[-1]
    assert "turned by 90°" in dialogs.asked[-1]
    assert not window.document.mask.any() and not window.document.history.can_undo


def test_export_mask_writes_white_on_black_and_never_replaces_unasked(qtbot, window: MainWindow, dialogs: Dialogs, tmp_path: Path) -> None:  # noqa: ANN001
    _open(qtbot, window, _save_photo(tmp_path / "photo.png"))
    doc = window.document
    window.window_actions.export_mask.trigger()
    assert "The mask is empty" in dialogs.asked[-1]
    doc.fill_rect(Rect(10, 20, 30, 40))
    hole = np.zeros((10, 10), np.uint8)
    hole[:5] = 255  # a removal done already: its hole counts too
    doc.add_layer(Layer.create("fill", Rect(100, 50, 110, 60), np.zeros((10, 10, 3), np.uint8), np.full((10, 10), 255, np.uint8), hole))
    dialogs.save_name = str(tmp_path / "marks")  # no suffix: .png is added
    window.window_actions.export_mask.trigger()
    out = tmp_path / "marks.png"
    qtbot.waitUntil(lambda: out.exists() and not window.jobs.busy, timeout=10_000)
    with Image.open(out) as im:
        written = np.asarray(im)
    assert im.mode == "L" and set(np.unique(written)) == {0, 255}
    np.testing.assert_array_equal(written != 0, doc.marked_mask() != 0)
    assert written[25, 15] == 255 and written[52, 105] == 255 and written[57, 105] == 0
    # The dialog confirmed "marks", not "marks.png", which now exists: asked first, No keeps it.
    before = out.read_bytes()
    doc.fill_rect(Rect(60, 60, 70, 70))
    dialogs.button = QMessageBox.StandardButton.No
    window.window_actions.export_mask.trigger()
    _idle(qtbot, window)
    assert "marks.png already exists" in dialogs.asked[-1] and out.read_bytes() == before
    dialogs.button = QMessageBox.StandardButton.Yes
    window.window_actions.export_mask.trigger()
    qtbot.waitUntil(lambda: out.read_bytes() != before and not window.jobs.busy, timeout=10_000)
    assert np.asarray(Image.open(out))[65, 65] == 255


def test_reuse_last_mask_on_the_next_photo_of_the_same_size(qtbot, window: MainWindow, dialogs: Dialogs, tmp_path: Path) -> None:  # noqa: ANN001
    reuse = window.window_actions.reuse_mask
    _open(qtbot, window, _save_photo(tmp_path / "a.png"))
    assert not reuse.isEnabled()
    first = window.document
    first.fill_rect(Rect(5, 5, 25, 15))
    expected = first.marked_mask()
    _open(qtbot, window, _save_photo(tmp_path / "b.png"))  # same size: the unsaved work is discarded
    assert reuse.isEnabled()
    qtbot.waitUntil(lambda: "Reuse Last Mask" in window.statusBar().currentMessage())
    reuse.trigger()
    second = window.document
    np.testing.assert_array_equal(second.mask, expected)
    assert window.window_actions.undo.text() == "&Undo Reuse last mask"
    window.window_actions.undo.trigger()
    assert not second.mask.any()
    _open(qtbot, window, _save_photo(tmp_path / "c.png", 64, 64))  # another size: nothing to reuse
    assert not reuse.isEnabled()
    assert window.mask_files.last_mask is not None  # an empty photo leaves the remembered mask alone
    np.testing.assert_array_equal(window.mask_files.last_mask, expected)
