"""numpy <-> QImage helpers shared by the canvas items.

QImages here wrap numpy buffers without copying where the buffer outlives the image (the
read-only original, the mask); the caller keeps the array alive next to the QImage.
"""

from __future__ import annotations

import cv2
import numpy as np
from PySide6.QtGui import QImage, qRgba

#: Colour of the mask overlay: a translucent red that reads on most photos.
MASK_RGBA = (255, 40, 90, 130)


def wrap_rgb(rgb: np.ndarray) -> QImage:
    """A QImage over a C-contiguous (H, W, 3) uint8 array; no copy, keep ``rgb`` alive."""
    h, w, _ = rgb.shape
    return QImage(rgb.data, w, h, rgb.strides[0], QImage.Format.Format_RGB888)


def rgba_image(rgb: np.ndarray, alpha: np.ndarray) -> QImage:
    """An owned RGBA QImage from a small patch and its coverage (layers): the pixels are copied
    once, straight into the image's own buffer."""
    h, w, _ = rgb.shape
    img = QImage(w, h, QImage.Format.Format_RGBA8888)
    buf = np.frombuffer(img.bits(), np.uint8).reshape(h, img.bytesPerLine())[:, : w * 4].reshape(h, w, 4)
    buf[..., :3] = rgb
    buf[..., 3] = alpha
    return img


def wrap_mask(mask: np.ndarray) -> QImage:
    """An indexed QImage over a (H, W) uint8 mask: 0 transparent, anything else the overlay colour."""
    h, w = mask.shape
    img = QImage(mask.data, w, h, mask.strides[0], QImage.Format.Format_Indexed8)
    on = qRgba(*MASK_RGBA)
    img.setColorTable([0] + [on] * 255)
    return img


def preview_factor(width: int, height: int, max_pixels: int = 4_000_000) -> int:
    """Integer subsampling factor that brings a big image under ``max_pixels`` (1 = no preview)."""
    factor = 1
    while (width // factor) * (height // factor) > max_pixels:
        factor *= 2
    return factor


def downsample(rgb_or_mask: np.ndarray, factor: int) -> np.ndarray:
    """Box-filtered (area) downscale by an integer factor; the edge remainder is dropped."""
    h = rgb_or_mask.shape[0] // factor
    w = rgb_or_mask.shape[1] // factor
    a = rgb_or_mask[: h * factor, : w * factor]
    # INTER_AREA averages whole factor x factor blocks; channel order does not matter to it.
    return np.ascontiguousarray(cv2.resize(a, (w, h), interpolation=cv2.INTER_AREA))
