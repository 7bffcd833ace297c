"""Mask operations: exact shapes, no gaps, dirty boxes that match what changed."""

from __future__ import annotations

import math

import numpy as np
import pytest

from lamapaint.core import mask as m
from lamapaint.core.geometry import EMPTY, Rect, mask_bbox


def test_dot_is_a_disc_of_the_right_size() -> None:
    mask = np.zeros((100, 100), np.uint8)
    dirty = m.stamp_line(mask, (50.0, 50.0), (50.0, 50.0), 10, 255)
    area = int((mask != 0).sum())
    assert abs(area - math.pi * 100) < 0.05 * math.pi * 100
    assert dirty == mask_bbox(mask)
    # Symmetric around the centre pixel boundary at 50.0.
    assert dirty == Rect(40, 40, 60, 60)


def test_small_radius_still_paints_the_pixel_under_the_pointer() -> None:
    mask = np.zeros((10, 10), np.uint8)
    dirty = m.stamp_line(mask, (3.5, 4.5), (3.5, 4.5), 0.1, 255)
    assert dirty == Rect(3, 4, 4, 5)
    assert mask.sum() == 255


def test_fast_stroke_leaves_no_gaps() -> None:
    mask = np.zeros((400, 600), np.uint8)
    p0, p1, r = (10.0, 20.0), (590.0, 380.0), 3.0
    dirty = m.stamp_line(mask, p0, p1, r, 255)
    ys, xs = np.mgrid[0:400, 0:600]
    cx, cy = xs + 0.5, ys + 0.5
    dx, dy = p1[0] - p0[0], p1[1] - p0[1]
    t = np.clip(((cx - p0[0]) * dx + (cy - p0[1]) * dy) / (dx * dx + dy * dy), 0, 1)
    dist = np.hypot(cx - p0[0] - t * dx, cy - p0[1] - t * dy)
    assert (mask[dist <= r - 1e-3] == 255).all()
    assert (mask[dist > r + 1e-3] == 0).all()
    assert dirty == mask_bbox(mask)


def test_stamp_on_a_big_mask_returns_a_small_box_and_touches_nothing_else() -> None:
    mask = np.zeros((6000, 8000), np.uint8)
    dirty = m.stamp_line(mask, (4000.0, 3000.0), (4010.0, 3004.0), 20, 255)
    assert dirty.area < 60 * 60
    outside = mask.copy()
    outside[dirty.slices] = 0
    assert not outside.any()


def test_eraser_and_clipping_at_the_edges() -> None:
    mask = np.full((50, 50), 255, np.uint8)
    dirty = m.stamp_line(mask, (-5.0, -5.0), (2.0, 2.0), 4, 0)
    assert dirty.x0 == 0 and dirty.y0 == 0
    assert mask[0, 0] == 0 and mask[49, 49] == 255
    assert m.stamp_line(mask, (-100.0, -100.0), (-90.0, -90.0), 3, 0) == EMPTY


def test_polygon_fill_matches_the_triangle_area() -> None:
    mask = np.zeros((200, 200), np.uint8)
    dirty = m.fill_polygon(mask, [(10, 10), (190, 10), (10, 190)], 255)
    area = int((mask != 0).sum())
    assert abs(area - 180 * 180 / 2) < 0.03 * 180 * 180 / 2
    assert dirty == mask_bbox(mask)
    assert m.fill_polygon(mask, [(1, 1), (5, 5)], 255) == EMPTY


def test_fill_rect_clips() -> None:
    mask = np.zeros((20, 30), np.uint8)
    assert m.fill_rect(mask, Rect(25, 15, 40, 40), 255) == Rect(25, 15, 30, 20)
    assert int(mask.sum()) == 255 * 5 * 5
    assert m.fill_rect(mask, Rect(40, 40, 50, 50), 255) == EMPTY


def test_invert_twice_is_identity() -> None:
    rng = np.random.default_rng(1)
    mask = (rng.random((33, 47)) > 0.5).astype(np.uint8) * 255
    before = mask.copy()
    m.invert(mask)
    assert ((mask == 0) == (before != 0)).all() and set(np.unique(mask)) <= {0, 255}
    m.invert(mask)
    assert np.array_equal(mask, before)


def test_grow_a_pixel_gives_a_euclidean_disc() -> None:
    mask = np.zeros((21, 21), np.uint8)
    mask[10, 10] = 255
    dirty = m.grow(mask, 3)
    assert int((mask != 0).sum()) == 29  # lattice points with x^2 + y^2 <= 9
    assert dirty == Rect(7, 7, 14, 14)


def test_shrink_undoes_grow_for_a_convex_shape_and_respects_the_image_edge() -> None:
    mask = np.zeros((100, 100), np.uint8)
    m.fill_rect(mask, Rect(30, 30, 60, 60), 255)
    before = mask.copy()
    m.grow(mask, 5)
    m.grow(mask, -5)
    assert np.array_equal(mask, before)
    edge = np.zeros((50, 50), np.uint8)
    m.fill_rect(edge, Rect(0, 0, 10, 50), 255)
    m.grow(edge, -3)
    assert edge[:, 0].all() and edge[:, 6].all() and not edge[:, 7].any()


@pytest.mark.parametrize("pixels", [0, 4, -4])
def test_grow_on_empty_mask_is_a_no_op(pixels: int) -> None:
    mask = np.zeros((10, 10), np.uint8)
    assert m.grow(mask, pixels) == EMPTY


def test_grow_works_only_near_the_mask() -> None:
    mask = np.zeros((3000, 3000), np.uint8)
    mask[100:110, 200:220] = 255
    assert m.grow_bounds(mask, 8) == Rect(192, 92, 228, 118)
    dirty = m.grow(mask, 8)
    assert Rect(192, 92, 228, 118).contains(dirty)
