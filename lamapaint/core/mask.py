"""Mask painting: brush strokes, lasso and rectangle fills, grow/shrink, invert.

Every function edits the ``(H, W) uint8`` mask in place and returns the dirty ``Rect`` (possibly
``EMPTY``). Work is bounded by the shape being painted, never by the photo: a brush stamp on a
50 MP mask reads and writes only its own box. Grow/shrink work on the mask's bounding box (padded by
the distance), invert is the one whole-mask operation.

Coordinates are floats in image pixels where pixel ``(x, y)`` covers ``[x, x+1) x [y, y+1)``, so
its centre is ``(x + 0.5, y + 0.5)``: the same mapping a canvas gets from its view transform.
"""

from __future__ import annotations

import math
from typing import Sequence

import cv2
import numpy as np

from lamapaint.core.geometry import EMPTY, Rect, mask_bbox

#: The smallest brush radius; a stamp always covers at least the pixel under the pointer.
MIN_RADIUS = 0.5

# Long segments are cut into pieces no longer than this many radii, so that a fast diagonal
# stroke scans thin boxes along the line rather than one box spanning the whole diagonal.
_PIECE_RADII = 4.0


def segment_bounds(p0: tuple[float, float], p1: tuple[float, float], radius: float, shape: tuple[int, ...]) -> Rect:
    """The pixels a capsule stamp from ``p0`` to ``p1`` may touch, clipped to the mask."""
    r = max(float(radius), MIN_RADIUS)
    x0 = math.floor(min(p0[0], p1[0]) - r)
    y0 = math.floor(min(p0[1], p1[1]) - r)
    x1 = math.ceil(max(p0[0], p1[0]) + r)
    y1 = math.ceil(max(p0[1], p1[1]) + r)
    return Rect(x0, y0, x1, y1).clip(shape[1], shape[0])


def _stamp_capsule(mask: np.ndarray, p0: tuple[float, float], p1: tuple[float, float], r: float, value: int) -> Rect:
    """Set every pixel whose centre lies within ``r`` of the segment ``p0``-``p1``."""
    box = segment_bounds(p0, p1, r, mask.shape)
    if box.is_empty:
        return EMPTY
    ax, ay = p0
    dx, dy = p1[0] - ax, p1[1] - ay
    # Pixel centres relative to p0, as broadcastable column/row vectors.
    px = (np.arange(box.x0, box.x1, dtype=np.float32) + np.float32(0.5 - ax))[None, :]
    py = (np.arange(box.y0, box.y1, dtype=np.float32) + np.float32(0.5 - ay))[:, None]
    length2 = dx * dx + dy * dy
    if length2 > 1e-12:
        t = np.clip((px * np.float32(dx) + py * np.float32(dy)) * np.float32(1.0 / length2), 0.0, 1.0)
        ex = px - t * np.float32(dx)
        ey = py - t * np.float32(dy)
        dist2 = ex * ex + ey * ey
    else:
        dist2 = px * px + py * py
    hit = dist2 <= np.float32(r * r)
    patch = mask[box.slices]
    patch[hit] = value
    if not hit.any():
        return EMPTY
    return mask_bbox(hit).translate(box.x0, box.y0)


def stroke_pieces(
    p0: tuple[float, float], p1: tuple[float, float], radius: float
) -> list[tuple[tuple[float, float], tuple[float, float]]]:
    """Cut a segment into pieces a few radii long, so each piece's box hugs the line."""
    r = max(float(radius), MIN_RADIUS)
    length = math.hypot(p1[0] - p0[0], p1[1] - p0[1])
    n = max(1, math.ceil(length / (_PIECE_RADII * r)))
    points = [(p0[0] + (p1[0] - p0[0]) * i / n, p0[1] + (p1[1] - p0[1]) * i / n) for i in range(n)] + [p1]
    return list(zip(points[:-1], points[1:]))


def stamp_line(
    mask: np.ndarray, p0: tuple[float, float], p1: tuple[float, float], radius: float, value: int
) -> Rect:
    """Paint a round brush swept from ``p0`` to ``p1`` (a dot when they are equal).

    The sweep is exact (a capsule), so a fast pointer that jumps many pixels between events still
    leaves a continuous stroke with no gaps.
    """
    r = max(float(radius), MIN_RADIUS)
    dirty = EMPTY
    for a, b in stroke_pieces(p0, p1, r):
        dirty = dirty.union(_stamp_capsule(mask, a, b, r, value))
    return dirty


def polygon_bounds(points: Sequence[tuple[float, float]], shape: tuple[int, ...]) -> Rect:
    """The pixels a polygon fill may touch, clipped to the mask."""
    if len(points) == 0:
        return EMPTY
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    x0, y0 = np.floor(pts.min(axis=0)).astype(int)
    x1, y1 = np.ceil(pts.max(axis=0)).astype(int)
    return Rect(int(x0), int(y0), int(x1) + 1, int(y1) + 1).clip(shape[1], shape[0])


_SHIFT = 4  # sub-pixel bits for cv2.fillPoly


def fill_polygon(mask: np.ndarray, points: Sequence[tuple[float, float]], value: int) -> Rect:
    """Fill a closed polygon (a lasso), with sub-pixel vertex precision; fewer than 3 points is a no-op."""
    if len(points) < 3:
        return EMPTY
    box = polygon_bounds(points, mask.shape)
    if box.is_empty:
        return EMPTY
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    # cv2 puts integer coordinates at pixel centres; ours have centres at +0.5.
    local = (pts - 0.5 - np.array([box.x0, box.y0])) * (1 << _SHIFT)
    poly = np.round(local).astype(np.int32).reshape(1, -1, 2)
    hit = np.zeros((box.height, box.width), np.uint8)
    cv2.fillPoly(hit, poly, 255, lineType=cv2.LINE_8, shift=_SHIFT)
    sel = hit != 0
    if not sel.any():
        return EMPTY
    mask[box.slices][sel] = value
    return mask_bbox(sel).translate(box.x0, box.y0)


def fill_rect(mask: np.ndarray, rect: Rect, value: int) -> Rect:
    """Fill a rectangle, clipped to the mask."""
    box = rect.clip(mask.shape[1], mask.shape[0])
    if box.is_empty:
        return EMPTY
    mask[box.slices] = value
    return box


def invert(mask: np.ndarray) -> Rect:
    """Swap hole and keep everywhere (non-zero becomes 0, 0 becomes 255)."""
    if mask.size == 0:
        return EMPTY
    np.equal(mask, 0, out=mask.view(bool))  # bool view: 1 where it was 0
    mask *= 255
    return Rect.of_image(mask.shape[0], mask.shape[1])


def grow_bounds(mask: np.ndarray, pixels: int) -> Rect:
    """The box ``grow(mask, pixels)`` will edit: the mask's bbox, padded by the distance when growing."""
    bbox = mask_bbox(mask)
    if bbox.is_empty or pixels == 0:
        return EMPTY
    return bbox.pad(max(pixels, 0)).clip(mask.shape[1], mask.shape[0])


def grow(mask: np.ndarray, pixels: int) -> Rect:
    """Dilate (``pixels > 0``) or erode (``pixels < 0``) the hole by a Euclidean distance.

    A pixel joins the hole when its centre is within ``pixels`` of a hole pixel's centre; shrinking
    keeps a hole pixel only when every keep pixel is farther than ``-pixels``. The image edge counts
    as neither: a hole touching the border does not shrink from it. Cost is one distance transform
    of the (padded) bounding box, whatever the distance.
    """
    box = grow_bounds(mask, pixels)
    if box.is_empty:
        return EMPTY
    if pixels > 0:
        patch = mask[box.slices]
        keep = (patch == 0).astype(np.uint8)
        dist = cv2.distanceTransform(keep, cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
        new = dist <= pixels + 1e-3
    else:
        # Pad by one keep pixel where the bbox is not at the image edge, so erosion sees it.
        outer = box.pad(1).clip(mask.shape[1], mask.shape[0])
        patch = mask[outer.slices]
        hole = (patch != 0).astype(np.uint8)
        dist = cv2.distanceTransform(hole, cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
        new = dist > -pixels + 1e-3
        inner = box.relative_to(outer)
        new = new[inner.slices]
        patch = patch[inner.slices]
    old_hole = patch != 0
    changed = new != old_hole
    if not changed.any():
        return EMPTY
    patch[changed] = np.where(new[changed], 255, 0).astype(np.uint8)
    return mask_bbox(changed).translate(box.x0, box.y0)


def grow_step(width: int, height: int) -> int:
    """How far one Grow/Shrink moves the mask's edge: visible at fit zoom, about 2 screen pixels.

    A 12 MP photo shown fit to a 1,500-pixel-wide canvas is drawn at roughly 1/3 scale, a 50 MP one
    at 1/6; a step of 1/500 of the long side stays about the same on screen (4 px at least).
    """
    return max(4, round(max(int(width), int(height)) / 500))
