"""Photo metadata the I/O tests embed and expect back: an sRGB ICC profile and a small EXIF block."""

from __future__ import annotations

import functools

from PIL import Image, ImageCms


@functools.cache  # the profile carries a creation time: build it once
def srgb_icc() -> bytes:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def exif_with_orientation(orientation: int = 1) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif[0x010F] = "TestCam"
    return exif.tobytes()
