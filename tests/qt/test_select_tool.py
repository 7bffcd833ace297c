"""The Select tool in the real window: click -> candidate -> Enter grows it into the mask -> undo."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage

from lamapaint.core.document import Document
from lamapaint.core.geometry import Rect
from lamapaint.core.mask import grow
from lamapaint.qt.main_window import MainWindow
from lamapaint.qt.selection import CLASSICAL_NOTICE, _Engine
from lamapaint.qt.tools.select import is_stroke, stroke_points
from lamapaint.select.weights import import_sam
from tests.qt.conftest import drag, image_to_viewport, make_photo
from tests.select.sam_files import mobile_sam_file

__all__ = ["mobile_sam_file"]

TIMEOUT_MS = 60_000


@pytest.fixture
def sam_window(mobile_sam_file: Path, window: MainWindow) -> MainWindow:
    """The window with the deterministic MobileSAM installed and a photo open."""
    import_sam(mobile_sam_file)
    window.set_document(Document(make_photo()))
    window.view.fit()
    return window


def click(qtbot, win: MainWindow, x: float, y: float, button=Qt.MouseButton.LeftButton, modifier=Qt.KeyboardModifier.NoModifier) -> None:  # noqa: ANN001
    qtbot.mouseClick(win.view.viewport(), button, modifier, image_to_viewport(win, x, y))


def wait_candidate(qtbot, win: MainWindow) -> None:  # noqa: ANN001
    qtbot.waitUntil(lambda: win.selection.has_candidate and not win.selection.busy, timeout=TIMEOUT_MS)


def expected_hole(win: MainWindow, grow_pixels: int) -> np.ndarray:
    sel = win.selection
    assert sel.candidate is not None
    hole = _Engine.full_mask(sel.candidate, sel.index).view(np.uint8) * np.uint8(255)
    grow(hole, grow_pixels)
    return hole


def test_click_candidate_enter_grows_into_the_mask_and_undo_restores(qtbot, sam_window: MainWindow) -> None:  # noqa: ANN001
    win = sam_window
    win.window_actions.tool_select.trigger()
    assert win.view.tool is win.tools["select"]
    assert win.selection.busy  # the embedding starts as soon as the tool is chosen
    qtbot.waitUntil(lambda: win.selection.embedding_ready, timeout=TIMEOUT_MS)
    click(qtbot, win, 64, 48)
    wait_candidate(qtbot, win)
    sel = win.selection
    assert sel.engine_kind == "sam"
    assert sel.candidate is not None and sel.candidate.previews.shape == (3, 768, 1024)
    areas = [int(p.sum()) for p in sel.candidate.previews]
    assert areas == sorted(areas, reverse=True)  # largest part first
    assert not win.document.mask.any()  # nothing in the mask until accepted
    win.grow_spin.setValue(3)
    want = expected_hole(win, 3)
    assert want.any()
    steps = len(win.document.history.undo_labels)
    win.window_actions.remove.trigger()  # Enter: the candidate goes into the mask first
    qtbot.waitUntil(lambda: win.document.mask.any(), timeout=TIMEOUT_MS)
    assert np.array_equal(win.document.mask, want)
    assert not sel.has_candidate and not sel.prompts
    assert not win.removal.busy  # Enter did not remove yet
    assert win.document.history.undo_labels[-1] == "Select" and len(win.document.history.undo_labels) == steps + 1
    win.window_actions.undo.trigger()
    assert not win.document.mask.any()  # one undo step


def test_alt_enter_subtracts_and_esc_drops(qtbot, sam_window: MainWindow) -> None:  # noqa: ANN001
    win = sam_window
    win.document.fill_rect(win.document.bounds)
    win.select_tool("select")
    click(qtbot, win, 64, 48)
    wait_candidate(qtbot, win)
    preview_before = win.selection.preview().copy()
    win.window_actions.select_cycle.trigger()  # C: the next candidate
    assert not np.array_equal(win.selection.preview(), preview_before)
    want = win.document.mask & ~expected_hole(win, 0)
    win.window_actions.select_subtract.trigger()
    qtbot.waitUntil(lambda: not win.document.mask.all(), timeout=TIMEOUT_MS)
    assert np.array_equal(win.document.mask, want)
    click(qtbot, win, 30, 30, button=Qt.MouseButton.RightButton)  # right-click: an excluded point
    assert win.selection.prompts.labels == [0]
    click(qtbot, win, 64, 48, modifier=Qt.KeyboardModifier.AltModifier)
    assert win.selection.prompts.labels == [0, 0]
    mask = win.document.mask.copy()
    win.window_actions.clear_mask.trigger()  # Esc drops the selection, not the mask
    assert not win.selection.prompts and not win.selection.has_candidate
    qtbot.wait(50)
    assert np.array_equal(win.document.mask, mask)


def test_clicks_before_the_embedding_are_answered_after_with_a_busy_cue(qtbot, sam_window: MainWindow, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: ANN001
    win = sam_window
    gate = threading.Event()
    real = _Engine.embed

    def slow(self: _Engine, rgb: np.ndarray, key: object) -> str:
        gate.wait(TIMEOUT_MS / 1000)
        return real(self, rgb, key)

    monkeypatch.setattr(_Engine, "embed", slow)
    idle = win.view.viewport().grab().toImage()
    win.select_tool("select")
    click(qtbot, win, 64, 48)
    qtbot.wait(100)
    assert win.selection.busy and not win.selection.has_candidate
    busy = win.view.viewport().grab().toImage()
    corner = [(x, y) for x in range(14, 60, 3) for y in range(14, 24, 3)]
    assert any(idle.pixel(x, y) != busy.pixel(x, y) for x, y in corner)  # the "Analysing" label
    gate.set()
    wait_candidate(qtbot, win)
    assert win.selection.prompts.points == [pytest.approx((64, 48), abs=1)]
    after = win.view.viewport().grab().toImage()
    assert all(idle.pixel(x, y) == after.pixel(x, y) for x, y in corner)


def test_a_drag_is_a_box_and_a_stroke_adds_a_few_points(qtbot, sam_window: MainWindow) -> None:  # noqa: ANN001
    win = sam_window
    win.select_tool("select")
    drag(qtbot, win, [(40, 30), (60, 45), (90, 70)])
    assert win.selection.prompts.box == pytest.approx((40, 30, 90, 70), abs=1)
    assert win.selection.prompts.points == []
    win.selection.drop()
    scribble = [(40 + 50 * t, 48 + 12 * np.sin(t * 25)) for t in np.linspace(0, 1, 60)]
    drag(qtbot, win, scribble)
    assert win.selection.prompts.box is not None
    assert len(win.selection.prompts.points) == 3 and win.selection.prompts.labels == [1, 1, 1]
    wait_candidate(qtbot, win)


def test_stroke_shapes() -> None:
    circle = [(50 + 20 * np.cos(a), 50 + 20 * np.sin(a)) for a in np.linspace(0, 2 * np.pi, 40)]
    assert is_stroke(circle) and stroke_points(circle) == []  # around the object: its bounds only
    assert not is_stroke([(0, 0), (5, 4), (10, 10)])


def test_without_a_model_the_classical_select_answers_and_says_so_once(qtbot, doc_window: MainWindow) -> None:  # noqa: ANN001
    win = doc_window
    messages: list[str] = []
    win.selection.message.connect(messages.append)
    win.select_tool("select")
    click(qtbot, win, 64, 48)  # on the dark square: the wand takes it
    wait_candidate(qtbot, win)
    assert win.selection.engine_kind == "classical"
    win.grow_spin.setValue(2)
    want = expected_hole(win, 2)
    win.window_actions.select_add.trigger()
    qtbot.waitUntil(lambda: win.document.mask.any(), timeout=TIMEOUT_MS)
    assert np.array_equal(win.document.mask, want)
    ys, xs = np.nonzero(win.document.mask)
    assert 52 <= xs.min() <= 56 and 72 <= xs.max() <= 76 and 36 <= ys.min() <= 40 and 56 <= ys.max() <= 60  # the dark square, grown
    win.select_tool("brush")
    win.select_tool("select")
    click(qtbot, win, 10, 10)
    wait_candidate(qtbot, win)
    assert messages.count(CLASSICAL_NOTICE) == 1
    assert win.sam_offer.box is not None and win.sam_offer.box.isVisible()  # offered once, not modal


def test_the_offered_download_makes_the_next_selection_use_sam(qtbot, mobile_sam_file: Path, doc_window: MainWindow, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: ANN001
    import lamapaint.select.weights as weights

    win = doc_window
    fetched: list[str] = []
    monkeypatch.setattr(weights, "download_sam", lambda name, progress, cancel: fetched.append(name) or import_sam(mobile_sam_file))
    win.select_tool("select")
    qtbot.waitUntil(lambda: win.sam_offer.box is not None, timeout=TIMEOUT_MS)
    assert win.selection.engine_kind == "classical"
    win.sam_offer.download_button.click()
    qtbot.waitUntil(lambda: win.selection.engine_kind == "sam" and win.selection.embedding_ready, timeout=TIMEOUT_MS)
    assert fetched == ["mobile-sam"]
    click(qtbot, win, 64, 48)
    wait_candidate(qtbot, win)
    assert len(win.selection.candidate.previews) == 3


def test_accepting_removes_when_remove_on_stroke_end_is_on(qtbot, doc_window: MainWindow, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: ANN001
    win = doc_window
    removed: list[bool] = []
    monkeypatch.setattr(win.removal, "remove", lambda: removed.append(True) or True)
    win.window_actions.auto_remove.setChecked(True)
    win.select_tool("select")
    click(qtbot, win, 64, 48)
    wait_candidate(qtbot, win)
    win.window_actions.remove.trigger()
    qtbot.waitUntil(lambda: win.document.mask.any(), timeout=TIMEOUT_MS)
    assert removed == [True]


def test_zoomed_in_on_a_large_photo_the_view_is_embedded_and_points_map_into_it(qtbot, mobile_sam_file: Path, window: MainWindow, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: ANN001
    from lamapaint.select.sam.predictor import Predictor

    import_sam(mobile_sam_file)
    win = window
    win.set_document(Document(make_photo(1600, 2400)))
    embedded: list[tuple[int, ...]] = []
    asked: list[np.ndarray] = []
    real_set, real_predict = Predictor.set_image, Predictor.predict

    def set_image(self: Predictor, rgb: np.ndarray) -> None:
        embedded.append(rgb.shape)
        real_set(self, rgb)

    def predict(self: Predictor, points=None, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        asked.append(points)
        return real_predict(self, points, *args, **kwargs)

    monkeypatch.setattr(Predictor, "set_image", set_image)
    monkeypatch.setattr(Predictor, "predict", predict)
    win.view.set_zoom(1.0)
    win.view.centerOn(1000, 700)
    visible = win.view.visible_image_rect()
    assert visible is not None and max(visible.width, visible.height) < 1200
    win.select_tool("select")
    click(qtbot, win, 1010, 705)
    wait_candidate(qtbot, win)
    sel = win.selection
    assert sel.candidate is not None and sel.candidate.region == visible
    assert embedded[-1] == (visible.height, visible.width, 3)
    assert np.allclose(asked[-1], [[1010 - visible.x0, 705 - visible.y0]], atol=1)
    want = np.zeros((1600, 2400), np.uint8)
    want[visible.slices] = _Engine.full_mask(sel.candidate, sel.index) * np.uint8(255)
    assert want.any()
    win.grow_spin.setValue(1)
    grow(want, 1)
    win.window_actions.select_add.trigger()
    qtbot.waitUntil(lambda: win.document.mask.any(), timeout=TIMEOUT_MS)
    assert np.array_equal(win.document.mask, want)
    # Zoomed out, the next selection embeds the whole photo again.
    win.view.fit()
    click(qtbot, win, 1010, 705)
    wait_candidate(qtbot, win)
    assert win.selection.candidate.region == win.document.bounds and embedded[-1] == (1600, 2400, 3)


def test_crop_region_rule() -> None:
    from lamapaint.core.geometry import Rect
    from lamapaint.qt.selection import crop_region

    whole = Rect(0, 0, 6000, 4000)
    assert crop_region(6000, 4000, Rect(100, 200, 1100, 900)) == Rect(100, 200, 1100, 900)
    assert crop_region(6000, 4000, Rect(0, 0, 3500, 2000)) == whole  # not zoomed in enough
    assert crop_region(1500, 1000, Rect(0, 0, 300, 200)) == Rect(0, 0, 1500, 1000)  # small photo: SAM sees it at full detail
    assert crop_region(6000, 4000, None) == whole


def test_accepting_merges_only_the_grown_box_on_the_gui_thread(qtbot, window: MainWindow, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: ANN001
    """The GUI thread's part of Enter costs the selection's box, not the photo: no whole-mask
    replace, no photo-sized array made (the old way took 335-465 ms on 24 MP)."""
    import tracemalloc

    from lamapaint.qt.selection import SelectionController

    win = window
    win.set_document(Document(make_photo(1200, 1600)))  # the dark square: 20x20 in the middle
    win.view.fit()
    replaced: list[str] = []
    real_replace = Document.replace_mask
    monkeypatch.setattr(Document, "replace_mask", lambda self, mask, label="": replaced.append(label) or real_replace(self, mask, label))
    peaks: list[int] = []
    real_apply = SelectionController._apply

    def measured(self: SelectionController, *args, **kwargs) -> None:  # noqa: ANN002, ANN003
        tracemalloc.start()
        try:
            real_apply(self, *args, **kwargs)
        finally:
            peaks.append(tracemalloc.get_traced_memory()[1])
            tracemalloc.stop()

    monkeypatch.setattr(SelectionController, "_apply", measured)
    accepted: list[bool] = []
    win.selection.accepted.connect(lambda: accepted.append(True))
    told: list[Rect] = []
    win.document.add_listener(lambda change: told.append(change.rect) if change.kind == "mask" else None)
    win.select_tool("select")
    click(qtbot, win, 800, 600)  # on the dark square: the wand takes it
    wait_candidate(qtbot, win)
    win.grow_spin.setValue(3)
    want = expected_hole(win, 3)
    win.window_actions.select_add.trigger()
    qtbot.waitUntil(lambda: bool(accepted), timeout=TIMEOUT_MS)
    assert np.array_equal(win.document.mask, want) and win.document.history.undo_labels[-1] == "Select"
    assert replaced == []  # the whole photo's mask was not replaced on the GUI thread
    assert len(told) == 1 and told[0].area <= (20 + 2 * 3) ** 2  # the mask changed in the grown square only
    assert peaks and peaks[0] < win.document.mask.nbytes / 20  # nothing photo-sized was made
    win.window_actions.undo.trigger()
    assert not win.document.mask.any()


def _viewport_array(win: MainWindow) -> np.ndarray:
    image = win.view.viewport().grab().toImage().convertToFormat(QImage.Format.Format_RGB32)
    return np.frombuffer(image.constBits(), np.uint8).reshape(image.height(), image.bytesPerLine() // 4, 4)[:, : image.width(), :3].copy()


def test_zoomed_in_the_candidate_is_drawn_at_screen_pixels_as_the_full_size_mask(qtbot, mobile_sam_file: Path, window: MainWindow) -> None:  # noqa: ANN001
    """Zoomed in far beyond the 1024-side preview, the drawn candidate follows the full-size
    mask's photo pixels (its edge within a screen pixel), not the preview's blocks."""
    import cv2

    import_sam(mobile_sam_file)
    win = window
    win.set_document(Document(make_photo(1600, 2400)))
    win.view.fit()  # the whole photo is embedded: one preview pixel is 2.3 photo pixels
    win.select_tool("select")
    click(qtbot, win, 1200, 800)
    wait_candidate(qtbot, win)
    sel = win.selection
    assert sel.candidate is not None and sel.candidate.region == win.document.bounds
    full = _Engine.full_mask(sel.candidate, sel.index)
    edge = full & (cv2.erode(full.view(np.uint8), np.ones((3, 3), np.uint8)) == 0)
    ys, xs = np.nonzero(edge[700:900, 1100:1300])
    assert len(xs), "the candidate has an edge near the click"
    win.view.set_zoom(8.0)
    win.view.centerOn(1100 + float(xs[len(xs) // 2]) + 0.5, 700 + float(ys[len(ys) // 2]) + 0.5)
    qtbot.wait(50)
    drawn = _viewport_array(win)
    candidate, sel.candidate = sel.candidate, None  # the same view without the candidate
    win.view.viewport().repaint()
    bare = _viewport_array(win)
    sel.candidate = candidate
    painted = (drawn != bare).any(axis=2)  # the tint inside and the dark line just outside
    # What the full-size mask has under each screen pixel's centre.
    t = win.view.viewportTransform()
    h, w = painted.shape
    kx = np.clip(np.floor((np.arange(w) + 0.5 - t.dx()) / t.m11()).astype(int), 0, 2399)
    ky = np.clip(np.floor((np.arange(h) + 0.5 - t.dy()) / t.m22()).astype(int), 0, 1599)
    under = full[np.ix_(ky, kx)].view(np.uint8)
    assert 0.05 < under.mean() < 0.95  # the view shows the edge
    kernel = np.ones((3, 3), np.uint8)
    want = cv2.dilate(under, kernel) != 0  # inside, and the one-pixel line outside it
    band = (cv2.dilate(under, np.ones((9, 9), np.uint8)) != cv2.erode(under, np.ones((9, 9), np.uint8)))  # 4 px either side of the edge
    assert band.sum() > 500
    agreement = float((painted[band] == want[band]).mean())
    assert agreement >= 0.99, f"only {agreement:.3f} of the edge band agrees with the full-size mask"
    # The old drawing (the preview's pixels, scaled without smoothing, its outline a preview pixel wide) is far off here.
    preview = sel.preview().view(np.uint8)
    ph, pw = preview.shape
    old = cv2.dilate(preview, kernel)[np.ix_(np.minimum(ky * ph // 1600, ph - 1), np.minimum(kx * pw // 2400, pw - 1))] != 0
    assert float((old[band] == want[band]).mean()) < 0.95


def test_preview_logits_are_the_official_upscaling() -> None:
    import torch

    from lamapaint.qt.selection import preview_logits
    from lamapaint.select.sam import transforms

    low_res = (np.random.default_rng(5).standard_normal((3, 256, 256)) * 8).astype(np.float32)
    want = transforms.preview_logits(torch.from_numpy(low_res)[None], (1600, 2400))[0].numpy()
    got = preview_logits(low_res, want.shape[1:])
    assert got.shape == want.shape == (3, 683, 1024) and got.dtype == np.float32
    assert np.abs(got - want).max() < 1e-4
    assert ((got > 0) != (want > 0)).sum() <= 3  # a sign may differ only where the logit is ~0


def test_tint_image_fills_the_inside_and_draws_the_edge_inside_and_a_dark_line_outside() -> None:
    from lamapaint.qt.tools.candidate_image import OUTER_EDGE, OUTLINE, TINT, tint_image

    mask = np.zeros((12, 16), bool)
    mask[3:9, 4:12] = True
    mask[0:3, 0:2] = True  # touches the frame: no outline along the frame
    image = tint_image(mask)
    assert (image.width(), image.height()) == (16, 12)

    def colour(x: int, y: int) -> tuple[int, int, int, int]:
        c = image.pixelColor(x, y)
        return c.red(), c.green(), c.blue(), c.alpha()

    def near(c: tuple[int, int, int, int], want) -> bool:  # noqa: ANN001
        return all(abs(a - b) <= 2 for a, b in zip(c, (want.red(), want.green(), want.blue(), want.alpha())))

    assert near(colour(7, 5), TINT)  # inside
    assert near(colour(4, 5), OUTLINE) and near(colour(7, 8), OUTLINE)  # its edge pixels
    assert near(colour(3, 5), OUTER_EDGE) and near(colour(7, 9), OUTER_EDGE)  # just outside
    assert colour(14, 10)[3] == 0  # outside
    assert near(colour(0, 0), TINT) and near(colour(1, 2), OUTLINE)  # the frame is no edge; the bottom is


@pytest.mark.parametrize("region", [Rect(0, 0, 300, 200), Rect(180, 120, 300, 200), Rect(40, 30, 140, 110)])
def test_placed_patch_grows_like_the_photo_sized_mask(region: Rect) -> None:
    """The lane's patch, merged, gives the pixels the photo-sized grow gave (also at the photo's edge)."""
    from lamapaint.qt.selection import placed_patch

    rng = np.random.default_rng(region.x0)
    full = np.zeros((region.height, region.width), bool)
    full[rng.integers(0, region.height, 12), rng.integers(0, region.width, 12)] = True
    full[-3:, -5:] = True  # touches the region's corner (the photo's, for two of them)
    bounds = Rect(0, 0, 300, 200)
    want = np.zeros((200, 300), np.uint8)
    want[region.slices] = full.view(np.uint8) * np.uint8(255)
    grow(want, 6)
    rect, patch = placed_patch(full, region, bounds, 6)
    got = np.zeros((200, 300), np.uint8)
    got[rect.slices] = patch
    assert np.array_equal(got, want) and bounds.contains(rect)
    assert placed_patch(np.zeros((10, 10), bool), region, bounds, 6) is None


def test_the_screen_pixel_candidate_is_rendered_once_per_view(qtbot, doc_window: MainWindow, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: ANN001
    import lamapaint.qt.tools.candidate_image as candidate_image

    win = doc_window
    rendered: list[object] = []
    real = candidate_image.screen_mask
    monkeypatch.setattr(candidate_image, "screen_mask", lambda *args: rendered.append(args[2]) or real(*args))
    win.select_tool("select")
    click(qtbot, win, 64, 48)  # the classical wand: a full-size mask, drawn at screen pixels when zoomed in
    wait_candidate(qtbot, win)
    win.view.set_zoom(6.0)
    qtbot.wait(50)  # the scroll bars come
    vp = win.view.viewport()
    vp.repaint()
    count = len(rendered)
    assert count >= 1
    vp.repaint()
    vp.update(10, 10, 30, 30)  # a part of the view repainted (the pointer, the busy cue): no new render
    qtbot.wait(20)
    assert len(rendered) == count
    win.view.horizontalScrollBar().setValue(win.view.horizontalScrollBar().value() + 7)
    vp.repaint()
    assert len(rendered) == count + 1 and rendered[-1] != rendered[-2]  # scrolled: rendered for the new view
    win.selection.cycle()  # the classical select has one candidate: nothing changes
    vp.repaint()
    assert len(rendered) == count + 1
