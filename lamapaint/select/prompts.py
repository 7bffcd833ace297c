"""What a selection is asked with, checked before any engine runs: torch-free, one clear error each.

Points are x, y pixels of the upright photo with labels 1 (part of the object) or 0 (not part of
it); a box is x0, y0, x1, y1 pixels. The CLI, the Python API and both engines (SAM, classical)
take prompts in this form.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from lamapaint.select.errors import SelectError

#: Selecting needs a photo at least this many pixels on each side (as the SAM predictor does).
MIN_SIDE = 16


class SmallPhotoError(SelectError):
    """The photo is too small to select in (the CLI's bad-input exit code, not a usage error)."""


@dataclass(frozen=True)
class Prompts:
    points: tuple[tuple[float, float], ...] = ()
    labels: tuple[int, ...] = ()
    box: tuple[float, float, float, float] | None = None

    @property
    def point_array(self) -> np.ndarray | None:
        return np.asarray(self.points, np.float64).reshape(-1, 2) if self.points else None

    @property
    def label_array(self) -> np.ndarray | None:
        return np.asarray(self.labels, np.int64) if self.points else None

    @property
    def box_array(self) -> np.ndarray | None:
        return np.asarray(self.box, np.float64) if self.box is not None else None


def check_photo_size(height: int, width: int) -> None:
    if min(height, width) < MIN_SIDE:
        raise SmallPhotoError(f"the photo is {width}x{height} pixels; selecting needs at least {MIN_SIDE} on each side")


def check_prompts(points: Any, labels: Any, box: Any, size: tuple[int, int]) -> Prompts:
    """The prompts for an (H, W) photo, or a :class:`SelectError` saying what is wrong with them.

    ``labels`` None means every point is on the object.
    """
    height, width = size
    check_photo_size(height, width)
    coords = np.zeros((0, 2)) if points is None else finite_numbers(points, "points")
    if coords.size == 0:
        coords = np.zeros((0, 2))
    elif coords.shape == (2,):
        coords = coords[None]
    elif coords.ndim != 2 or coords.shape[1] != 2:
        raise SelectError(f"points must be x, y pairs, got an array of shape {coords.shape}")
    if labels is None:
        label_list = [1] * len(coords)
    else:
        label_list = [int(v) for v in finite_numbers(labels, "labels").reshape(-1)]
        if len(label_list) != len(coords):
            raise SelectError(f"labels must have one entry per point ({len(coords)}), got {len(label_list)}")
        if any(v not in (0, 1) for v in label_list):
            raise SelectError("labels must be 1 (part of the object) or 0 (not part of it)")
    for x, y in coords:
        if not (0 <= x < width and 0 <= y < height):
            raise SelectError(f"point ({x:g}, {y:g}) is outside the {width}x{height} photo")
    box_tuple = None
    if box is not None:
        values = finite_numbers(box, "box").reshape(-1)
        if values.shape != (4,):
            raise SelectError(f"a box is four numbers x0, y0, x1, y1, got {values.size}")
        x0, y0, x1, y1 = (float(v) for v in values)
        if x1 <= x0 or y1 <= y0:
            raise SelectError(f"box ({x0:g}, {y0:g}, {x1:g}, {y1:g}) is empty or inverted: it needs x0 < x1 and y0 < y1")
        if x0 < 0 or y0 < 0 or x1 > width or y1 > height:
            raise SelectError(f"box ({x0:g}, {y0:g}, {x1:g}, {y1:g}) reaches outside the {width}x{height} photo")
        box_tuple = (x0, y0, x1, y1)
    if not len(coords) and box_tuple is None:
        raise SelectError("nothing to select: give a point on the object or a box around it")
    return Prompts(tuple((float(x), float(y)) for x, y in coords), tuple(label_list), box_tuple)


def finite_numbers(value: Sequence[Any] | np.ndarray | object, name: str) -> np.ndarray:
    """``value`` as float64 numbers, all finite; SelectError naming ``name`` otherwise."""
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise SelectError(f"{name} must be numbers, got {type(value).__name__}") from None
    if not np.isfinite(array).all():
        raise SelectError(f"{name} must be finite numbers")
    return array
