"""Issue 11: the editor as a photographer uses it (keys from panels, first run, compare badge,
grow amount, plain words, prompts, layer menu, Save As title)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QApplication, QLineEdit

from lamapaint.core.document import Document
from lamapaint.core.geometry import Rect, mask_bbox
from lamapaint.core.layers import Layer
from lamapaint.qt.main_window import MainWindow
from tests.qt.conftest import drag, make_photo

WAIT_MS = 60_000  # the first removal of a process imports torch; the machine may be busy


def _layer(x0: int, y0: int, size: int, colour: tuple[int, int, int], name: str) -> Layer:
    rgb = np.empty((size, size, 3), np.uint8)
    rgb[:] = colour
    return Layer.create(name, Rect(x0, y0, x0 + size, y0 + size), rgb, np.full((size, size), 255, np.uint8))


def _click(qtbot, widget) -> None:  # noqa: ANN001
    qtbot.mouseClick(widget, Qt.MouseButton.LeftButton, pos=QPoint(widget.width() // 2, 5))  # a row's text, not its box
    qtbot.waitUntil(lambda: QApplication.focusWidget() is not None)


# -- 2: keys after a click in a side panel ----------------------------------------------------------
def test_tool_keys_work_after_clicking_layers_and_history(qtbot, doc_window: MainWindow) -> None:
    win = doc_window
    doc = win.document
    doc.add_layer(_layer(10, 10, 20, (255, 0, 0), "Red"))
    win.select_tool("lasso")
    _click(qtbot, win.layers_panel.list.viewport())
    assert not win.view.hasFocus()
    qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_B)
    assert win.view.tool is win.tools["brush"]
    _click(qtbot, win.history_panel.list.viewport())
    focus = QApplication.focusWidget()
    assert focus is not win.view
    for key, tool in ((Qt.Key.Key_E, "eraser"), (Qt.Key.Key_L, "lasso"), (Qt.Key.Key_R, "rectangle"), (Qt.Key.Key_H, "hand")):
        qtbot.keyClick(focus, key)
        assert win.view.tool is win.tools[tool]
    win.set_brush_size(40)
    qtbot.keyClick(focus, Qt.Key.Key_BracketRight)
    assert win.brush_spin.value() > 40
    doc.fill_rect(Rect(50, 50, 60, 60))
    qtbot.keyClick(focus, Qt.Key.Key_Escape)
    assert not doc.mask.any()
    qtbot.keyClick(focus, Qt.Key.Key_Return)  # Remove with an empty mask asks for a mask first
    assert "Paint over" in win.statusBar().currentMessage()


def test_space_pans_and_backslash_compares_from_a_panel(qtbot, doc_window: MainWindow) -> None:
    win = doc_window
    view = win.view
    doc = win.document
    doc.add_layer(_layer(10, 10, 20, (255, 0, 0), "Red"))
    view.set_zoom(8.0)
    _click(qtbot, win.layers_panel.list.viewport())
    panel_focus = QApplication.focusWidget()
    h0 = view.horizontalScrollBar().value()
    qtbot.keyPress(panel_focus, Qt.Key.Key_Space)
    drag(qtbot, win, [(60, 40), (50, 40)])
    qtbot.keyRelease(QApplication.focusWidget(), Qt.Key.Key_Space)
    assert view.horizontalScrollBar().value() > h0
    assert not doc.mask.any()  # Space never paints
    assert doc.layers[0].visible  # and did not tick the layer's box either
    qtbot.keyPress(panel_focus, Qt.Key.Key_Backslash)
    assert view.comparing and not view.layer_items[doc.layers[0].id].isVisible()
    qtbot.keyRelease(panel_focus, Qt.Key.Key_Backslash)
    assert not view.comparing and view.layer_items[doc.layers[0].id].isVisible()


def test_rename_field_keeps_letters_and_escape(qtbot, doc_window: MainWindow) -> None:
    win = doc_window
    doc = win.document
    doc.add_layer(_layer(0, 0, 10, (9, 9, 9), "Old"))
    doc.fill_rect(Rect(50, 50, 60, 60))
    panel = win.layers_panel
    panel.list.editItem(panel.list.item(0))
    qtbot.waitUntil(lambda: isinstance(QApplication.focusWidget(), QLineEdit))
    editor = QApplication.focusWidget()
    editor.selectAll()
    qtbot.keyClicks(editor, "bel")
    assert editor.text() == "bel"
    assert win.view.tool is win.tools["brush"] and doc.mask.any()
    qtbot.keyClick(editor, Qt.Key.Key_Escape)  # cancels the rename, does not clear the mask
    assert doc.mask.any() and doc.layers[0].name == "Old"


# -- 1: first run -----------------------------------------------------------------------------
def _fresh_window(qtbot) -> MainWindow:  # noqa: ANN001
    win = MainWindow()
    qtbot.addWidget(win)
    win.resize(900, 640)
    win.show()
    qtbot.waitExposed(win)
    return win


def test_first_run_offer_floats_and_never_moves_the_canvas(qtbot, dialogs) -> None:  # noqa: ANN001
    from lamapaint.qt.model_words import models_dir

    win = _fresh_window(qtbot)
    win.set_document(Document(make_photo()))
    panel = win.first_run
    assert panel.isVisible() and panel.parentWidget() is win.view.viewport()
    assert panel.get_button.text() == "Get the LaMa model (≈ 200 MB)"
    assert panel.import_button.text().startswith("Import a file I have")
    assert panel.basic_button.text() == "Use the basic fill for now"
    assert "200 MB" in panel.body.text() and str(models_dir()) in panel.body.text()
    shown = (win.view.geometry(), win.view.mapToGlobal(QPoint(0, 0)), win.view.mapToScene(QPoint(10, 10)))
    panel.basic_button.click()
    QApplication.processEvents()
    hidden = (win.view.geometry(), win.view.mapToGlobal(QPoint(0, 0)), win.view.mapToScene(QPoint(10, 10)))
    assert not panel.isVisible() and shown == hidden
    win.close()


def test_first_run_offer_absent_when_a_model_is_there(qtbot, dialogs, isolated_app_home: Path) -> None:  # noqa: ANN001
    from lamapaint.settings import app_paths

    app_paths().models_dir.mkdir(parents=True)
    (app_paths().models_dir / "big-lama.safetensors").write_bytes(b"0")
    win = _fresh_window(qtbot)
    assert not win.first_run.isVisible()
    win.close()


def test_first_run_download_offline_shows_browser_route(qtbot, dialogs, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: ANN001
    import lamapaint.inpaint.weights as weights
    from lamapaint.inpaint.types import DownloadError
    from lamapaint.qt.model_words import OFFERED_URL, models_dir

    def offline(name, progress, cancel):  # noqa: ANN001, ANN202 - what download.fetch raises offline
        raise DownloadError("cannot reach github.com ([Errno -2] Name or service not known); check the network connection")

    monkeypatch.setattr(weights, "download_model", offline)
    win = _fresh_window(qtbot)
    panel = win.first_run
    panel.get_button.click()
    qtbot.waitUntil(lambda: not panel.busy, timeout=WAIT_MS)
    assert panel.status.text().startswith("No internet connection")
    assert "Errno" not in panel.status.text()
    assert panel.browser_help.isVisible()
    assert OFFERED_URL in panel.browser_help.text() and str(models_dir()) in panel.browser_help.text()
    win.close()


def test_first_run_import_installs_and_hides(qtbot, dialogs, tmp_path: Path) -> None:  # noqa: ANN001
    from safetensors.torch import save_file

    from lamapaint.inpaint.weights import deterministic_state_dict

    win = _fresh_window(qtbot)
    src = tmp_path / "lama-fourier.safetensors"
    save_file(deterministic_state_dict("lama-fourier"), str(src))
    win.first_run.import_file(src)
    qtbot.waitUntil(lambda: not win.first_run.busy, timeout=60_000)
    assert not win.first_run.isVisible()
    assert "LaMa model is installed" in win.statusBar().currentMessage()
    win.close()


def test_large_hole_with_the_basic_fill_warns(qtbot, doc_window: MainWindow) -> None:
    win = doc_window
    win.document.fill_rect(Rect(20, 10, 90, 80))
    win.window_actions.remove.trigger()
    qtbot.waitUntil(lambda: len(win.document.layers) == 1, timeout=WAIT_MS)
    message = win.statusBar().currentMessage()
    assert "with the basic fill" in message and "meant for small blemishes" in message


# -- 3: compare ---------------------------------------------------------------------------------
def test_compare_shows_original_badge_and_menu_names_the_key(qtbot, doc_window: MainWindow) -> None:
    win = doc_window
    badge = win.view.compare_badge
    geometry = win.view.geometry()
    assert not badge.isVisible()
    win.window_actions.compare.trigger()
    assert badge.isVisible() and badge.text() == "Original"
    assert win.view.geometry() == geometry
    win.window_actions.compare.trigger()
    assert not badge.isVisible()
    qtbot.keyPress(win.view, Qt.Key.Key_Backslash)
    assert badge.isVisible()
    qtbot.keyRelease(win.view, Qt.Key.Key_Backslash)
    assert not badge.isVisible()
    assert "Hold \\" in win.window_actions.compare.text()


def test_compare_hides_the_painted_mask_too(qtbot, doc_window: MainWindow) -> None:
    """"Original" is the photo alone: the red mask overlay goes while comparing and comes back after."""
    win = doc_window
    win.document.fill_rect(Rect(10, 10, 40, 40))
    mask = win.view.mask_item
    assert mask.isVisible()
    win.window_actions.compare.trigger()
    assert not mask.isVisible()
    win.window_actions.compare.trigger()
    assert mask.isVisible()
    qtbot.keyPress(win.view, Qt.Key.Key_Backslash)
    assert not mask.isVisible()
    win.set_document(Document(make_photo()))  # a photo opened while comparing starts without its mask shown
    assert not win.view.mask_item.isVisible()
    qtbot.keyRelease(win.view, Qt.Key.Key_Backslash)
    assert win.view.mask_item.isVisible()


# -- 4: grow ------------------------------------------------------------------------------------
def test_grow_step_scales_with_the_photo() -> None:
    from lamapaint.core.mask import grow_step

    assert grow_step(128, 96) == 4
    assert grow_step(4000, 3000) == 8  # 12 MP
    assert grow_step(8660, 5773) == 17  # 50 MP


def test_grow_and_shrink_say_how_much(qtbot, window: MainWindow) -> None:
    big = np.zeros((2000, 3000, 3), np.uint8)
    window.set_document(Document(big))
    assert window.grow_spin.value() == 6
    doc = window.document
    window.window_actions.grow_mask.trigger()
    assert "nothing to grow" in window.statusBar().currentMessage()
    doc.fill_rect(Rect(100, 100, 200, 200))
    window.window_actions.grow_mask.trigger()
    assert window.statusBar().currentMessage() == "Mask grown by 6 px"
    assert mask_bbox(doc.mask) == Rect(94, 94, 206, 206)
    window.grow_spin.setValue(10)
    window.window_actions.shrink_mask.trigger()
    assert window.statusBar().currentMessage() == "Mask shrunk by 10 px"
    assert mask_bbox(doc.mask) == Rect(104, 104, 196, 196)


# -- 5: model manager ---------------------------------------------------------------------------
def test_model_manager_plain_words(qtbot, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:  # noqa: ANN001
    import torch

    import lamapaint.inpaint.weights as weights
    from lamapaint.inpaint.types import DEVICES, MODELS, PRECISIONS, STRATEGIES, DownloadError
    from lamapaint.qt.dialogs.model_manager import ModelManagerDialog
    from lamapaint.qt.model_words import IMPORT_FILTER, WRONG_FILE
    from lamapaint.settings import Settings

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    dialog = ModelManagerDialog(Settings())
    qtbot.addWidget(dialog)
    qtbot.waitUntil(lambda: not dialog.listing, timeout=30_000)
    values = lambda combo: [combo.itemData(i) for i in range(combo.count())]  # noqa: E731
    assert values(dialog.device_combo) == ["auto", "cpu"] or values(dialog.device_combo) == ["auto", "cpu", "mps"]
    assert set(values(dialog.model_combo)) == set(MODELS) and set(values(dialog.precision_combo)) == set(PRECISIONS)
    assert set(values(dialog.strategy_combo)) == set(STRATEGIES) and set(values(dialog.device_combo)) <= set(DEVICES)
    for combo in (dialog.precision_combo, dialog.strategy_combo):
        assert "(Recommended)" in combo.itemText(0)
        assert all(combo.itemData(i, Qt.ItemDataRole.ToolTipRole) for i in range(combo.count()))
        assert combo.toolTip()
    assert "*.zip" in IMPORT_FILTER

    def offline(name, progress, cancel):  # noqa: ANN001, ANN202
        raise DownloadError("cannot reach github.com ([Errno -3] Temporary failure in name resolution); check the network connection")

    monkeypatch.setattr(weights, "download_model", offline)
    dialog.start_download()
    qtbot.waitUntil(lambda: not dialog.busy, timeout=WAIT_MS)
    assert dialog.status.text().startswith("No internet connection") and "Errno" not in dialog.status.text()
    assert dialog.browser_help.isVisibleTo(dialog)

    wrong = tmp_path / "holiday.pt"
    wrong.write_bytes(b"this is not a model at all")
    dialog.import_file(wrong)
    qtbot.waitUntil(lambda: not dialog.busy, timeout=WAIT_MS)
    assert dialog.status.text() == WRONG_FILE


# -- 6: prompts ---------------------------------------------------------------------------------
def test_close_prompt_names_the_project_not_the_photo(qtbot, window: MainWindow, photo_path: Path, dialogs) -> None:  # noqa: ANN001
    from PySide6.QtWidgets import QMessageBox

    window.open_path(photo_path)
    qtbot.waitUntil(lambda: window.document is not None, timeout=WAIT_MS)
    window.document.fill_rect(Rect(0, 0, 5, 5))
    dialogs.button = QMessageBox.StandardButton.Cancel
    window.close()
    asked = dialogs.asked[-1]
    assert "Save this editing session as a project?" in asked and "photo.lamapaint" in asked
    assert "Save the changes to photo.png" not in asked


def test_a_file_that_does_not_open_does_not_ask_to_discard(qtbot, doc_window: MainWindow, tmp_path: Path, dialogs) -> None:  # noqa: ANN001
    win = doc_window
    doc = win.document
    doc.fill_rect(Rect(0, 0, 5, 5))
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"not a jpeg")
    win.open_path(broken)
    qtbot.waitUntil(lambda: not win.jobs.busy and bool(dialogs.asked), timeout=WAIT_MS)
    assert all("Unsaved changes" not in a for a in dialogs.asked)
    assert dialogs.asked[-1].startswith("Could not open")
    assert win.document is doc and doc.mask.any()


def test_open_asks_once_the_file_decoded(qtbot, doc_window: MainWindow, photo_path: Path, dialogs) -> None:  # noqa: ANN001
    from PySide6.QtWidgets import QMessageBox

    win = doc_window
    first = win.document
    first.fill_rect(Rect(0, 0, 5, 5))
    dialogs.button = QMessageBox.StandardButton.Discard
    win.open_path(photo_path)
    qtbot.waitUntil(lambda: win.document is not first, timeout=WAIT_MS)
    assert "Unsaved changes" in dialogs.asked[-1]


# -- 7: layers ----------------------------------------------------------------------------------
def test_layer_menu_hide_merge_details(qtbot, doc_window: MainWindow, dialogs) -> None:  # noqa: ANN001
    from lamapaint.inpaint.types import RunInfo

    win = doc_window
    doc = win.document
    run = RunInfo("lama", "big-lama", "cpu", "fp32", "auto", "crop", 1.0, 524288, 65536, 2.24)
    doc.add_layer(_layer(10, 10, 20, (255, 0, 0), "Red").replace(info=run.to_layer_info()))
    doc.add_layer(_layer(20, 20, 20, (0, 0, 255), "Blue"))
    panel = win.layers_panel
    assert panel.list.item(1).toolTip().startswith("Removed in 2.2 s with LaMa")
    assert "Device: cpu" in panel.list.item(1).toolTip()
    panel.list.setCurrentRow(1)  # Red, the bottom layer: nothing to merge with
    menu = panel.context_menu()
    texts = [a.text() for a in menu.actions() if not a.isSeparator()]
    assert texts == ["Hide", "Rename", "Delete", "Merge Down", "Show details"]
    assert not menu.actions()[3].isEnabled()
    menu.actions()[0].trigger()
    assert not doc.layers[0].visible
    panel.list.setCurrentRow(1)
    show = panel.context_menu().actions()[0]
    assert show.text() == "Show"
    show.trigger()
    assert doc.layers[0].visible
    panel.list.setCurrentRow(0)  # Blue
    panel.context_menu().actions()[3].trigger()
    assert len(doc.layers) == 1 and win.window_actions.undo.text() == "&Undo Merge down"
    panel.list.setCurrentRow(0)
    panel.context_menu().actions()[-1].trigger()
    assert "Merged from 2 layers" in dialogs.asked[-1]


# -- 9: Save As title ---------------------------------------------------------------------------
def test_save_as_of_an_unmodified_document_updates_the_title(qtbot, doc_window: MainWindow, tmp_path: Path, dialogs) -> None:  # noqa: ANN001
    win = doc_window
    assert win.document.is_clean and win.windowTitle().startswith("Untitled")
    dialogs.save_name = str(tmp_path / "beach.lamapaint")
    win.files.save_as()
    qtbot.waitUntil(lambda: (tmp_path / "beach.lamapaint").exists() and not win.jobs.busy, timeout=WAIT_MS)
    assert win.windowTitle().startswith("beach.lamapaint — ")


def test_installing_a_model_drops_the_cached_fallback(qtbot, doc_window: MainWindow) -> None:
    win = doc_window
    win.document.fill_rect(Rect(50, 40, 60, 50))
    win.window_actions.remove.trigger()
    qtbot.waitUntil(lambda: len(win.document.layers) == 1, timeout=WAIT_MS)
    worker = win.removal._worker
    assert worker._backend is not None and worker._backend.fallback_reason
    from lamapaint.qt.model_words import LAMA_STORE

    win.installer.installed.emit(LAMA_STORE, Path("big-lama.safetensors"))  # as any install route ends
    qtbot.waitUntil(lambda: worker._backend is None, timeout=WAIT_MS)  # the next removal looks again


def test_size_box_keeps_brackets_and_enter(qtbot, doc_window: MainWindow) -> None:
    win = doc_window
    win.set_brush_size(40)
    win.document.fill_rect(Rect(50, 40, 60, 50))
    win.brush_spin.setFocus()
    qtbot.waitUntil(win.brush_spin.hasFocus)
    qtbot.keyClick(win.brush_spin, Qt.Key.Key_BracketRight)
    qtbot.keyClick(win.brush_spin, Qt.Key.Key_Return)
    assert win.brush_spin.value() == 40 and not win.removal.busy and win.document.mask.any()


def test_the_brush_outline_follows_a_zoom_key_without_a_mouse_move(qtbot, doc_window: MainWindow) -> None:
    """Ctrl+1 (Actual Pixels) or Ctrl+0 moves the photo under a still pointer: the outline moves with it."""
    from PySide6.QtCore import QEvent, QPointF
    from PySide6.QtGui import QMouseEvent

    win = doc_window
    vp = win.view.viewport()
    at = QPointF(vp.width() / 2 + 37, vp.height() / 2 + 21)
    move = QMouseEvent(QEvent.Type.MouseMove, at, QPointF(vp.mapToGlobal(at.toPoint())), Qt.MouseButton.NoButton, Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(vp, move)
    assert win.view.brush_outline_centre == win.view.mapToScene(at.toPoint())
    for action in (win.window_actions.zoom_100, win.window_actions.zoom_in, win.window_actions.zoom_fit):
        action.trigger()
        assert win.view.brush_outline_centre == win.view.mapToScene(at.toPoint())
    win.window_actions.tool_eraser.trigger()  # a tool switch redraws it where the pointer is
    assert win.view.brush_outline_centre == win.view.mapToScene(at.toPoint())


def test_the_auto_remove_toggle_says_what_it_does(window: MainWindow) -> None:
    from PySide6.QtWidgets import QToolButton

    action = window.window_actions.auto_remove
    button = window.tools_toolbar.widgetForAction(action)
    assert isinstance(button, QToolButton)
    assert "remove" in button.text().lower() and "stroke" in button.text().lower()
    assert "stroke" in button.toolTip() and "Remove" in button.toolTip()


def test_first_run_offer_sits_in_a_corner_and_its_close_button_hides_it(qtbot, dialogs) -> None:  # noqa: ANN001
    from lamapaint.qt.first_run import MARGIN

    win = _fresh_window(qtbot)
    win.set_document(Document(make_photo()))
    panel = win.first_run
    host = win.view.viewport()
    assert panel.isVisible()
    for size in ((900, 640), (1100, 800)):
        win.resize(*size)
        QApplication.processEvents()
        box = panel.geometry()
        assert (host.width() - box.right() - 1, host.height() - box.bottom() - 1) == (MARGIN, MARGIN)  # bottom-right corner
        assert box.top() >= MARGIN and box.left() >= MARGIN
    dismissed: list[bool] = []
    panel.dismissed.connect(lambda: dismissed.append(True))
    assert panel.close_button.text() == "✕" and panel.close_button.toolTip()
    panel.close_button.click()
    assert not panel.isVisible() and dismissed == [True]
    win.close()
