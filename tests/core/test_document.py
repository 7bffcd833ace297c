"""Document: commands, listeners, revision, snapshot; property tests for undo/redo."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lamapaint.core.document import Document, DocumentChange
from lamapaint.core.geometry import Rect
from lamapaint.core.layers import Layer
from tests.layer_helpers import layer_from_result

H, W = 48, 64


def _image(seed: int = 0, h: int = H, w: int = W) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def _layer(doc: Document, seed: int, soft: bool = False) -> Layer:
    rng = np.random.default_rng(seed)
    x0, y0 = int(rng.integers(0, doc.width - 4)), int(rng.integers(0, doc.height - 4))
    rect = Rect(x0, y0, int(rng.integers(x0 + 1, doc.width + 1)), int(rng.integers(y0 + 1, doc.height + 1)))
    rgb = rng.integers(0, 256, (rect.height, rect.width, 3), dtype=np.uint8)
    cov = rng.integers(0, 256, rgb.shape[:2], dtype=np.uint8) if soft else np.full(rgb.shape[:2], 255, np.uint8)
    return Layer.create(f"layer {seed}", rect, rgb, cov, info={"backend": "test", "seed": seed})


def _state(doc: Document) -> tuple:
    return (
        doc.mask.tobytes(),
        tuple((layer.id, layer.name, layer.visible, layer.rect) for layer in doc.layers),
        doc.composite().tobytes(),
    )


def test_stroke_is_one_undo_step_and_notifies_dirty_rects() -> None:
    doc = Document(_image())
    changes: list[DocumentChange] = []
    doc.add_listener(changes.append)
    doc.begin_stroke(erase=False, radius=4)
    r1 = doc.stroke_to(10, 10)
    r2 = doc.stroke_to(50, 30)
    doc.end_stroke()
    assert changes[0] == DocumentChange("mask", r1) and changes[1] == DocumentChange("mask", r2)
    assert [c.kind for c in changes[2:]] == ["history", "clean"]
    assert doc.history.undo_count == 1 and doc.history.undo_label == "Brush stroke"
    assert doc.mask[10, 10] == 255 and doc.mask[20, 30] == 255
    rev = doc.revision
    doc.undo()
    assert not doc.mask.any() and doc.revision > rev and doc.is_clean
    doc.redo()
    assert doc.mask[20, 30] == 255
    doc.remove_listener(changes.append)


def test_abort_stroke_restores_the_mask_and_records_nothing() -> None:
    doc = Document(_image())
    doc.fill_rect(Rect(0, 0, 10, 10))
    before = doc.mask.copy()
    doc.begin_stroke(erase=True, radius=3)
    doc.stroke_to(5, 5)
    doc.stroke_to(40, 40)
    doc.abort_stroke()
    assert np.array_equal(doc.mask, before) and doc.history.undo_count == 1


def test_stroke_that_changes_nothing_records_nothing() -> None:
    doc = Document(_image())
    doc.begin_stroke(erase=True, radius=3)
    doc.stroke_to(5, 5)
    doc.end_stroke()
    assert doc.history.undo_count == 0 and doc.is_clean
    with pytest.raises(RuntimeError):
        doc.stroke_to(1, 1)


def test_stroke_undo_stores_only_the_touched_tiles() -> None:
    doc = Document(np.zeros((2000, 3000, 3), np.uint8))
    doc.begin_stroke(erase=False, radius=5)
    doc.stroke_to(100, 100)
    doc.stroke_to(2900, 1900)  # a diagonal across the photo
    painted = int((doc.mask != 0).sum())
    assert doc._stroke is not None and doc._stroke.backup.nbytes < 12 * painted  # even while painting
    doc.end_stroke()
    assert doc.history.nbytes < 12 * painted  # far from the 6 MB of the stroke's bbox
    doc.undo()
    assert not doc.mask.any()


def test_add_layer_clears_mask_and_undo_brings_it_back() -> None:
    doc = Document(_image())
    doc.fill_polygon([(5, 5), (40, 5), (20, 40)])
    mask = doc.mask.copy()
    layer = layer_from_result("Remove object", 255 - doc.original, doc.mask, info={"backend": "test"})
    assert layer is not None
    doc.add_layer(layer)
    assert not doc.mask.any() and len(doc.layers) == 1
    assert np.array_equal(doc.composite()[mask != 0], (255 - doc.original)[mask != 0])
    doc.undo()
    assert np.array_equal(doc.mask, mask) and len(doc.layers) == 0
    doc.redo()
    assert not doc.mask.any() and doc.layers[0] is layer
    with pytest.raises(ValueError):
        doc.add_layer(layer)
    with pytest.raises(ValueError):
        doc.add_layer(Layer.create("out", Rect(60, 40, 70, 50), np.zeros((10, 10, 3), np.uint8), np.zeros((10, 10), np.uint8)))


def test_layer_operations() -> None:
    doc = Document(_image())
    a, b, c = (_layer(doc, s) for s in (1, 2, 3))
    for layer in (a, b, c):
        doc.add_layer(layer, clear_mask=False)
    doc.set_layer_visible(b.id, False)
    assert not doc.layers.find(b.id).visible and doc.history.undo_label == "Hide layer"
    n = doc.history.undo_count
    doc.set_layer_visible(b.id, False)  # no change, no step
    assert doc.history.undo_count == n
    doc.rename_layer(a.id, "sky")
    assert doc.layers.find(a.id).name == "sky"
    doc.move_layer(a.id, 2)
    assert [layer.id for layer in doc.layers] == [b.id, c.id, a.id]
    doc.delete_layer(c.id)
    assert [layer.id for layer in doc.layers] == [b.id, a.id]
    doc.undo()
    assert [layer.id for layer in doc.layers] == [b.id, c.id, a.id]
    doc.set_layer_visible(b.id, True)
    before = doc.composite()
    doc.merge_down(c.id)
    assert len(doc.layers) == 2 and np.array_equal(doc.composite(), before)
    with pytest.raises(ValueError):
        doc.merge_down(doc.layers[0].id)
    with pytest.raises(KeyError):
        doc.delete_layer("missing")


def test_original_is_read_only_and_snapshot_is_immutable_and_independent() -> None:
    doc = Document(_image())
    with pytest.raises(ValueError):
        doc.original[0, 0, 0] = 1
    doc.fill_rect(Rect(1, 1, 5, 5))
    doc.add_layer(_layer(doc, 9), clear_mask=False)
    snap = doc.snapshot()
    with pytest.raises(ValueError):
        snap.mask[0, 0] = 1
    composite = snap.composite()
    doc.clear_mask()
    doc.set_layer_visible(doc.layers[0].id, False)
    assert snap.mask[2, 2] == 255 and snap.layers[0].visible
    assert np.array_equal(snap.composite(), composite)
    assert snap.revision < doc.revision and snap.original is doc.original


def test_snapshot_is_cheap_on_a_24mp_document() -> None:
    doc = Document(np.zeros((4000, 6000, 3), np.uint8))
    for i in range(20):
        doc.add_layer(Layer.create(f"l{i}", Rect(0, 0, 100, 100), np.zeros((100, 100, 3), np.uint8), np.zeros((100, 100), np.uint8)), clear_mask=False)
    doc.snapshot()
    start = time.perf_counter()
    snap = doc.snapshot()
    elapsed = time.perf_counter() - start
    assert snap.mask.shape == (4000, 6000)
    assert elapsed < 0.5, elapsed  # measured ~10 ms; generous for a loaded CI machine


def test_clean_signal_and_mark_clean() -> None:
    doc = Document(_image())
    kinds: list[str] = []
    doc.add_listener(lambda c: kinds.append(c.kind))
    doc.fill_rect(Rect(0, 0, 3, 3))
    assert not doc.is_clean and "clean" in kinds
    kinds.clear()
    doc.mark_clean()
    assert doc.is_clean and kinds == ["clean"]
    doc.invert_mask()
    doc.undo()
    assert doc.is_clean


# --- property tests ---------------------------------------------------------------------------

point = st.tuples(st.floats(-5, W + 5), st.floats(-5, H + 5))
op = st.one_of(
    st.tuples(st.just("stroke"), st.booleans(), st.floats(0.3, 6), st.lists(point, min_size=1, max_size=4)),
    st.tuples(st.just("polygon"), st.booleans(), st.lists(point, min_size=3, max_size=6)),
    st.tuples(st.just("rect"), st.booleans(), st.integers(-5, W), st.integers(-5, H), st.integers(0, 30), st.integers(0, 30)),
    st.tuples(st.just("clear")),
    st.tuples(st.just("invert")),
    st.tuples(st.just("grow"), st.integers(-4, 4)),
    st.tuples(st.just("add"), st.integers(0, 10_000), st.booleans(), st.booleans()),
    st.tuples(st.just("visible"), st.integers(0, 10), st.booleans()),
    st.tuples(st.just("rename"), st.integers(0, 10), st.text(max_size=5)),
    st.tuples(st.just("move"), st.integers(0, 10), st.integers(0, 10)),
    st.tuples(st.just("delete"), st.integers(0, 10)),
    st.tuples(st.just("merge"), st.integers(1, 10)),
)


def _run(doc: Document, action: tuple) -> None:
    kind = action[0]
    ids = [layer.id for layer in doc.layers]
    if kind == "stroke":
        doc.begin_stroke(action[1], action[2])
        for x, y in action[3]:
            doc.stroke_to(x, y)
        doc.end_stroke()
    elif kind == "polygon":
        doc.fill_polygon(action[2], erase=action[1])
    elif kind == "rect":
        doc.fill_rect(Rect.from_xywh(*action[2:]), erase=action[1])
    elif kind == "clear":
        doc.clear_mask()
    elif kind == "invert":
        doc.invert_mask()
    elif kind == "grow":
        doc.grow_mask(action[1])
    elif kind == "add":
        doc.add_layer(_layer(doc, action[1], soft=action[2]), clear_mask=action[3])
    elif ids and kind == "visible":
        doc.set_layer_visible(ids[action[1] % len(ids)], action[2])
    elif ids and kind == "rename":
        doc.rename_layer(ids[action[1] % len(ids)], action[2])
    elif ids and kind == "move":
        doc.move_layer(ids[action[1] % len(ids)], action[2])
    elif ids and kind == "delete":
        doc.delete_layer(ids[action[1] % len(ids)])
    elif len(ids) > 1 and kind == "merge":
        doc.merge_down(ids[1 + action[1] % (len(ids) - 1)])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(op, max_size=12))
def test_undo_all_and_redo_all_are_exact(actions: list[tuple]) -> None:
    doc = Document(_image(1))
    start = _state(doc)
    for action in actions:
        _run(doc, action)
    end = _state(doc)
    while doc.history.can_undo:
        doc.undo()
    assert _state(doc) == start
    assert doc.is_clean
    while doc.history.can_redo:
        doc.redo()
    assert _state(doc) == end


@settings(max_examples=40, deadline=None)
@given(st.lists(op, min_size=1, max_size=10), st.integers(0, 9))
def test_undo_some_then_branch_keeps_history_consistent(actions: list[tuple], back: int) -> None:
    doc = Document(_image(2))
    states = [_state(doc)]
    for action in actions:
        _run(doc, action)
        if doc.history.undo_count == len(states):
            states.append(_state(doc))
        assert doc.history.undo_count == len(states) - 1
    for _ in range(min(back, doc.history.undo_count)):
        doc.undo()
        assert _state(doc) == states[doc.history.undo_count]
    doc.invert_mask()  # always a change: a new branch
    assert not doc.history.can_redo
    doc.undo()
    assert _state(doc) == states[doc.history.undo_count]


def test_budget_evicts_old_mask_steps_but_keeps_state() -> None:
    doc = Document(_image(), history_budget=10_000)
    for i in range(10):
        doc.fill_rect(Rect(0, i * 4, W, i * 4 + 4))
    assert doc.history.nbytes <= 10_000 and doc.history.undo_count < 10
    assert doc.mask[: 40].all()
    while doc.history.can_undo:
        doc.undo()
    assert doc.mask[0].all() and not doc.is_clean


def test_add_layer_clears_only_its_own_hole_in_one_undo_step() -> None:
    """Paint added while a removal ran stays for the next one; undo brings the hole back."""
    doc = Document(np.zeros((60, 80, 3), np.uint8))
    doc.fill_rect(Rect(10, 10, 30, 30))
    hole = doc.mask[0:40, 0:40].copy()
    doc.fill_rect(Rect(50, 40, 70, 55))  # painted meanwhile, elsewhere
    before = doc.mask.copy()
    layer = layer_from_result("Removal 1", np.full((40, 40, 3), 200, np.uint8), hole)
    doc.add_layer(layer)
    assert not doc.mask[10:30, 10:30].any()
    np.testing.assert_array_equal(doc.mask[40:55, 50:70], 255)
    assert doc.history.undo_label == "Remove object"
    doc.undo()
    np.testing.assert_array_equal(doc.mask, before)
    assert len(doc.layers) == 0


def test_commands_need_only_the_narrow_target() -> None:
    """Commands work on anything with a mask, a layer stack and the two notifications."""
    from lamapaint.core.commands import AddLayerCommand, DeleteLayerCommand, InvertMaskCommand, MoveLayerCommand
    from lamapaint.core.layers import LayerStack

    class Target:
        def __init__(self) -> None:
            self.mask = np.zeros((H, W), np.uint8)
            self.layers = LayerStack()
            self.changes: list[tuple[str, Rect | None]] = []

        def mask_changed(self, rect: Rect | None) -> Rect | None:
            self.changes.append(("mask", rect))
            return rect

        def layers_changed(self, rect: Rect | None) -> Rect | None:
            self.changes.append(("layers", rect))
            return rect

    target = Target()
    doc = Document(_image())
    first, second = _layer(doc, 1), _layer(doc, 2)
    target.mask[first.rect.slices][first.source_mask != 0] = 255
    before = target.mask.copy()
    add = AddLayerCommand(first, 0, clear_mask=True)
    add.apply(target)
    assert list(target.layers) == [first] and not target.mask.any()
    AddLayerCommand(second, 1, clear_mask=False).apply(target)
    MoveLayerCommand(second, 1, 0).apply(target)
    assert [layer.id for layer in target.layers] == [second.id, first.id]
    DeleteLayerCommand(second, 0).apply(target)
    add.revert(target)
    assert len(target.layers) == 0 and np.array_equal(target.mask, before)
    InvertMaskCommand().apply(target)
    assert np.array_equal(target.mask, 255 - before)
    assert {kind for kind, _ in target.changes} == {"mask", "layers"}


def test_project_path_changes_only_through_the_document() -> None:
    doc = Document(_image())
    seen: list[str] = []
    doc.add_listener(lambda change: seen.append(change.kind))
    with pytest.raises(AttributeError):
        doc.project_path = Path("elsewhere.lamapaint")  # type: ignore[misc]
    doc.set_project_path(Path("a.lamapaint"))
    doc.set_project_path(Path("a.lamapaint"))
    assert doc.project_path == Path("a.lamapaint") and seen == ["path"] and doc.is_clean


def test_replace_mask_is_one_undo_step_of_only_the_changed_tiles() -> None:
    doc = Document(np.zeros((300, 400, 3), np.uint8))
    doc.fill_rect(Rect(0, 0, 10, 10))
    changes: list[DocumentChange] = []
    doc.add_listener(changes.append)
    new = np.zeros((300, 400), np.uint8)
    new[100:150, 200:260] = 7  # any non-zero value is a hole
    doc.replace_mask(new, "Import mask")
    assert doc.history.undo_labels == ["Rectangle", "Import mask"]
    assert set(np.unique(doc.mask)) == {0, 255} and doc.mask[120, 230] == 255 and doc.mask[5, 5] == 0
    assert [c.kind for c in changes if c.kind == "history"] == ["history"]
    assert doc.history.nbytes < 20 * 64 * 64  # a few tiles, not the whole 120 kB mask
    doc.undo()
    assert doc.mask[5, 5] == 255 and not doc.mask[100:150, 200:260].any()
    doc.redo()
    assert doc.mask[120, 230] == 255
    doc.replace_mask(doc.mask.copy())  # the same mask again: nothing to record
    assert doc.history.undo_count == 2
    with pytest.raises(ValueError, match="does not match"):
        doc.replace_mask(np.zeros((400, 300), np.uint8))


def test_marked_mask_adds_the_holes_of_visible_layers() -> None:
    doc = Document(np.zeros((50, 60, 3), np.uint8))
    hole = np.zeros((10, 10), np.uint8)
    hole[2:5, 2:5] = 255
    layer = Layer.create("fill", Rect(20, 20, 30, 30), np.zeros((10, 10, 3), np.uint8), np.full((10, 10), 255, np.uint8), hole)
    doc.add_layer(layer)
    doc.fill_rect(Rect(0, 0, 3, 3))
    marked = doc.marked_mask()
    assert marked[1, 1] == 255 and marked[23, 23] == 255 and marked[21, 21] == 0
    assert np.count_nonzero(marked) == 9 + 9 and doc.mask[23, 23] == 0  # the document's mask is not touched
    doc.set_layer_visible(layer.id, False)
    assert doc.marked_mask()[23, 23] == 0


def test_merge_mask_adds_or_subtracts_a_patch_in_its_rect_only_as_one_undo_step() -> None:
    rng = np.random.default_rng(3)
    doc = Document(np.zeros((300, 400, 3), np.uint8))
    doc.fill_rect(Rect(0, 0, 40, 30))
    doc.fill_rect(Rect(150, 100, 170, 120))
    before = doc.mask.copy()
    changes: list[DocumentChange] = []
    doc.add_listener(changes.append)
    rect = Rect(130, 90, 230, 160)
    patch = (rng.random((rect.height, rect.width)) < 0.3).astype(np.uint8) * rng.integers(1, 256, (rect.height, rect.width), dtype=np.uint8)
    doc.merge_mask(rect, patch, label="Select")
    want = before.copy()
    want[rect.slices][patch != 0] = 255
    assert np.array_equal(doc.mask, want)
    assert doc.history.undo_labels[-1] == "Select" and doc.history.undo_count == 3
    masks = [c.rect for c in changes if c.kind == "mask"]
    assert len(masks) == 1 and rect.contains(masks[0])  # told once, inside the rect
    assert [c.kind for c in changes if c.kind == "history"] == ["history"]
    doc.undo()
    assert np.array_equal(doc.mask, before)
    doc.redo()
    assert np.array_equal(doc.mask, want)
    # Subtract: only the patch's pixels leave the hole, the rest of the rect and the photo stay.
    doc.merge_mask(Rect(0, 0, 40, 30), np.pad(np.ones((10, 10), np.uint8), ((5, 15), (20, 10))), subtract=True, label="Select subtract")
    after = want.copy()
    after[5:15, 20:30] = 0
    assert np.array_equal(doc.mask, after) and doc.history.undo_labels[-1] == "Select subtract"
    doc.undo()
    assert np.array_equal(doc.mask, want)
    doc.merge_mask(Rect(300, 200, 310, 210), np.zeros((10, 10), np.uint8))  # changes nothing: no step
    assert doc.history.undo_labels[-1] == "Select"
    with pytest.raises(ValueError, match="does not match"):
        doc.merge_mask(rect, patch[1:])
    with pytest.raises(ValueError, match="outside"):
        doc.merge_mask(Rect(390, 0, 410, 10), np.ones((10, 20), np.uint8))


def test_merge_mask_reads_and_writes_only_its_rect() -> None:
    """A mask whose pixels outside the rect cannot be read: the merge must not need them."""
    doc = Document(np.zeros((600, 800, 3), np.uint8))
    rect = Rect(300, 200, 340, 250)
    outside = np.ones(doc.mask.shape, bool)
    outside[rect.pad(64).clip(800, 600).slices] = False  # the tiles' backup may read a tile around it
    doc.mask[outside] = 77  # a value no edit writes: any whole-mask rewrite would show
    patch = np.full((rect.height, rect.width), 255, np.uint8)
    doc.merge_mask(rect, patch)
    assert (doc.mask[outside] == 77).all() and (doc.mask[rect.slices] == 255).all()
    assert doc.history.nbytes < 8 * 64 * 64  # a few tiles' backup, not the 480 kB mask
