"""Classical select (GrabCut, the colour wand) finds a known object in synthetic photos."""

from __future__ import annotations

import math

import numpy as np
import pytest

from lamapaint.select import classical
from tests.select.scenes import ellipse_scene, iou, object_box, textured_background


def test_grabcut_from_a_loose_box_covers_the_object() -> None:
    rgb, truth = ellipse_scene()
    mask = classical.grabcut_box(rgb, object_box(truth, 15))
    assert mask.shape == truth.shape and mask.dtype == bool
    assert iou(mask, truth) > 0.93


def test_grabcut_on_a_large_photo_works_shrunk_and_returns_full_size() -> None:
    rgb, truth = ellipse_scene(1500, 2000, seed=3)
    assert truth.sum() > classical.WORK_PIXELS  # the crop must be shrunk
    mask = classical.grabcut_box(rgb, object_box(truth, 60))
    assert mask.shape == truth.shape
    assert iou(mask, truth) > 0.93


def test_a_box_over_the_whole_photo_still_selects() -> None:
    rgb, truth = ellipse_scene()
    mask = classical.grabcut_box(rgb, (0, 0, rgb.shape[1], rgb.shape[0]), points=[(144, 120)], labels=[1])
    assert iou(mask, truth) > 0.8


def test_excluded_points_stay_out_of_a_box_selection() -> None:
    rgb, truth = ellipse_scene()
    x0, y0, x1, y1 = object_box(truth, 15)
    inside_point = (x0 + 40, (y0 + y1) / 2)  # on the object
    mask = classical.grabcut_box(rgb, (x0, y0, x1, y1), points=[inside_point], labels=[0])
    assert not mask[int(inside_point[1]), int(inside_point[0])]


def test_grabcut_from_a_stroke_around_the_object() -> None:
    rgb, truth = ellipse_scene()
    cy, cx, ry, rx = 120, 144, 60 + 14, 64 + 14
    loop = [(cx + rx * math.cos(t), cy + ry * math.sin(t)) for t in np.linspace(0, 2 * math.pi, 40)]
    mask = classical.grabcut_stroke(rgb, loop, width=6)
    assert iou(mask, truth) > 0.9


def test_grabcut_from_a_stroke_over_the_object() -> None:
    rgb, truth = ellipse_scene()
    scribble = [(110.0, 110.0), (130.0, 130.0), (150.0, 105.0), (175.0, 135.0)]
    mask = classical.grabcut_stroke(rgb, scribble, width=6)
    assert iou(mask, truth) > 0.85


def test_wand_takes_the_object_under_a_click() -> None:
    rgb, truth = ellipse_scene()
    mask = classical.wand(rgb, (144, 120))
    assert iou(mask, truth) > 0.95


def test_wand_takes_a_gradient_sky_and_stops_at_the_horizon() -> None:
    height, width = 200, 300
    rgb = textured_background(height, width, seed=5)
    sky = np.zeros((height, width), bool)
    sky[:90] = True
    ramp = np.linspace(0, 1, 90)[:, None, None]  # deep blue at the top to pale at the horizon: 80 levels
    rgb[:90] = np.clip(np.array([90, 140, 220]) * (1 - ramp) + np.array([170, 200, 240]) * ramp, 0, 255).astype(np.uint8)
    mask = classical.wand(rgb, (150, 10))
    assert iou(mask, sky) > 0.97


def test_select_dispatches_box_and_points() -> None:
    rgb, truth = ellipse_scene()
    assert iou(classical.select(rgb, box=object_box(truth, 15)), truth) > 0.93
    assert iou(classical.select(rgb, points=[(144, 120)], labels=[1]), truth) > 0.95
    background_click = classical.select(rgb, points=[(144, 120), (5, 5)], labels=[1, 0])
    assert iou(background_click, truth) > 0.95
    with pytest.raises(ValueError, match="at least one point"):
        classical.select(rgb, points=[(5, 5)], labels=[0])
