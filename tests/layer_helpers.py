"""Test-only ways to make result layers: a full-size fill cropped to its mask, as old code did."""

from __future__ import annotations

from typing import Any

import numpy as np

from lamapaint.core.geometry import mask_bbox
from lamapaint.core.layers import Layer


def layer_from_result(name: str, result_rgb: np.ndarray, mask: np.ndarray, info: dict[str, Any] | None = None, pad: int = 0) -> Layer | None:
    """``result_rgb`` (a full-size fill) cropped to ``mask``'s box padded by ``pad``; coverage 255
    on the hole; None for an empty mask. The editor itself builds layers from the hole's box."""
    if result_rgb.shape[:2] != mask.shape:
        raise ValueError(f"result {result_rgb.shape[:2]} and mask {mask.shape} differ in size")
    box = mask_bbox(mask)
    if box.is_empty:
        return None
    box = box.pad(pad).clip(mask.shape[1], mask.shape[0])
    coverage = np.where(mask[box.slices] != 0, np.uint8(255), np.uint8(0))
    return Layer.create(name, box, result_rgb[box.slices].copy(), coverage, coverage, info)
