"""Colour management for what the editor draws: a photo's own numbers to sRGB for the screen.

A photo's pixels keep their numbers and profile everywhere else (the document, projects, every
export); only the canvas shows them converted, so an Adobe RGB red (255, 0, 0) looks as red as it
is instead of the duller sRGB (218, 0, 0) its raw numbers would make. LittleCMS (Pillow's
``ImageCms``) does the conversion, so any RGB profile works, matrix-shaper or LUT-based.

``display_transform`` returns None where drawing the raw numbers is already right (no profile, an
sRGB profile, a profile that cannot be read): those photos are drawn exactly as before, at no cost.
"""

from __future__ import annotations

import io
import logging

import numpy as np
from PIL import Image, ImageCms

log = logging.getLogger(__name__)

#: Largest per-channel difference from the raw numbers (on a grid of test colours) for which a
#: profile counts as sRGB: LittleCMS's own sRGB-to-sRGB round trip is off by one level here and there.
SRGB_TOLERANCE = 1
_PROBE_LEVELS = np.linspace(0, 255, 9).round().astype(np.uint8)


class DisplayTransform:
    """Converts RGB8 pixels from one photo's ICC profile to sRGB (relative colorimetric)."""

    def __init__(self, icc: bytes) -> None:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        self.description = (ImageCms.getProfileDescription(source) or "").strip()
        self._transform = ImageCms.buildTransform(
            source,
            ImageCms.createProfile("sRGB"),
            "RGB",
            "RGB",
            renderingIntent=ImageCms.Intent.RELATIVE_COLORIMETRIC,
            flags=ImageCms.Flags.BLACKPOINTCOMPENSATION,
        )

    def apply(self, rgb: np.ndarray) -> np.ndarray:
        """A new (H, W, 3) uint8 array of ``rgb``'s colours in sRGB (LittleCMS releases the GIL)."""
        if rgb.size == 0:
            return np.array(rgb, np.uint8)
        out = ImageCms.applyTransform(Image.fromarray(np.ascontiguousarray(rgb), "RGB"), self._transform)
        assert out is not None  # only None when converting in place
        return np.asarray(out)


def display_transform(icc: bytes | None) -> DisplayTransform | None:
    """The conversion to show a photo with profile ``icc``; None when its raw numbers are sRGB."""
    if not icc:
        return None
    try:
        transform = DisplayTransform(icc)
        probe = _probe_colours()
        drift = int(np.abs(transform.apply(probe).astype(np.int16) - probe).max())
    except Exception as exc:  # noqa: BLE001 - LittleCMS raises several types on damaged profiles
        log.warning("The photo's colour profile cannot be read (%s); it is shown without colour management", exc)
        return None
    if drift <= SRGB_TOLERANCE:
        return None
    log.info("Showing the photo converted from its profile %r to sRGB", transform.description)
    return transform


def _probe_colours() -> np.ndarray:
    """Every combination of 9 levels per channel, as a (1, 729, 3) image."""
    r, g, b = np.meshgrid(_PROBE_LEVELS, _PROBE_LEVELS, _PROBE_LEVELS, indexing="ij")
    return np.stack([r.ravel(), g.ravel(), b.ravel()], axis=-1)[None]
