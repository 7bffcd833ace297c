"""Selecting without a Segment Anything model: OpenCV GrabCut and a "similar colour" wand.

Offline and torch-free, what ``select`` uses when no SAM model is installed. GrabCut starts from a
box (or a rough stroke) and separates the colours inside it from those around it; it works on a
crop around the prompt, shrunk to :data:`WORK_PIXELS`, so a 24 MP photo costs what a small one does.
The wand grows a region of similar colour from a click (flood fill, each pixel compared with its
neighbour, so a smooth sky gradient is taken whole but a hard edge stops it): skies, walls, wires.
Masks are bool (H, W) at the photo's size; coordinates are pixels of the upright photo.
"""

from __future__ import annotations

import math
from typing import Sequence

import cv2
import numpy as np

#: GrabCut runs on at most this many pixels (the crop around the prompt, shrunk): its 5 iterations took
#: 1.8 s on a busy 2-core machine, whatever the photo's size (24 MP included).
WORK_PIXELS = 400_000
GRABCUT_ITERATIONS = 5
#: The wand's default step between neighbouring pixels, per channel (0-255), measured on a lightly blurred copy.
WAND_TOLERANCE = 10
#: Seeds (points given with a box) are discs of this radius on the work image.
SEED_RADIUS = 3

Point = tuple[float, float]


def grabcut_box(
    rgb: np.ndarray,
    box: Sequence[float],
    points: Sequence[Point] = (),
    labels: Sequence[int] = (),
    iterations: int = GRABCUT_ITERATIONS,
) -> np.ndarray:
    """The object inside ``box`` (x0, y0, x1, y1): GrabCut with everything outside the box as background.

    ``points`` with label 1 are kept in the object, with label 0 kept out of it.
    """
    height, width = rgb.shape[:2]
    x0, y0, x1, y1 = (float(v) for v in box)
    margin = max(8.0, 0.15 * max(x1 - x0, y1 - y0))
    crop = _crop(width, height, x0 - margin, y0 - margin, x1 + margin, y1 + margin)
    work, scale = _work_image(rgb, crop)
    seeds = np.full(work.shape[:2], cv2.GC_BGD, np.uint8)
    cx0, cy0 = crop[0], crop[1]
    bx0, by0 = round((x0 - cx0) * scale), round((y0 - cy0) * scale)
    bx1, by1 = max(bx0 + 1, round((x1 - cx0) * scale)), max(by0 + 1, round((y1 - cy0) * scale))
    seeds[by0:by1, bx0:bx1] = cv2.GC_PR_FGD
    _stamp_points(seeds, points, labels, crop, scale)
    return _grabcut(rgb.shape[:2], work, seeds, crop, iterations)


def grabcut_stroke(rgb: np.ndarray, stroke: Sequence[Point], width: float = 8.0, iterations: int = GRABCUT_ITERATIONS) -> np.ndarray:
    """The object a rough stroke marks: circled (the stroke closes on itself) or scribbled over.

    Circled: outside the loop is background, inside it probably the object. Scribbled over: the
    stroke is the object, and GrabCut grows it into the similar colours around it.
    """
    if len(stroke) < 2:
        raise ValueError("a stroke needs at least two points")
    height, width_px = rgb.shape[:2]
    pts = np.asarray(stroke, np.float64)
    (sx0, sy0), (sx1, sy1) = pts.min(axis=0), pts.max(axis=0)
    extent = max(sx1 - sx0, sy1 - sy0, 1.0)
    closed = len(stroke) >= 8 and math.dist(stroke[0], stroke[-1]) <= max(2 * width, 0.2 * extent)
    margin = max(8.0, 0.15 * extent) if closed else max(16.0, 0.5 * extent)
    crop = _crop(width_px, height, sx0 - margin, sy0 - margin, sx1 + margin, sy1 + margin)
    work, scale = _work_image(rgb, crop)
    local = np.round((pts - (crop[0], crop[1])) * scale).astype(np.int32).reshape(-1, 1, 2)
    thickness = max(1, round(width * scale))
    if closed:
        seeds = np.full(work.shape[:2], cv2.GC_BGD, np.uint8)
        cv2.fillPoly(seeds, [local], cv2.GC_PR_FGD)
        cv2.polylines(seeds, [local], True, cv2.GC_PR_BGD, thickness)
    else:
        seeds = np.full(work.shape[:2], cv2.GC_PR_BGD, np.uint8)
        seeds[[0, -1], :] = cv2.GC_BGD
        seeds[:, [0, -1]] = cv2.GC_BGD
        cv2.polylines(seeds, [local], False, cv2.GC_FGD, thickness)
    return _grabcut(rgb.shape[:2], work, seeds, crop, iterations)


def wand(rgb: np.ndarray, point: Point, tolerance: int = WAND_TOLERANCE) -> np.ndarray:
    """The connected region of similar colour around ``point``: neighbours within ``tolerance`` per channel."""
    height, width = rgb.shape[:2]
    x, y = _pixel(point, width, height)
    smooth = cv2.GaussianBlur(np.ascontiguousarray(rgb), (3, 3), 0)
    region = np.zeros((height + 2, width + 2), np.uint8)
    diff = (tolerance,) * 3
    flags = 4 | cv2.FLOODFILL_MASK_ONLY | (255 << 8)
    cv2.floodFill(smooth, region, (x, y), (0, 0, 0), diff, diff, flags)
    return region[1:-1, 1:-1] != 0


def select(
    rgb: np.ndarray,
    points: Sequence[Point] = (),
    labels: Sequence[int] = (),
    box: Sequence[float] | None = None,
    tolerance: int = WAND_TOLERANCE,
) -> np.ndarray:
    """What SAM's prompts mean, done classically: a box -> GrabCut (points as seeds); points alone -> the wand.

    Without a box, the regions of the included points are joined and those of the excluded points
    taken out of them.
    """
    if box is not None:
        return grabcut_box(rgb, box, points, labels)
    include = [p for p, label in zip(points, labels, strict=True) if label == 1]
    if not include:
        raise ValueError("without a box, give at least one point on the object")
    mask = np.zeros(rgb.shape[:2], bool)
    for point in include:
        mask |= wand(rgb, point, tolerance)
    for point, label in zip(points, labels, strict=True):
        if label == 0:
            mask &= ~wand(rgb, point, tolerance)
    return mask


def _pixel(point: Point, width: int, height: int) -> tuple[int, int]:
    x, y = int(math.floor(point[0])), int(math.floor(point[1]))
    return min(max(x, 0), width - 1), min(max(y, 0), height - 1)


def _crop(width: int, height: int, x0: float, y0: float, x1: float, y1: float) -> tuple[int, int, int, int]:
    """The integer crop (x0, y0, x1, y1) inside the photo, at least 2x2."""
    cx0, cy0 = max(0, math.floor(x0)), max(0, math.floor(y0))
    cx1, cy1 = min(width, math.ceil(x1)), min(height, math.ceil(y1))
    return cx0, cy0, max(cx1, min(width, cx0 + 2)), max(cy1, min(height, cy0 + 2))


def _work_image(rgb: np.ndarray, crop: tuple[int, int, int, int]) -> tuple[np.ndarray, float]:
    """The crop as contiguous BGR (what GrabCut wants), shrunk to WORK_PIXELS; and the scale applied."""
    x0, y0, x1, y1 = crop
    patch = rgb[y0:y1, x0:x1]
    scale = min(1.0, math.sqrt(WORK_PIXELS / patch.shape[0] / patch.shape[1]))
    if scale < 1.0:
        size = (max(2, round(patch.shape[1] * scale)), max(2, round(patch.shape[0] * scale)))
        patch = cv2.resize(np.ascontiguousarray(patch), size, interpolation=cv2.INTER_AREA)
        scale = patch.shape[1] / (x1 - x0)
    patch = cv2.cvtColor(np.ascontiguousarray(patch), cv2.COLOR_RGB2BGR)
    return patch, scale


def _stamp_points(seeds: np.ndarray, points: Sequence[Point], labels: Sequence[int], crop: tuple[int, int, int, int], scale: float) -> None:
    for (px, py), label in zip(points, labels, strict=True):
        centre = (round((px - crop[0]) * scale), round((py - crop[1]) * scale))
        cv2.circle(seeds, centre, SEED_RADIUS, cv2.GC_FGD if label == 1 else cv2.GC_BGD, -1)


def _grabcut(shape: tuple[int, ...], work: np.ndarray, seeds: np.ndarray, crop: tuple[int, int, int, int], iterations: int) -> np.ndarray:
    """Run GrabCut on the work image and return the object at the photo's size."""
    out = np.zeros(shape[:2], bool)
    background = (seeds == cv2.GC_BGD) | (seeds == cv2.GC_PR_BGD)
    foreground = (seeds == cv2.GC_FGD) | (seeds == cv2.GC_PR_FGD)
    if not foreground.any():
        return out
    if not background.any():  # the box is the whole photo: its edge is the only background there is
        seeds[[0, -1], :] = np.where(seeds[[0, -1], :] == cv2.GC_FGD, cv2.GC_FGD, cv2.GC_PR_BGD)
        seeds[:, [0, -1]] = np.where(seeds[:, [0, -1]] == cv2.GC_FGD, cv2.GC_FGD, cv2.GC_PR_BGD)
    bgd_model, fgd_model = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
    cv2.grabCut(work, seeds, None, bgd_model, fgd_model, iterations, cv2.GC_INIT_WITH_MASK)
    picked = ((seeds == cv2.GC_FGD) | (seeds == cv2.GC_PR_FGD)).astype(np.uint8) * np.uint8(255)
    x0, y0, x1, y1 = crop
    if picked.shape != (y1 - y0, x1 - x0):
        picked = cv2.resize(picked, (x1 - x0, y1 - y0), interpolation=cv2.INTER_LINEAR)
    out[y0:y1, x0:x1] = picked > 127
    return out
