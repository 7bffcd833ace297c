"""HoleMask: the hole read once, its box and pixels, and the views the pipeline takes of it."""

from __future__ import annotations

import numpy as np
import pytest

from lamapaint.core.geometry import Rect
from lamapaint.inpaint.hole import HoleMask


def _mask() -> np.ndarray:
    mask = np.zeros((50, 80), np.uint8)
    mask[10:20, 30:45] = 255
    mask[25, 60] = 3  # any non-zero value is a hole
    return mask


def test_from_mask_keeps_only_the_box() -> None:
    hole = HoleMask.from_mask(_mask())
    assert hole.shape == (50, 80) and hole.box == Rect(30, 10, 61, 26)
    assert hole.pixels.dtype == np.bool_ and hole.pixels.shape == (16, 31) and hole.pixels.sum() == 151
    assert not hole.pixels.flags.writeable
    np.testing.assert_array_equal(hole.within(Rect.of_image(50, 80)), _mask() != 0)
    np.testing.assert_array_equal(hole.as_u8(), (_mask() != 0)[hole.box.slices].astype(np.uint8) * 255)


def test_within_gives_the_hole_of_any_rect() -> None:
    mask = _mask()
    hole = HoleMask.from_mask(mask)
    for rect in (Rect(0, 0, 80, 50), Rect(25, 5, 50, 22), Rect(35, 12, 40, 15), Rect(0, 30, 20, 50), Rect(55, 20, 80, 40)):
        np.testing.assert_array_equal(hole.within(rect), mask[rect.slices] != 0)
    inner = Rect(35, 12, 40, 15)
    assert np.shares_memory(hole.within(inner), hole.pixels)  # inside the box: a view, no copy


def test_empty_and_bad_masks() -> None:
    empty = HoleMask.from_mask(np.zeros((5, 6), np.uint8))
    assert empty.is_empty and empty.pixels.shape == (0, 0) and not empty.within(Rect.of_image(5, 6)).any()
    with pytest.raises(ValueError, match=r"\(H, W\)"):
        HoleMask.from_mask(np.zeros((5, 6, 3), np.uint8))
    with pytest.raises(ValueError, match="outside"):
        HoleMask(5, 6, Rect(4, 4, 8, 8), np.ones((4, 4), bool))


def test_from_box_copies_the_crop() -> None:
    mask = _mask()
    box = Rect(30, 10, 45, 20)
    hole = HoleMask.from_box(50, 80, box, mask[box.slices])
    mask[:] = 0  # the editor keeps painting: the request's hole must not change
    assert hole.pixels.all()
