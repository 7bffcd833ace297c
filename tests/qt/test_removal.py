"""Removing objects through the real worker thread: OpenCV, deterministic LaMa weights, cancel,
errors, stale results, auto-remove, then save/reopen/export of the result."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import Qt

from lamapaint.core.document import Document
from lamapaint.core.geometry import Rect
from lamapaint.core.layers import Layer
from lamapaint.inpaint.types import RegionInfo, RunInfo
from lamapaint.jobs import Cancelled
from lamapaint.qt.main_window import MainWindow
from lamapaint.qt.worker import INFERENCE_LANE
from tests.qt.conftest import drag, make_photo

WAIT_MS = 30_000


def paint_object(qtbot, win: MainWindow) -> None:  # noqa: ANN001
    """Brush over the dark square in the middle of make_photo()."""
    win.set_brush_size(14)
    drag(qtbot, win, [(52, 40), (76, 40), (76, 48), (52, 48), (52, 56), (76, 56)])


def wait_idle(qtbot, win: MainWindow) -> None:  # noqa: ANN001
    qtbot.waitUntil(lambda: not win.removal.busy, timeout=WAIT_MS)


def wait_engine_done(qtbot, win: MainWindow) -> None:  # noqa: ANN001
    """Until the removal job's outcome (even a dropped or cancelled one) reached the GUI thread:
    the runner forgets a job only after handling it, so nothing of it can arrive later."""
    qtbot.waitUntil(lambda: not win.removal.busy and not win.jobs.running(INFERENCE_LANE), timeout=WAIT_MS)


def test_remove_with_opencv_then_undo_hide_save_reopen_export(qtbot, doc_window: MainWindow, tmp_path: Path) -> None:
    win = doc_window
    win.settings.model = "opencv-telea"
    doc = win.document
    paint_object(qtbot, win)
    hole = doc.mask.copy()
    assert hole[48, 64] == 255
    qtbot.keyClick(win.view, Qt.Key.Key_Return)
    assert win.removal.busy and win.progress_bar.isVisible()
    qtbot.waitUntil(lambda: len(doc.layers) == 1, timeout=WAIT_MS)
    layer = doc.layers[0]
    assert layer.run.model == "opencv-telea" and layer.run.backend == "opencv" and layer.info["seconds"] >= 0
    assert not doc.mask.any()  # the hole was cleared in the same step
    assert win.window_actions.undo.text() == "&Undo Remove object"
    assert layer.id in win.view.layer_items
    # the dark square is gone: the fill is much brighter than the object was
    square = Rect(56, 40, 72, 56)
    assert doc.composite(square).mean() > 60 and doc.original[square.slices].mean() < 30
    assert "basic fill" in win.engine_label.text() and "opencv-telea" in win.engine_label.toolTip()
    # undo / redo
    win.window_actions.undo.trigger()
    assert len(doc.layers) == 0 and np.array_equal(doc.mask, hole) and not win.view.layer_items
    win.window_actions.redo.trigger()
    assert len(doc.layers) == 1 and not doc.mask.any()
    result = doc.composite()
    # hide through the panel
    win.layers_panel.list.item(0).setCheckState(Qt.CheckState.Unchecked)
    assert np.array_equal(doc.composite(), doc.original)
    win.window_actions.undo.trigger()
    # save the project, reopen it, export it
    project = tmp_path / "work.lamapaint"
    win.files.save_to(project)
    qtbot.waitUntil(lambda: doc.is_clean, timeout=WAIT_MS)
    assert win.windowTitle().startswith("work.lamapaint — ")
    win.set_document(None)
    win.open_path(project)
    qtbot.waitUntil(lambda: win.document is not None, timeout=WAIT_MS)
    reopened = win.document
    assert len(reopened.layers) == 1 and reopened.layers[0].info["model"] == "opencv-telea"
    run = RunInfo.from_dict(reopened.layers[0].info)  # the run's record survives the project file
    assert run is not None and run == RunInfo.from_dict(layer.info) and run.backend == "opencv" and run.regions
    np.testing.assert_array_equal(reopened.composite(), result)
    out = tmp_path / "photo-cleaned.png"
    win.files.export_to(out, "PNG")
    qtbot.waitUntil(lambda: out.exists() and not win.jobs.busy, timeout=WAIT_MS)
    np.testing.assert_array_equal(np.asarray(Image.open(out).convert("RGB")), result)


def test_auto_fallback_says_so_plainly(qtbot, doc_window: MainWindow) -> None:
    win = doc_window
    assert win.settings.model == "auto"
    paint_object(qtbot, win)
    win.window_actions.remove.trigger()
    qtbot.waitUntil(lambda: len(win.document.layers) == 1, timeout=WAIT_MS)
    assert win.statusBar().currentMessage().startswith("Removed in ")
    assert win.statusBar().currentMessage().endswith(" s with the basic fill.")


def _install_lama_fourier(tmp_path: Path) -> None:
    from safetensors.torch import save_file

    from lamapaint.inpaint.weights import deterministic_state_dict, import_model

    weights = tmp_path / "lama-fourier.safetensors"
    save_file(deterministic_state_dict("lama-fourier"), str(weights))
    import_model(weights, name="lama-fourier")


@pytest.mark.slow  # a real network twice: the editor and the CLI
@pytest.mark.parametrize("strategy", ["auto", "full"])
def test_editor_and_cli_make_the_same_pixels(qtbot, window: MainWindow, tmp_path: Path, strategy: str) -> None:
    """The planner alone decides the context: the editor's result is the CLI's, pixel for pixel."""
    from lamapaint.cli import EXIT_OK, main

    _install_lama_fourier(tmp_path)
    rgb = make_photo(320, 400, seed=3)  # larger than any context the old editor crop gave a small hole
    photo, mask_path, out = tmp_path / "photo.png", tmp_path / "mask.png", tmp_path / "out.png"
    Image.fromarray(rgb).save(photo)
    win = window
    win.settings.precision, win.settings.device, win.settings.strategy = "fp32", "cpu", strategy
    doc = Document(rgb)
    win.set_document(doc)
    doc.fill_rect(Rect(185, 145, 215, 175))
    doc.fill_polygon([(40.5, 250.5), (90.5, 230.5), (70.5, 300.5)])  # a second hole, near the border
    Image.fromarray(doc.mask).save(mask_path)
    win.window_actions.remove.trigger()
    qtbot.waitUntil(lambda: len(doc.layers) == 1, timeout=4 * WAIT_MS)  # loads torch and the model
    layer = doc.layers[0]
    assert layer.run.model == "lama-fourier" and layer.run.precision == "fp32" and not win.first_run.isVisible()

    argv = ["remove", str(photo), "--mask", str(mask_path), "-o", str(out), "--device", "cpu", "--precision", "fp32",
            "--strategy", strategy, "-q"]
    assert main(argv) == EXIT_OK
    np.testing.assert_array_equal(doc.composite(), np.asarray(Image.open(out).convert("RGB")))
    # the layer is a tight patch around the holes, and its record is the run's
    assert layer.rect == Rect(40, 145, 215, 301)
    run = RunInfo.from_dict(layer.info)
    assert run is not None and run.requested_strategy == strategy and run.model == "lama-fourier"
    if strategy == "full":
        assert [r.rect for r in run.regions] == [Rect(0, 0, 400, 320)]


def test_the_request_copies_no_photo_pixels(qtbot, doc_window: MainWindow, gated: "_GatedBackend", monkeypatch: pytest.MonkeyPatch) -> None:
    """The GUI thread sends the hole's box and a frozen view of the layers, not a crop of the
    composite, and composes no photo pixels when the result comes back (the histogram is closed)."""
    win = doc_window
    doc = win.document
    seen: list = []
    submit = win.removal._worker.submit
    win.removal._worker.submit = lambda request: (seen.append(request), submit(request))[1]
    gui_composites = _count_gui_thread_composites(monkeypatch)
    paint_object(qtbot, win)
    win.window_actions.remove.trigger()
    (request,) = seen
    assert request.original is doc.original and request.layers == tuple(doc.layers)
    assert request.hole.box.area < doc.width * doc.height and request.hole.pixels.sum() == (doc.mask != 0).sum()
    gated.gate.set()
    qtbot.waitUntil(lambda: len(doc.layers) == 1, timeout=WAIT_MS)
    assert doc.layers[0].rect == request.hole.box
    assert gui_composites == []
    # the histogram, once shown, composes the fill's surroundings once, then keeps them
    win.window_actions.show_histogram.setChecked(True)
    assert len(gui_composites) == 1 and "Removal 1" in win._histogram.caption.text()
    win.window_actions.show_histogram.setChecked(False)
    win.window_actions.show_histogram.setChecked(True)
    assert len(gui_composites) == 1


def _count_gui_thread_composites(monkeypatch: pytest.MonkeyPatch) -> list[Rect]:
    """Every LayerStack.composite that runs on the GUI thread, by its region."""
    from lamapaint.core.layers import LayerStack

    calls: list[Rect] = []
    composite = LayerStack.composite

    def counting(self, original, region):  # noqa: ANN001, ANN202
        if threading.current_thread() is threading.main_thread():
            calls.append(region)
        return composite(self, original, region)

    monkeypatch.setattr(LayerStack, "composite", counting)
    return calls


def test_a_large_basic_fill_is_one_status_message_with_the_hint(qtbot, doc_window: MainWindow, monkeypatch: pytest.MonkeyPatch) -> None:
    """The removal controller alone words a removal's status line; the window only shows it."""
    win = doc_window
    win.settings.model = "opencv-telea"
    shown: list[str] = []
    monkeypatch.setattr(win, "show_message", shown.append)
    win.removal.statusMessage.disconnect()
    win.removal.statusMessage.connect(win.show_message)
    win.document.fill_rect(Rect(30, 20, 90, 76))  # 60 x 56 px: beyond what the basic fill does well
    win.window_actions.remove.trigger()
    qtbot.waitUntil(lambda: len(win.document.layers) == 1, timeout=WAIT_MS)
    (message,) = shown
    assert message.startswith("Removed in ") and "meant for small blemishes" in message


def test_settings_the_engine_refuses_are_said_not_raised(qtbot, doc_window: MainWindow, dialogs) -> None:  # noqa: ANN001
    """A bad option set in memory (a file is checked on load) fails the removal with a message."""
    win = doc_window
    win.settings.strategy = "tile"
    paint_object(qtbot, win)
    assert win.removal.remove() is False
    assert "unknown strategy" in win.statusBar().currentMessage() and not win.removal.busy
    assert any("unknown strategy" in text for text in dialogs.asked)


class _GatedBackend:
    """A backend that waits for the test to open its gate (or for cancel)."""

    name = "gated"
    device = "cpu"
    precision = "fp32"
    fallback_reason = None

    def __init__(self) -> None:
        self.gate = threading.Event()
        self.started = threading.Event()

    def fill_hole(self, source, hole, options, progress=None, cancel=None):  # noqa: ANN001, ANN201
        self.started.set()
        while not self.gate.wait(0.01):
            if cancel is not None and cancel.cancelled:
                raise Cancelled("cancelled")
        patch = source(hole.box).copy()
        patch[hole.pixels] = (200, 180, 160)
        region = RegionInfo(hole.box.pad(8).clip(hole.width, hole.height), hole.box, "crop", 1.0, (0, 0), 0, 0.01)
        return patch, RunInfo("test", self.name, self.device, self.precision, "auto", "crop", 1.0, 0, 0, 0.01, (region,))


@pytest.fixture
def gated(monkeypatch: pytest.MonkeyPatch) -> _GatedBackend:
    import lamapaint.inpaint.backends as backends

    backend = _GatedBackend()
    monkeypatch.setattr(backends, "create_backend", lambda options: backend)
    return backend


def test_cancel_keeps_document(qtbot, doc_window: MainWindow, gated: _GatedBackend) -> None:
    win = doc_window
    paint_object(qtbot, win)
    mask = win.document.mask.copy()
    win.window_actions.remove.trigger()
    assert gated.started.wait(10)
    assert win.cancel_button.isVisible()
    qtbot.mouseClick(win.cancel_button, Qt.MouseButton.LeftButton)
    assert not win.removal.busy and not win.progress_bar.isVisible()
    gated.gate.set()
    wait_engine_done(qtbot, win)
    assert len(win.document.layers) == 0 and np.array_equal(win.document.mask, mask)
    assert "cancelled" in win.statusBar().currentMessage()


def test_painting_during_removal_is_kept_and_gui_responds(qtbot, doc_window: MainWindow, gated: _GatedBackend) -> None:
    win = doc_window
    doc = win.document
    paint_object(qtbot, win)
    hole = doc.mask.copy()
    win.window_actions.remove.trigger()
    assert gated.started.wait(10)
    # the GUI thread is free: paint far from the job's hole, zoom, then let the job finish
    win.set_brush_size(4)
    drag(qtbot, win, [(5, 5), (6, 6)])
    win.window_actions.zoom_in.trigger()
    assert doc.mask[5, 5] == 255
    gated.gate.set()
    qtbot.waitUntil(lambda: len(doc.layers) == 1, timeout=WAIT_MS)
    assert doc.mask[5, 5] == 255  # the new paint stays
    assert tuple(doc.composite()[48, 64]) == (200, 180, 160)
    # the job's hole, and only it, was cleared, in the same undo step as the layer
    painted_hole = hole > 0
    assert not doc.mask[painted_hole].any()
    assert win.window_actions.undo.text() == "&Undo Remove object"
    win.window_actions.undo.trigger()
    assert len(doc.layers) == 0 and np.array_equal(doc.mask > 0, painted_hole | (doc.mask > 0)) and doc.mask[48, 64] == 255
    assert doc.mask[5, 5] == 255


def test_stale_result_is_dropped(qtbot, doc_window: MainWindow, gated: _GatedBackend) -> None:
    win = doc_window
    doc = win.document
    paint_object(qtbot, win)
    win.window_actions.remove.trigger()
    assert gated.started.wait(10)
    # something under the job's region changes: its result no longer fits
    patch = np.zeros((10, 10, 3), np.uint8)
    doc.add_layer(Layer.create("under", Rect(40, 30, 50, 40), patch, np.full((10, 10), 255, np.uint8)), clear_mask=False)
    gated.gate.set()
    wait_engine_done(qtbot, win)
    assert [layer.name for layer in doc.layers] == ["under"]
    assert "dropped" in win.statusBar().currentMessage()
    assert doc.mask[48, 64] == 255  # the hole is still painted: Remove can run again


def test_result_stays_when_only_pixels_it_did_not_read_changed(qtbot, doc_window: MainWindow, gated: _GatedBackend) -> None:
    win = doc_window
    doc = win.document
    paint_object(qtbot, win)
    win.window_actions.remove.trigger()
    assert gated.started.wait(10)
    far = Layer.create("far", Rect(110, 80, 120, 90), np.zeros((10, 10, 3), np.uint8), np.full((10, 10), 255, np.uint8))
    doc.add_layer(far, clear_mask=False)  # outside every region the engine read
    gated.gate.set()
    qtbot.waitUntil(lambda: len(doc.layers) == 2, timeout=WAIT_MS)
    assert tuple(doc.composite()[48, 64]) == (200, 180, 160)


def test_worker_error_shows_message_and_leaves_document(qtbot, doc_window: MainWindow, dialogs, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: ANN001
    import lamapaint.inpaint.backends as backends

    class Failing(_GatedBackend):
        def fill_hole(self, *args, **kwargs):  # noqa: ANN002, ANN003, ANN201
            raise backends.InpaintError("Out of memory on cuda: try the 'resize' strategy")

    monkeypatch.setattr(backends, "create_backend", lambda options: Failing())
    win = doc_window
    paint_object(qtbot, win)
    mask = win.document.mask.copy()
    win.window_actions.remove.trigger()
    wait_idle(qtbot, win)
    assert any("Out of memory" in q for q in dialogs.asked)
    assert len(win.document.layers) == 0 and np.array_equal(win.document.mask, mask)


def test_auto_remove_after_stroke(qtbot, doc_window: MainWindow) -> None:
    win = doc_window
    win.settings.model = "opencv-telea"
    win.window_actions.auto_remove.setChecked(True)
    paint_object(qtbot, win)
    qtbot.waitUntil(lambda: len(win.document.layers) == 1, timeout=WAIT_MS)


def test_nothing_painted_says_so(qtbot, doc_window: MainWindow) -> None:
    assert not doc_window.removal.remove()
    assert "Paint over" in doc_window.statusBar().currentMessage()


def test_recovery_prompt_restores_autosave(qtbot, window: MainWindow, monkeypatch: pytest.MonkeyPatch) -> None:
    from lamapaint.io.autosave import Autosaver
    from lamapaint.qt.dialogs.recovery import RecoveryDialog

    crashed = Document(make_photo())
    crashed.fill_rect(Rect(5, 5, 25, 25))
    saver = Autosaver()
    saver.save(crashed.snapshot())
    saver._lock_fh.close()  # the process "died": its lock is gone, the files stay

    def choose_restore(dialog: RecoveryDialog) -> int:
        dialog.choice = RecoveryDialog.RESTORE
        return 1

    monkeypatch.setattr(RecoveryDialog, "exec", choose_restore)
    window.offer_recovery()
    qtbot.waitUntil(lambda: window.document is not None, timeout=WAIT_MS)
    assert window.document.mask[10, 10] == 255 and not window.document.is_clean
    assert window.windowTitle().split(" — ")[0].endswith("*")


def test_engine_errors_reach_the_user_in_their_own_words() -> None:
    """Subclasses of the engine's user-facing errors are shown as they are, anything else is prefixed."""
    from lamapaint.inpaint.weights import NoWeightsError
    from lamapaint.qt.worker import _describe

    assert _describe(NoWeightsError("no LaMa weights installed")) == "no LaMa weights installed"
    assert _describe(ValueError("bad crop")) == "Removal failed: bad crop"


def test_a_hand_edited_strategy_is_reset_and_remove_works(qtbot, dialogs) -> None:  # noqa: ANN001
    """``"strategy": "tile"`` in the settings file once made Remove fail inside a slot, silently."""
    import json

    from lamapaint.settings import app_paths

    path = app_paths().settings_file
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"strategy": "tile", "model": "opencv-telea", "brush_size": 14}), encoding="utf-8")
    win = MainWindow()
    qtbot.addWidget(win)
    assert win.settings.strategy == "auto" and win.settings.model == "opencv-telea" and win.settings.brush_size == 14
    assert 'strategy ("tile")' in win.statusBar().currentMessage()
    win.show()
    qtbot.waitExposed(win)
    win.first_run.hide()
    win.set_document(Document(make_photo()))
    win.view.fit()
    paint_object(qtbot, win)
    win.window_actions.remove.trigger()
    qtbot.waitUntil(lambda: len(win.document.layers) == 1, timeout=WAIT_MS)
    assert win.document.layers[0].run.model == "opencv-telea" and not dialogs.asked
    win.close()


class _SlowRegionBackend(_GatedBackend):
    """One planned region through the real pipeline, whose fill blocks until the gate opens:
    a forward pass that reports nothing of its own, as LaMa's does."""

    def fill_hole(self, source, hole, options, progress=None, cancel=None):  # noqa: ANN001, ANN201
        from lamapaint.inpaint.pipeline import fill_hole
        from lamapaint.inpaint.regions import plan_regions

        def blocking_fill(img: np.ndarray, region_hole: np.ndarray) -> np.ndarray:
            self.started.set()
            self.gate.wait(WAIT_MS / 1000)
            return img.copy()

        plan = plan_regions(hole, "crop")
        assert len(plan) == 1
        patch, infos = fill_hole(blocking_fill, source, hole, plan, progress, cancel)
        return patch, RunInfo("lama", self.name, self.device, self.precision, "auto", "crop", 1.0, 0, plan[0].network_pixels, 0.01, tuple(infos))


def test_the_bar_moves_while_a_single_region_runs(qtbot, doc_window: MainWindow, monkeypatch: pytest.MonkeyPatch) -> None:
    import lamapaint.inpaint.backends as backends

    backend = _SlowRegionBackend()
    monkeypatch.setattr(backends, "create_backend", lambda options: backend)
    win = doc_window
    paint_object(qtbot, win)
    win.window_actions.remove.trigger()
    assert backend.started.wait(10)
    try:
        # the region's estimate (default speed, its network pixels) is well under a second
        qtbot.waitUntil(lambda: win.progress_bar.value() > 0, timeout=5000)
        said = win.busy_label.text()
        assert win.progress_bar.isVisible() and said.startswith("Removing · ") and ("left" in said or "done" in said)
    finally:
        backend.gate.set()
    wait_idle(qtbot, win)
    assert win.statusBar().currentMessage().startswith("Removed in ")
