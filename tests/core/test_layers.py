"""Layer composition: exact replace/keep, rounded blends, tiles equal the whole."""

from __future__ import annotations

import numpy as np
import pytest

from lamapaint.core.geometry import Rect
from lamapaint.core.layers import Layer, LayerStack, blend_into, merge_layers
from tests.layer_helpers import layer_from_result


def _random_layer(rng: np.random.Generator, width: int, height: int, soft: bool) -> Layer:
    x0, y0 = int(rng.integers(0, width - 2)), int(rng.integers(0, height - 2))
    x1, y1 = int(rng.integers(x0 + 1, width + 1)), int(rng.integers(y0 + 1, height + 1))
    rect = Rect(x0, y0, x1, y1)
    rgb = rng.integers(0, 256, (rect.height, rect.width, 3), dtype=np.uint8)
    if soft:
        cov = rng.integers(0, 256, (rect.height, rect.width), dtype=np.uint8)
    else:
        cov = (rng.random((rect.height, rect.width)) > 0.5).astype(np.uint8) * 255
    return Layer.create("l", rect, rgb, cov)


def _reference(original: np.ndarray, layers: list[Layer]) -> np.ndarray:
    out = original.astype(np.int64)
    for layer in layers:
        if not layer.visible:
            continue
        s = layer.rect.slices
        c = layer.coverage.astype(np.int64)[..., None]
        out[s] = np.floor((layer.rgb * c + out[s] * (255 - c)) / 255 + 0.5)
    return out.astype(np.uint8)


def test_blend_rounds_and_is_exact_at_the_ends() -> None:
    src = np.arange(256, dtype=np.uint8).repeat(256).reshape(256, 256)[..., None].repeat(3, axis=2)
    dst = np.ascontiguousarray(src.transpose(1, 0, 2))
    for c in (0, 1, 128, 254, 255):
        out = dst.copy()
        blend_into(out, src, np.full((256, 256), c, np.uint8))
        expected = np.floor((src.astype(np.float64) * c + dst.astype(np.float64) * (255 - c)) / 255 + 0.5)
        assert np.array_equal(out, expected.astype(np.uint8))
    out = dst.copy()
    blend_into(out, src, np.full((256, 256), 255, np.uint8))
    assert np.array_equal(out, src)


@pytest.mark.parametrize("soft", [False, True])
def test_composite_matches_reference_and_tiles_match_the_whole(soft: bool) -> None:
    rng = np.random.default_rng(7)
    original = rng.integers(0, 256, (90, 130, 3), dtype=np.uint8)
    layers = [_random_layer(rng, 130, 90, soft) for _ in range(6)]
    layers[2] = layers[2].replace(visible=False)
    stack = LayerStack(layers)
    full = stack.composite(original, Rect(0, 0, 130, 90))
    assert np.array_equal(full, _reference(original, layers))
    for region in (Rect(0, 0, 64, 64), Rect(64, 0, 130, 64), Rect(10, 50, 120, 90), Rect(100, 80, 200, 200)):
        tile = stack.composite(original, region)
        assert np.array_equal(tile, full[region.clip(130, 90).slices])


def test_composite_returns_a_copy_and_layers_are_read_only() -> None:
    original = np.zeros((10, 10, 3), np.uint8)
    original.flags.writeable = False
    layer = Layer.create("a", Rect(2, 2, 5, 5), np.full((3, 3, 3), 9, np.uint8), np.full((3, 3), 255, np.uint8))
    out = LayerStack([layer]).composite(original, Rect(0, 0, 10, 10))
    out[:] = 1
    assert not layer.rgb.flags.writeable and not layer.coverage.flags.writeable
    with pytest.raises(ValueError):
        layer.rgb[0, 0, 0] = 1


def test_layer_validates_shapes() -> None:
    with pytest.raises(ValueError):
        Layer.create("bad", Rect(0, 0, 4, 4), np.zeros((3, 4, 3), np.uint8), np.zeros((4, 4), np.uint8))
    with pytest.raises(ValueError):
        Layer.create("empty", Rect(0, 0, 0, 4), np.zeros((4, 0, 3), np.uint8), np.zeros((4, 0), np.uint8))


def test_from_result_crops_to_the_mask() -> None:
    result = np.full((40, 50, 3), 77, np.uint8)
    mask = np.zeros((40, 50), np.uint8)
    mask[10:20, 5:15] = 255
    layer = layer_from_result("Remove object", result, mask, info={"backend": "opencv-telea"}, pad=2)
    assert layer is not None
    assert layer.rect == Rect(3, 8, 17, 22)
    assert layer.coverage.sum() == 255 * 100
    assert layer.info == {"backend": "opencv-telea"}
    assert layer_from_result("x", result, np.zeros_like(mask)) is None


def test_touched_covers_visible_layers_only() -> None:
    a = Layer.create("a", Rect(0, 0, 2, 2), np.zeros((2, 2, 3), np.uint8), np.array([[255, 0], [0, 0]], np.uint8))
    b = Layer.create("b", Rect(3, 3, 4, 4), np.zeros((1, 1, 3), np.uint8), np.full((1, 1), 255, np.uint8))
    touched = LayerStack([a, b.replace(visible=False)]).touched((5, 5))
    assert touched.sum() == 1 and touched[0, 0]


@pytest.mark.parametrize("soft", [False, True])
def test_merge_down_looks_the_same(soft: bool) -> None:
    rng = np.random.default_rng(3)
    original = rng.integers(0, 256, (60, 80, 3), dtype=np.uint8)
    below, top = _random_layer(rng, 80, 60, soft), _random_layer(rng, 80, 60, soft)
    before = LayerStack([below, top]).composite(original, Rect(0, 0, 80, 60))
    merged = merge_layers(below, top)
    after = LayerStack([merged]).composite(original, Rect(0, 0, 80, 60))
    diff = np.abs(before.astype(int) - after.astype(int)).max()
    assert diff == 0 if not soft else diff <= 1
    assert merged.rect == below.rect.union(top.rect)


def test_merge_ignores_hidden_layers() -> None:
    rng = np.random.default_rng(4)
    original = rng.integers(0, 256, (30, 30, 3), dtype=np.uint8)
    below, top = _random_layer(rng, 30, 30, False), _random_layer(rng, 30, 30, False)
    merged = merge_layers(below, top.replace(visible=False))
    assert np.array_equal(
        LayerStack([merged]).composite(original, Rect(0, 0, 30, 30)),
        LayerStack([below]).composite(original, Rect(0, 0, 30, 30)),
    )


def _solid(name: str, x0: int) -> Layer:
    return Layer.create(name, Rect(x0, 0, x0 + 2, 2), np.zeros((2, 2, 3), np.uint8), np.full((2, 2), 255, np.uint8))


def test_stack_mutators_keep_order_and_unique_ids() -> None:
    a, b, c = _solid("a", 0), _solid("b", 2), _solid("c", 4)
    stack = LayerStack([a, b])
    stack.insert(2, c)
    assert [layer.name for layer in stack] == ["a", "b", "c"]
    with pytest.raises(ValueError):
        stack.insert(0, a)
    stack.move(0, 2)
    assert [layer.name for layer in stack] == ["b", "c", "a"]
    hidden = a.replace(visible=False)
    stack.replace(a.id, hidden)
    assert stack.find(a.id) is hidden and stack.index(a.id) == 2
    with pytest.raises(ValueError):
        stack.replace(a.id, b)  # b's id is taken by another layer
    merged = merge_layers(b, c)
    stack.merge(0, merged)
    assert [layer.id for layer in stack] == [merged.id, a.id]
    stack.unmerge(0, b, c)
    assert [layer.id for layer in stack] == [b.id, c.id, a.id]
    assert stack.remove(c.id) == 1 and [layer.id for layer in stack] == [b.id, a.id]
    with pytest.raises(KeyError):
        stack.remove(c.id)
    with pytest.raises(ValueError):
        LayerStack([a, a])
    assert not hasattr(stack, "layers")  # the list is private: no one edits it behind the commands
