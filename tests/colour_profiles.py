"""Wide-gamut ICC profiles built in the test itself (no system files), and photos encoded in them.

``wide_gamut_icc()`` is a version 2 matrix-shaper display profile with the Adobe RGB (1998)
primaries (their published D50-adapted colorants) and its 563/256 gamma: what a camera or a raw
developer embeds in an "Adobe RGB" photo, as LittleCMS reads it.
"""

from __future__ import annotations

import functools
import io
import struct

import numpy as np
from PIL import Image, ImageCms

D50 = (0.9642, 1.0, 0.8249)
ADOBE_RGB_COLORANTS = ((0.60974, 0.31111, 0.01947), (0.20528, 0.62567, 0.06087), (0.14919, 0.06322, 0.74457))
ADOBE_RGB_GAMMA = 563 / 256


def _s15f16(v: float) -> bytes:
    return struct.pack(">i", round(v * 65536))


def _xyz(xyz: tuple[float, float, float]) -> bytes:
    return b"XYZ \0\0\0\0" + b"".join(_s15f16(v) for v in xyz)


def _curve(gamma: float) -> bytes:
    return b"curv\0\0\0\0" + struct.pack(">IH", 1, round(gamma * 256)) + b"\0\0"


def _desc(text: str) -> bytes:
    ascii_text = text.encode("ascii") + b"\0"
    return b"desc\0\0\0\0" + struct.pack(">I", len(ascii_text)) + ascii_text + struct.pack(">II", 0, 0) + b"\0\0\0" + b"\0" * 67


def matrix_shaper_icc(name: str, colorants: tuple[tuple[float, float, float], ...], gamma: float) -> bytes:
    """An ICC v2 RGB display profile: three colorants (D50 XYZ) and one gamma for every channel."""
    curve = _curve(gamma)
    return _profile([
        (b"desc", _desc(name)),
        (b"cprt", b"text\0\0\0\0" + b"No copyright, made by a test\0"),
        (b"wtpt", _xyz(D50)),
        (b"rXYZ", _xyz(colorants[0])),
        (b"gXYZ", _xyz(colorants[1])),
        (b"bXYZ", _xyz(colorants[2])),
        (b"rTRC", curve),
        (b"gTRC", curve),
        (b"bTRC", curve),
    ])


def lut_icc(name: str, colorants: tuple[tuple[float, float, float], ...], gamma: float, grid: int = 9) -> bytes:
    """The same colours as ``matrix_shaper_icc`` described the other way, by a table (``A2B0``,
    lut16Type): the gamma in the input curves, the colorants as a ``grid``-point colour lookup
    table into PCS XYZ (linear, so the table's own interpolation is exact)."""
    entries = 256
    curve = np.round((np.linspace(0, 1, entries) ** gamma) * 65535).astype(">u2")
    levels = np.linspace(0, 1, grid)
    r, g, b = np.meshgrid(levels, levels, levels, indexing="ij")  # first input channel varies slowest
    xyz = np.stack([r.ravel(), g.ravel(), b.ravel()], -1) @ np.array(colorants)
    clut = np.clip(np.round(xyz * 32768), 0, 65535).astype(">u2")  # PCS XYZ in lut16: 1.0 = 0x8000
    identity = b"".join(_s15f16(v) for v in (1, 0, 0, 0, 1, 0, 0, 0, 1))
    lut = (
        b"mft2\0\0\0\0" + struct.pack(">BBBB", 3, 3, grid, 0) + identity + struct.pack(">HH", entries, 2)
        + np.tile(curve, 3).tobytes() + clut.tobytes() + np.array([0, 65535] * 3, ">u2").tobytes()
    )
    return _profile([
        (b"desc", _desc(name)),
        (b"cprt", b"text\0\0\0\0" + b"No copyright, made by a test\0"),
        (b"wtpt", _xyz(D50)),
        (b"A2B0", lut),
    ])


def _profile(tags: list[tuple[bytes, bytes]]) -> bytes:
    offset = 128 + 4 + 12 * len(tags)
    table = struct.pack(">I", len(tags))
    body = b""
    for sig, data in tags:
        data += b"\0" * (-len(data) % 4)
        table += sig + struct.pack(">II", offset + len(body), len(data))
        body += data
    size = offset + len(body)
    header = (
        struct.pack(">I", size) + b"lcms" + struct.pack(">I", 0x02100000) + b"mntrRGB XYZ "
        + struct.pack(">6H", 2026, 1, 1, 0, 0, 0) + b"acsp" + b"\0" * 24 + struct.pack(">I", 0)
        + b"".join(_s15f16(v) for v in D50) + b"\0" * 48
    )
    assert len(header) == 128
    return header + table + body


@functools.cache
def wide_gamut_icc() -> bytes:
    return matrix_shaper_icc("Wide gamut test (Adobe RGB primaries)", ADOBE_RGB_COLORANTS, ADOBE_RGB_GAMMA)


def srgb_to_profile(rgb: np.ndarray, icc: bytes) -> np.ndarray:
    """sRGB colours as numbers in the profile ``icc`` (what a raw developer would write)."""
    transform = ImageCms.buildTransform(
        ImageCms.createProfile("sRGB"), ImageCms.ImageCmsProfile(io.BytesIO(icc)), "RGB", "RGB",
        renderingIntent=ImageCms.Intent.RELATIVE_COLORIMETRIC,
    )
    out = ImageCms.applyTransform(Image.fromarray(rgb, "RGB"), transform)
    assert out is not None
    return np.asarray(out)
