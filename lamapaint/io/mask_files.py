"""Masks as files: read one for a photo of a known size, write one as a PNG (white = remove).

Reading is ``images.load_mask`` (the CLI's reader: bounded, any image format, grey, colour or
alpha) plus the size check, worded for the person; writing is an 8-bit grey PNG, 0 = keep,
255 = remove, written atomically and never over a file nobody agreed to replace.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
from PIL import Image

from lamapaint.io.atomic import atomic_write_bytes
from lamapaint.io.images import ImageLoadError, load_mask


def read_mask_for(path: str | os.PathLike[str], width: int, height: int) -> np.ndarray:
    """The mask in ``path`` as uint8 0/255, checked to be ``width`` x ``height`` (the upright photo).

    Raises ImageLoadError with one line that says what is wrong.
    """
    p = Path(path)
    mask = load_mask(p)
    h, w = mask.shape
    if (w, h) != (width, height):
        hint = "; it looks turned by 90°: masks are drawn on the upright photo" if (h, w) == (width, height) else ""
        raise ImageLoadError(
            f"The mask {p.name} is {w} × {h} pixels but the photo is {width} × {height}; they must be the same size{hint}"
        )
    return mask


def encode_mask_png(mask: np.ndarray) -> bytes:
    """An 8-bit grey PNG of ``mask``: white (255) where it is non-zero, black elsewhere."""
    grey = np.where(mask != 0, np.uint8(255), np.uint8(0))
    buf = io.BytesIO()
    Image.fromarray(grey, "L").save(buf, "PNG")
    return buf.getvalue()


def write_mask(path: str | os.PathLike[str], mask: np.ndarray, overwrite: bool = False) -> None:
    """Write ``mask`` as a PNG at ``path`` atomically; an existing file is only replaced with
    ``overwrite`` (``atomic.DestinationExistsError`` otherwise, checked again at the rename)."""
    atomic_write_bytes(path, encode_mask_png(mask), overwrite=overwrite)
