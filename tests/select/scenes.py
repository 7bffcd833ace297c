"""Synthetic photos with a known object: a flat-ish coloured ellipse on a textured background."""

from __future__ import annotations

import numpy as np


def textured_background(height: int, width: int, seed: int = 0) -> np.ndarray:
    """Grey-green stripes and noise: busy enough that a colour threshold alone would not cut it out."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    base = 110 + 25 * np.sin(xx / 7.0) * np.cos(yy / 11.0) + 15 * np.sin((xx + yy) / 23.0)
    rgb = np.stack([base * 0.9, base * 1.05, base * 0.85], axis=2) + rng.normal(0, 8, (height, width, 3))
    return np.clip(rgb, 0, 255).astype(np.uint8)


def ellipse_scene(height: int = 240, width: int = 320, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(photo, the object's mask): a red ellipse with light noise on :func:`textured_background`."""
    rgb = textured_background(height, width, seed)
    yy, xx = np.mgrid[0:height, 0:width]
    cy, cx, ry, rx = height * 0.5, width * 0.45, height * 0.25, width * 0.2
    inside = ((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 <= 1.0
    rng = np.random.default_rng(seed + 1)
    red = np.clip(np.array([200, 40, 50]) + rng.normal(0, 6, (height, width, 3)), 0, 255).astype(np.uint8)
    rgb[inside] = red[inside]
    return rgb, inside


def object_box(mask: np.ndarray, pad: int) -> tuple[int, int, int, int]:
    ys, xs = np.nonzero(mask)
    return int(xs.min()) - pad, int(ys.min()) - pad, int(xs.max()) + 1 + pad, int(ys.max()) + 1 + pad


def iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / max(1, (a | b).sum()))
