"""The Select tool's candidate as the canvas draws it: a tint and an outline, from the preview or at screen pixels.

SAM answers at its preview size (the longer side 1024). While the view shows the candidate at no
more screen pixels than the preview has, the preview's tint is drawn scaled. Zoomed in further (on
a 24 MP photo, beyond about 17 %) one preview pixel would cover a block of screen pixels, so the
visible part is drawn at screen pixels instead: each screen pixel shows the photo pixel under its
centre as the full-size mask will have it. That is the preview logits sampled bilinearly at the
photo pixel's centre with the full-size mask's own mapping (preview coordinate = (photo coordinate
+ 0.5) * preview size / region size - 0.5, the edge replicated), then > 0; the outline stays one
screen pixel wide. The classical select answers with a full-size mask, read at the same photo pixels.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import cv2
import numpy as np
from PySide6.QtGui import QColor, QImage

from lamapaint.core.geometry import Rect, mask_bbox

if TYPE_CHECKING:
    from lamapaint.qt.selection import Candidate

TINT = QColor(0, 200, 255, 90)
OUTLINE = QColor(0, 230, 255)
OUTER_EDGE = QColor(0, 0, 0, 170)
#: Label -> colour: outside, the dark line just outside the edge, inside, the edge.
COLOURS = [QColor(0, 0, 0, 0).rgba(), OUTER_EDGE.rgba(), TINT.rgba(), OUTLINE.rgba()]
_KERNEL = np.ones((3, 3), np.uint8)


def edge_labels(mask: np.ndarray) -> np.ndarray:
    """0 outside, 1 the pixels just outside the edge, 2 inside, 3 the inside's edge pixels.

    The frame of the array is no edge (the erosion replicates it): the view's border or the
    embedded area's border does not draw an outline."""
    inside = np.ascontiguousarray(mask).view(np.uint8)
    eroded = cv2.erode(inside, _KERNEL, borderType=cv2.BORDER_REPLICATE)
    dilated = cv2.dilate(inside, _KERNEL)
    return dilated + 2 * inside - eroded  # eroded <= inside <= dilated: no wrap-around


def tint_image(mask: np.ndarray) -> QImage:
    """The mask as a half-transparent cyan inside, its edge an opaque cyan line with a dark line
    just outside (seen on light and dark photos alike). One image, not a vector path: a busy mask
    has tens of thousands of contour points, which take longer to build and draw than the decoder
    takes to answer. A palette image: one byte a pixel to make, converted once by Qt."""
    labels = edge_labels(mask)
    h, w = labels.shape
    image = QImage(labels.data, w, h, w, QImage.Format.Format_Indexed8)
    image.setColorTable(COLOURS)
    return image.convertToFormat(QImage.Format.Format_ARGB32_Premultiplied)  # owns its pixels


@dataclass(frozen=True)
class ScreenGrid:
    """The view's mapping of photo pixels to device pixels: ``device x = origin_x + photo x * scale``,
    and the viewport's size in device pixels."""

    scale: float
    origin_x: float
    origin_y: float
    width: int
    height: int


def shows_finer_than_preview(candidate: "Candidate", grid: ScreenGrid) -> bool:
    """True when the screen has more pixels across the candidate than its preview has."""
    preview = candidate.previews if candidate.logits is None else candidate.logits
    return grid.scale * candidate.region.width > preview.shape[2]


def candidate_box(candidate: "Candidate", index: int) -> Rect:
    """Photo pixels outside this box are certainly not in the candidate; EMPTY when it is empty.
    SAM: the box of the positive logits, a preview pixel wider (a bilinear sample is positive only
    next to a positive preview pixel). Classical: its full-size mask's box."""
    region = candidate.region
    if candidate.logits is None:
        return mask_bbox(candidate.sources[index]).translate(region.x0, region.y0)
    logits = candidate.logits[index]
    box = mask_bbox(logits > 0)
    if box.is_empty:
        return box
    ph, pw = logits.shape
    sx, sy = region.width / pw, region.height / ph
    grown = Rect(math.floor((box.x0 - 1) * sx) - 1, math.floor((box.y0 - 1) * sy) - 1, math.ceil((box.x1 + 1) * sx) + 1, math.ceil((box.y1 + 1) * sy) + 1)
    return grown.translate(region.x0, region.y0).intersect(region)


def _span(lo: int, hi: int, origin: float, scale: float, limit: int) -> tuple[int, int]:
    """Device pixels whose centres fall on photo pixels ``lo <= k < hi``, within ``0..limit``."""
    return max(0, math.ceil(origin + lo * scale - 0.5)), min(limit, math.ceil(origin + hi * scale - 0.5))


def _photo_pixels(first: int, last: int, origin: float, scale: float, lo: int, hi: int) -> tuple[np.ndarray, np.ndarray]:
    """For device pixels ``first..last-1``: the distinct photo pixels under their centres, and
    which of those each device pixel shows."""
    k = np.floor((np.arange(first, last) + 0.5 - origin) / scale).astype(np.int64)
    np.clip(k, lo, hi - 1, out=k)
    new = np.empty(k.shape, bool)
    new[:1] = True
    np.not_equal(k[1:], k[:-1], out=new[1:])
    return k[new], np.cumsum(new) - 1


def screen_mask(candidate: "Candidate", index: int, grid: ScreenGrid, box: Rect) -> tuple[int, int, np.ndarray] | None:
    """The candidate at device pixels where the view shows it: (x, y, bool mask), the mask's
    top-left corner in device pixels; None when nothing of it is in view. ``box`` is
    ``candidate_box``'s. The work is one sample per photo pixel in view (at most one per device
    pixel), then a copy out to device pixels."""
    region = candidate.region
    if box.is_empty:
        return None
    margin = 2  # device pixels around the box: room for the dark line outside the edge
    x0, x1 = _span(box.x0, box.x1, grid.origin_x, grid.scale, grid.width)
    y0, y1 = _span(box.y0, box.y1, grid.origin_y, grid.scale, grid.height)
    rx0, rx1 = _span(region.x0, region.x1, grid.origin_x, grid.scale, grid.width)
    ry0, ry1 = _span(region.y0, region.y1, grid.origin_y, grid.scale, grid.height)
    x0, x1, y0, y1 = max(rx0, x0 - margin), min(rx1, x1 + margin), max(ry0, y0 - margin), min(ry1, y1 + margin)
    if x1 <= x0 or y1 <= y0:
        return None
    kx, ix = _photo_pixels(x0, x1, grid.origin_x, grid.scale, region.x0, region.x1)
    ky, iy = _photo_pixels(y0, y1, grid.origin_y, grid.scale, region.y0, region.y1)
    kx, ky = kx - region.x0, ky - region.y0
    if candidate.logits is None:  # classical: the full-size mask itself
        photo = candidate.sources[index][np.ix_(ky, kx)]
    else:
        logits = candidate.logits[index]
        ph, pw = logits.shape
        u = ((kx + 0.5) * (pw / region.width) - 0.5).astype(np.float32)
        v = ((ky + 0.5) * (ph / region.height) - 0.5).astype(np.float32)
        map_x = np.empty((len(v), len(u)), np.float32)
        map_y = np.empty_like(map_x)
        map_x[:] = u
        map_y[:] = v[:, None]
        photo = cv2.remap(logits, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE) > 0
    if len(kx) < x1 - x0:  # several device pixels per photo pixel across
        photo = photo[:, ix]
    if len(ky) < y1 - y0:
        photo = photo[iy]
    return x0, y0, np.ascontiguousarray(photo)


class ScreenImage:
    """The last screen-pixel image of a candidate, kept while the candidate, its index and the
    view's mapping stay: a repaint that changes none of them (the pointer, the busy cue) draws it again."""

    def __init__(self) -> None:
        self._candidate: Candidate | None = None
        self._index = -1
        self._box = Rect(0, 0, 0, 0)
        self._grid: ScreenGrid | None = None
        self._drawn: tuple[int, int, QImage] | None = None

    def get(self, candidate: "Candidate", index: int, grid: ScreenGrid) -> tuple[int, int, QImage] | None:
        """(x, y, image) in device pixels, or None when nothing of the candidate is in view."""
        if candidate is not self._candidate or index != self._index:
            self._candidate, self._index, self._box, self._grid = candidate, index, candidate_box(candidate, index), None
        if grid != self._grid:
            found = screen_mask(candidate, index, grid, self._box)
            self._drawn = None if found is None else (found[0], found[1], tint_image(found[2]))
            self._grid = grid
        return self._drawn

    def clear(self) -> None:
        """Forget the candidate (dropped or replaced): its arrays are not kept alive here."""
        self._candidate, self._index, self._grid, self._drawn = None, -1, None, None
