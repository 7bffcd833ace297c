"""A layer's RGBA image is made with one copy of its pixels, into the image's own buffer."""

from __future__ import annotations

import tracemalloc

import numpy as np
from PySide6.QtGui import QColor

from lamapaint.qt.canvas.images import rgba_image


def test_rgba_image_copies_the_patch_once_and_owns_it(qapp) -> None:  # noqa: ANN001
    rng = np.random.default_rng(1)
    h, w = 301, 403  # odd sizes: rows are not a multiple of anything convenient
    rgb = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    alpha = rng.integers(0, 256, (h, w), dtype=np.uint8)
    tracemalloc.start()
    try:
        img = rgba_image(rgb, alpha)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < h * w  # no RGBA-sized numpy buffer on the way (the old one was h * w * 4 bytes)
    for y, x in ((0, 0), (h - 1, w - 1), (150, 200), (7, 399)):
        assert QColor(img.pixelColor(x, y)).getRgb() == (*rgb[y, x].tolist(), int(alpha[y, x]))
    kept = img.pixelColor(200, 150).getRgb()
    rgb[:] = 0
    alpha[:] = 0
    assert img.pixelColor(200, 150).getRgb() == kept  # the image owns its pixels
