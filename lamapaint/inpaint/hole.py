"""A hole mask read once: where the hole is and which of its pixels are holes.

A removal used to find the hole's bounding box four times and compare the mask with zero five
times on its way from the editor to the layer. A :class:`HoleMask` is made once, by whoever owns
the mask (the editor on the GUI thread, the CLI, the Python API), and the planner, the pipeline
and the layer all read it. It keeps only the bounding box's pixels: a small object on a 50 MP
photo costs its box, not the photo. Torch-free, so the editor builds it before torch loads.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lamapaint.core.geometry import Rect, mask_bbox


@dataclass(frozen=True, eq=False)
class HoleMask:
    """The hole of an ``height`` x ``width`` photo: ``box`` and its bool ``pixels`` (read-only)."""

    height: int
    width: int
    box: Rect  # bounding box of the hole pixels, photo coordinates; empty when there is no hole
    pixels: np.ndarray  # bool (box.height, box.width): True = hole

    def __post_init__(self) -> None:
        if self.pixels.dtype != np.bool_ or self.pixels.shape != (self.box.height, self.box.width):
            raise ValueError(f"hole pixels must be bool {(self.box.height, self.box.width)}, got {self.pixels.dtype} {self.pixels.shape}")
        if not self.box.is_empty and not Rect.of_image(self.height, self.width).contains(self.box):
            raise ValueError(f"hole box {self.box} is outside the {self.width}x{self.height} photo")
        self.pixels.flags.writeable = False

    @classmethod
    def from_mask(cls, mask: np.ndarray) -> "HoleMask":
        """Any non-zero value of a 2-D mask is a hole: one pass for the box, one compare inside it."""
        if mask.ndim != 2:
            raise ValueError(f"expected an (H, W) mask, got shape {mask.shape}")
        box = mask_bbox(mask)
        return cls.from_box(mask.shape[0], mask.shape[1], box, mask[box.slices])

    @classmethod
    def from_box(cls, height: int, width: int, box: Rect, crop: np.ndarray) -> "HoleMask":
        """The hole from ``crop`` = the mask inside ``box`` (copied: the mask may change afterwards)."""
        return cls(height, width, box, np.not_equal(crop, 0))

    @property
    def is_empty(self) -> bool:
        return self.box.is_empty

    @property
    def shape(self) -> tuple[int, int]:
        return self.height, self.width

    def within(self, rect: Rect) -> np.ndarray:
        """The hole inside ``rect`` as bool (rect.height, rect.width): a view when ``rect`` lies in the box."""
        if self.box.contains(rect):
            return self.pixels[rect.relative_to(self.box).slices]
        out = np.zeros((rect.height, rect.width), np.bool_)
        inter = rect.intersect(self.box)
        if not inter.is_empty:
            out[inter.relative_to(rect).slices] = self.pixels[inter.relative_to(self.box).slices]
        return out

    def as_u8(self) -> np.ndarray:
        """The box's hole as 0/255 uint8 (a layer's coverage)."""
        return self.pixels.view(np.uint8) * np.uint8(255)
