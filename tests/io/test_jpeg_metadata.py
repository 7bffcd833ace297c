"""The EXIF an exported JPEG carries: the thumbnail goes, the photo's own EXIF stays (issue 17.10)."""

from __future__ import annotations

import io
import struct
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from lamapaint.io import jpeg_blocks, jpeg_metadata
from lamapaint.io.export import ExportOptions, export_image
from lamapaint.io.images import load_image

MAKE = b"CameraMaker\0"
TAKEN = b"2024:05:06 07:08:09\0"
THUMB = b"\xff\xd8" + b"OLD-PICTURE" * 8 + b"\xff\xd9"


def crafted_exif(thumb_over: str) -> bytes:
    """IFD0 (Make, a pointer to the Exif IFD) -> IFD1, whose thumbnail pointer claims the Make
    (``"make"``), or the Exif IFD's date and the real thumbnail after it (``"date+thumb"``)."""
    ifd0, ifd0_size = 8, 2 + 2 * 12 + 4
    make_at = ifd0 + ifd0_size
    exif_ifd = make_at + len(MAKE)
    exif_ifd_size = 2 + 12 + 4
    taken_at = exif_ifd + exif_ifd_size
    ifd1 = taken_at + len(TAKEN)
    thumb_at = ifd1 + 2 + 2 * 12 + 4
    if thumb_over == "make":
        start, length = make_at, len(MAKE)
    else:
        start, length = taken_at, thumb_at + len(THUMB) - taken_at  # the date, IFD1 and the thumbnail
    out = b"II*\0" + struct.pack("<I", ifd0)
    out += struct.pack("<H", 2)
    out += struct.pack("<HHII", 0x010F, 2, len(MAKE), make_at)
    out += struct.pack("<HHII", 0x8769, 4, 1, exif_ifd)
    out += struct.pack("<I", ifd1) + MAKE
    out += struct.pack("<H", 1) + struct.pack("<HHII", 0x9003, 2, len(TAKEN), taken_at) + struct.pack("<I", 0) + TAKEN
    out += struct.pack("<H", 2)
    out += struct.pack("<HHII", 0x0201, 4, 1, start)
    out += struct.pack("<HHII", 0x0202, 4, 1, length)
    out += struct.pack("<I", 0) + (THUMB if thumb_over != "make" else b"")
    return b"Exif\0\0" + out


def _parsed(payload: bytes) -> Image.Exif:
    exif = Image.Exif()
    exif.load(payload)
    return exif


@pytest.mark.parametrize("thumb_over", ["make", "date+thumb"])
def test_a_thumbnail_pointer_into_ifd0_erases_nothing_of_it(thumb_over: str) -> None:
    seg = jpeg_blocks.make_segment(0xE1, crafted_exif(thumb_over))
    assert _parsed(seg.payload)[0x010F] == "CameraMaker"  # the crafted block is valid EXIF
    notes: list[str] = []
    out = jpeg_metadata._exif_without_thumbnail(seg, notes)
    exif = _parsed(out.payload)
    assert exif[0x010F] == "CameraMaker"
    assert exif.get_ifd(0x8769)[0x9003] == TAKEN[:-1].decode()
    assert THUMB not in out.raw and b"OLD-PICTURE" not in out.raw
    assert "EXIF thumbnail" in " ".join(notes)


def test_export_keeps_the_make_a_crafted_thumbnail_pointer_claims(tmp_path: Path) -> None:
    rng = np.random.default_rng(7)
    buf = io.BytesIO()
    Image.fromarray(rng.integers(0, 256, (64, 96, 3), dtype=np.uint8)).save(buf, "JPEG", quality=90)
    data = buf.getvalue()
    app1 = crafted_exif("make")
    photo = tmp_path / "camera.jpg"
    photo.write_bytes(data[:2] + b"\xff\xe1" + struct.pack(">H", len(app1) + 2) + app1 + data[2:])
    source = load_image(photo)
    rgb = source.rgb.copy()
    rgb[8:24, 8:24] = 0
    touched = np.zeros(rgb.shape[:2], bool)
    touched[8:24, 8:24] = True
    out = tmp_path / "cleaned.jpg"
    export_image(out, rgb, source, ExportOptions(), touched=touched)
    with Image.open(out) as im:
        assert im.getexif()[0x010F] == "CameraMaker"
