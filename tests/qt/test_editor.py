"""The editor window driven offscreen: painting, tools, undo, layers, files, close prompt."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QPointF, Qt
from PySide6.QtWidgets import QMessageBox

from lamapaint.core.geometry import Rect
from lamapaint.core.layers import Layer
from lamapaint.qt.main_window import MainWindow
from lamapaint.settings import Settings
from tests.qt.conftest import drag, image_to_viewport

REPO = Path(__file__).resolve().parents[2]


def test_window_opens_without_torch() -> None:
    """A fresh interpreter: building the window imports neither torch nor pyqtgraph."""
    code = (
        "import sys, os; os.environ['QT_QPA_PLATFORM']='offscreen';"
        "from lamapaint.qt.app import create_app; from lamapaint.qt.main_window import MainWindow;"
        "app=create_app(); w=MainWindow(); w.show(); app.processEvents();"
        "print('torch' in sys.modules, 'pyqtgraph' in sys.modules); w.close()"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60, env={**__import__("os").environ, "PYTHONPATH": str(REPO)})
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["False", "False"]


_BASIC_FILL_REMOVAL = """
import os, sys, time
os.environ["QT_QPA_PLATFORM"] = "offscreen"
import numpy as np
from lamapaint.core.document import Document
from lamapaint.core.geometry import Rect
from lamapaint.qt.app import create_app
from lamapaint.qt.main_window import MainWindow
app = create_app()
w = MainWindow()
w.settings.model = sys.argv[1]
doc = Document(np.full((64, 80, 3), 120, np.uint8))
w.set_document(doc)
doc.fill_rect(Rect(20, 20, 40, 36))
w.window_actions.remove.trigger()
deadline = time.monotonic() + 60
while not doc.layers and time.monotonic() < deadline:
    app.processEvents()
    time.sleep(0.01)
print(len(doc.layers), doc.layers[0].run.backend if doc.layers else "-", "torch" in sys.modules)
w.removal.shutdown()
"""


@pytest.mark.parametrize("model", ["auto", "opencv-telea"])
def test_a_basic_fill_removal_loads_no_torch(model: str, tmp_path: Path) -> None:
    """A fresh interpreter, no model on disk: the basic fill runs without waiting for torch."""
    env = {**__import__("os").environ, "PYTHONPATH": str(REPO), "LAMAPAINT_HOME": str(tmp_path / "home"), "TORCH_HOME": str(tmp_path / "torch")}
    out = subprocess.run([sys.executable, "-c", _BASIC_FILL_REMOVAL, model], cwd=REPO, capture_output=True, text=True, timeout=120, env=env)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["1", "opencv", "False"]


def test_main_help_needs_no_qt() -> None:
    code = "import sys, runpy; sys.argv=['lamapaint','--help']\ntry:\n runpy.run_module('lamapaint', run_name='__main__')\nexcept SystemExit: pass\nprint('PySide6' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60, env={**__import__("os").environ, "PYTHONPATH": str(REPO)})
    assert "usage: lamapaint" in out.stdout
    assert out.stdout.strip().endswith("False")


def test_brush_stroke_paints_mask_and_is_one_undo_step(qtbot, doc_window: MainWindow) -> None:
    win = doc_window
    doc = win.document
    win.set_brush_size(10)
    drag(qtbot, win, [(20, 20), (40, 22), (60, 30)])
    assert doc.mask[22, 40] == 255 and doc.mask[30, 60] == 255
    assert doc.mask[80, 10] == 0
    assert win.window_actions.undo.text() == "&Undo Brush stroke"
    assert win.windowTitle().startswith("Untitled *")
    win.window_actions.undo.trigger()
    assert not doc.mask.any()
    assert win.window_actions.redo.text() == "&Redo Brush stroke"
    win.window_actions.redo.trigger()
    assert doc.mask[22, 40] == 255


def test_eraser_lasso_rectangle(qtbot, doc_window: MainWindow) -> None:
    win = doc_window
    doc = win.document
    qtbot.keyClick(win.view, Qt.Key.Key_R)
    assert win.view.tool is win.tools["rectangle"]
    drag(qtbot, win, [(10, 10), (30, 25), (50, 40)])
    assert doc.mask[10:40, 10:50].all() and doc.mask[41:, :].sum() == 0
    qtbot.keyClick(win.view, Qt.Key.Key_E)
    win.set_brush_size(6)
    drag(qtbot, win, [(30, 25), (31, 25)])
    assert doc.mask[25, 30] == 0 and doc.mask[12, 12] == 255
    qtbot.keyClick(win.view, Qt.Key.Key_L)
    drag(qtbot, win, [(70, 50), (110, 50), (110, 90), (70, 90)])
    assert doc.mask[70, 90] == 255
    # Alt erases with the lasso
    drag(qtbot, win, [(80, 60), (100, 60), (100, 80), (80, 80)], Qt.KeyboardModifier.AltModifier)
    assert doc.mask[70, 90] == 0 and doc.mask[55, 75] == 255
    assert [c.label for c in (doc.history._undo[-1][1],)] == ["Lasso erase"]
    qtbot.keyClick(win.view, Qt.Key.Key_Escape)
    assert not doc.mask.any()


def test_brush_size_keys_and_slider(qtbot, doc_window: MainWindow) -> None:
    win = doc_window
    win.set_brush_size(40)
    qtbot.keyClick(win.view, Qt.Key.Key_BracketRight)
    assert win.brush_spin.value() > 40 and win.view.brush_radius == win.brush_spin.value() / 2
    qtbot.keyClick(win.view, Qt.Key.Key_BracketLeft)
    qtbot.keyClick(win.view, Qt.Key.Key_BracketLeft)
    assert win.brush_slider.value() < 40
    win.brush_slider.setValue(100)
    assert win.brush_spin.value() == 100 and win.view.brush_radius == 50


def test_zoom_fit_actual_and_wheel_keeps_point_under_cursor(qtbot, doc_window: MainWindow) -> None:
    win = doc_window
    view = win.view
    win.window_actions.zoom_100.trigger()
    assert view.zoom == pytest.approx(1.0)
    view.set_zoom(8.0)  # the photo is larger than the viewport: it can scroll under the cursor
    view.centerOn(40, 40)
    anchor = image_to_viewport(win, 30, 40)
    before = view.mapToScene(anchor)
    view.zoom_by(1.25, QPointF(anchor))
    after = view.mapToScene(anchor)
    assert view.zoom == pytest.approx(10.0)
    assert abs(after.x() - before.x()) < 0.5 and abs(after.y() - before.y()) < 0.5
    win.window_actions.zoom_fit.trigger()
    vp = view.viewport().rect()
    assert view.zoom == pytest.approx(min(vp.width() / 128, vp.height() / 96) * 0.98, rel=1e-3)
    assert win.zoom_label.text().endswith("%")


def test_hand_and_space_pan(qtbot, doc_window: MainWindow) -> None:
    win = doc_window
    view = win.view
    view.set_zoom(8.0)
    h0 = view.horizontalScrollBar().value()
    qtbot.keyPress(view, Qt.Key.Key_Space)
    drag(qtbot, win, [(60, 40), (50, 40)])
    qtbot.keyRelease(view, Qt.Key.Key_Space)
    assert view.horizontalScrollBar().value() > h0
    assert not win.document.mask.any()  # panning did not paint


def _layer(doc, x0: int, y0: int, size: int, colour: tuple[int, int, int], name: str) -> Layer:  # noqa: ANN001
    rgb = np.empty((size, size, 3), np.uint8)
    rgb[:] = colour
    return Layer.create(name, Rect(x0, y0, x0 + size, y0 + size), rgb, np.full((size, size), 255, np.uint8))


def test_layers_panel_hide_rename_reorder_delete_and_compare(qtbot, doc_window: MainWindow) -> None:
    win = doc_window
    doc = win.document
    doc.add_layer(_layer(doc, 10, 10, 20, (255, 0, 0), "Red"))
    doc.add_layer(_layer(doc, 20, 20, 20, (0, 0, 255), "Blue"))
    panel = win.layers_panel
    rows = [panel.list.item(i).text() for i in range(panel.list.count())]
    assert rows == ["Blue", "Red", "Original photo (locked)"]
    assert set(win.view.layer_items) == {layer.id for layer in doc.layers}
    # hide Blue through its check box
    panel.list.item(0).setCheckState(Qt.CheckState.Unchecked)
    assert not doc.layers[1].visible and not win.view.layer_items[doc.layers[1].id].isVisible()
    assert win.window_actions.undo.text() == "&Undo Hide layer"
    win.window_actions.undo.trigger()
    assert doc.layers[1].visible
    # rename Red
    panel.list.item(1).setText("Red patch")
    assert doc.layers[0].name == "Red patch"
    # reorder: move Red to the top
    red_id = doc.layers[0].id
    panel._on_row_moved(red_id, 0)
    assert doc.layers[1].id == red_id
    assert tuple(doc.composite(Rect(25, 25, 26, 26))[0, 0]) == (255, 0, 0)
    # compare hides every layer item, layer state untouched
    win.window_actions.compare.trigger()
    assert not any(item.isVisible() for item in win.view.layer_items.values())
    assert all(layer.visible for layer in doc.layers)
    qtbot.keyClick(win.view, Qt.Key.Key_Backslash)
    win.window_actions.compare.trigger()
    assert all(item.isVisible() for item in win.view.layer_items.values())
    # delete the selected layer
    panel.list.setCurrentRow(0)
    win.view.select_layer(panel.selected_layer_id())
    panel.delete_button.click()
    assert len(doc.layers) == 1 and len(win.view.layer_items) == 1


def test_history_panel_jumps(qtbot, doc_window: MainWindow) -> None:
    win = doc_window
    doc = win.document
    doc.fill_rect(Rect(0, 0, 10, 10))
    doc.fill_rect(Rect(20, 20, 30, 30))
    hist = win.history_panel.list
    assert [hist.item(i).text() for i in range(hist.count())] == ["Open", "Rectangle", "Rectangle"]
    hist.setCurrentRow(0)
    assert not doc.mask.any()
    hist.setCurrentRow(2)
    assert doc.mask[25, 25] == 255


def test_open_photo_export_and_title(qtbot, window: MainWindow, photo_path: Path) -> None:
    window.open_path(photo_path)
    qtbot.waitUntil(lambda: window.document is not None, timeout=10_000)
    doc = window.document
    assert doc.width == 128 and window.windowTitle().startswith("photo.png — ")
    assert window.settings.recent_files[0] == str(photo_path.resolve())
    doc.add_layer(_layer(doc, 10, 10, 20, (255, 0, 0), "Red"))
    out = photo_path.with_name("photo-cleaned.png")
    window.files.export_to(out, "PNG")
    qtbot.waitUntil(lambda: out.exists() and not window.jobs.busy, timeout=10_000)
    exported = np.asarray(Image.open(out).convert("RGB"))
    np.testing.assert_array_equal(exported, doc.composite())
    assert tuple(exported[15, 15]) == (255, 0, 0)


def test_default_export_name() -> None:
    from lamapaint.qt.dialogs.export import default_export_path

    assert default_export_path(Path("/x/photo.jpg")) == Path("/x/photo-cleaned.jpg")
    assert default_export_path(Path("/x/scan.PNG")).name == "scan-cleaned.png"
    assert default_export_path(Path("/x/raw.cr2")).name == "raw-cleaned.jpg"


def test_export_over_original_asks(qtbot, window: MainWindow, photo_path: Path, dialogs) -> None:  # noqa: ANN001
    from lamapaint.qt.dialogs.export import confirm_destination

    dialogs.button = QMessageBox.StandardButton.No
    assert not confirm_destination(window, photo_path, photo_path)
    assert "original photo" in dialogs.asked[-1]
    dialogs.button = QMessageBox.StandardButton.Yes
    assert confirm_destination(window, photo_path, photo_path)
    assert confirm_destination(window, photo_path.with_name("new.jpg"), photo_path)


def test_close_prompt(qtbot, doc_window: MainWindow, dialogs) -> None:  # noqa: ANN001
    win = doc_window
    win.document.fill_rect(Rect(0, 0, 5, 5))
    dialogs.button = QMessageBox.StandardButton.Cancel
    win.close()
    assert win.isVisible() and "Unsaved changes" in dialogs.asked[-1]
    dialogs.button = QMessageBox.StandardButton.Discard
    win.close()
    assert not win.isVisible()


def test_geometry_and_settings_persist(qtbot, doc_window: MainWindow) -> None:
    win = doc_window
    win.set_brush_size(77)
    win.window_actions.auto_remove.setChecked(True)
    win.resize(700, 500)
    win.close()
    again = MainWindow()
    assert again.brush_spin.value() == 77 and again.window_actions.auto_remove.isChecked()
    assert again.settings.window_geometry
    again.close()


def test_big_image_uses_preview_when_zoomed_out(qtbot, window: MainWindow) -> None:
    from lamapaint.core.document import Document

    big = np.zeros((3000, 4000, 3), np.uint8)
    big[:, 2000:] = 200
    window.set_document(Document(big))
    item = window.view.image_item
    assert item._factor == 2  # 12 MP -> a 3 MP preview
    window.view.fit()
    frame = window.view.grab().toImage()
    c = frame.pixelColor(frame.width() * 3 // 4, frame.height() // 2)
    assert c.red() == 200
    window.document.fill_rect(Rect(0, 0, 400, 400))
    mask_item = window.view.mask_item
    assert mask_item._small[:200, :200].all() and not mask_item._small[201:, 201:].any()


def test_histogram_dock_is_lazy_and_toggles(qtbot, doc_window: MainWindow) -> None:
    import numpy as np

    win = doc_window
    assert win._histogram is None
    win.window_actions.show_histogram.setChecked(True)
    assert win._histogram is not None and not win.histogram_dock.isHidden()
    assert win.window_actions.show_histogram.isChecked()
    rng = np.random.default_rng(1)
    win._histogram.show_fill("Removal 1", rng.integers(0, 256, (500, 3), dtype=np.uint8), rng.integers(0, 256, (900, 3), dtype=np.uint8))
    assert "500 filled pixels" in win._histogram.caption.text()
    win.window_actions.show_histogram.setChecked(False)
    assert win.histogram_dock.isHidden()


def test_canvas_keys_do_not_fire_while_renaming(qtbot, doc_window: MainWindow) -> None:
    from PySide6.QtWidgets import QApplication, QLineEdit

    win = doc_window
    doc = win.document
    doc.add_layer(_layer(doc, 0, 0, 10, (9, 9, 9), "Old"))
    doc.fill_rect(Rect(50, 50, 60, 60))
    panel = win.layers_panel
    panel.list.editItem(panel.list.item(0))
    qtbot.waitUntil(lambda: isinstance(QApplication.focusWidget(), QLineEdit))
    editor = QApplication.focusWidget()
    editor.selectAll()
    qtbot.keyClicks(editor, "Sky")  # letters are not tool shortcuts here
    qtbot.keyClick(editor, Qt.Key.Key_Return)  # commits the name, does not start a removal
    qtbot.waitUntil(lambda: doc.layers[0].name == "Sky")  # the delegate commits on a queued call
    assert not win.removal.busy and doc.mask.any()
    assert win.view.tool is win.tools["brush"]


def test_drop_a_photo_opens_it(qtbot, window: MainWindow, photo_path: Path) -> None:
    from PySide6.QtCore import QMimeData, QPoint, QUrl
    from PySide6.QtGui import QDropEvent

    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(photo_path))])
    event = QDropEvent(QPointF(QPoint(100, 100)), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    window.dropEvent(event)
    qtbot.waitUntil(lambda: window.document is not None, timeout=10_000)
    assert window.document.width == 128 and window.view.hasFocus()


def test_middle_button_pans_without_painting(qtbot, doc_window: MainWindow) -> None:
    win = doc_window
    view = win.view
    view.set_zoom(8.0)
    v0 = view.verticalScrollBar().value()
    vp = view.viewport()
    start, end = image_to_viewport(win, 60, 40), image_to_viewport(win, 60, 30)
    qtbot.mousePress(vp, Qt.MouseButton.MiddleButton, pos=start)
    from PySide6.QtCore import QEvent
    from PySide6.QtGui import QMouseEvent
    from PySide6.QtWidgets import QApplication

    QApplication.sendEvent(vp, QMouseEvent(QEvent.Type.MouseMove, QPointF(end), QPointF(vp.mapToGlobal(end)), Qt.MouseButton.NoButton, Qt.MouseButton.MiddleButton, Qt.KeyboardModifier.NoModifier))
    qtbot.mouseRelease(vp, Qt.MouseButton.MiddleButton, pos=end)
    assert view.verticalScrollBar().value() > v0
    assert not win.document.mask.any()


def _saved_geometry_of(width: int, height: int) -> str:
    import base64

    shrunk = MainWindow(Settings())
    shrunk.resize(width, height)
    saved = base64.b64encode(bytes(shrunk.saveGeometry().data())).decode("ascii")
    shrunk.deleteLater()
    return saved


def test_a_shrunken_saved_window_opens_at_a_sane_size(qtbot, dialogs) -> None:
    """A session under QT_SCALE_FACTOR=2 on a small screen saved a half-size window: the next one
    opens wide enough for its tool bar (screen allowing), never beyond the screen's free area."""
    from lamapaint.qt.window_geometry import MIN_SIZE

    win = MainWindow(Settings(window_geometry=_saved_geometry_of(500, 330)))
    qtbot.addWidget(win)
    area = win.screen().availableGeometry()
    least = max(MIN_SIZE.width(), win.tools_toolbar.sizeHint().width())
    assert win.width() >= min(least, area.width()) and win.height() >= min(MIN_SIZE.height(), area.height())
    assert win.width() <= area.width() and win.height() <= area.height()
    huge = MainWindow(Settings(window_geometry=_saved_geometry_of(area.width() * 3, area.height() * 3)))
    qtbot.addWidget(huge)
    assert huge.width() <= area.width() and huge.height() <= area.height()
    assert area.contains(huge.pos())
