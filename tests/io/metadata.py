"""Photo metadata the I/O tests embed and expect back: an sRGB ICC profile and a small EXIF block."""

from __future__ import annotations

import functools
import struct

from PIL import Image, ImageCms


@functools.cache  # the profile carries a creation time: build it once
def srgb_icc() -> bytes:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def exif_with_orientation(orientation: int = 1) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif[0x010F] = "TestCam"
    return exif.tobytes()


XMP_PACKET = (
    b"<x:xmpmeta xmlns:x='adobe:ns:meta/'><rdf:RDF xmlns:rdf='http://www.w3.org/1999/02/22-rdf-syntax-ns#'>"
    b"<rdf:Description xmlns:dc='http://purl.org/dc/elements/1.1/' dc:creator='Test Person'/></rdf:RDF></x:xmpmeta>"
)


def segment(marker: int, payload: bytes) -> bytes:
    """One JPEG marker segment, built by hand (FF xx, big-endian length including itself)."""
    return bytes([0xFF, marker]) + struct.pack(">H", len(payload) + 2) + payload


def insert_after_soi(jpeg: bytes, *segments: bytes) -> bytes:
    return jpeg[:2] + b"".join(segments) + jpeg[2:]


def adobe_app14(transform: int = 1) -> bytes:
    return segment(0xEE, b"Adobe" + struct.pack(">HHHB", 100, 0, 0, transform))


def photoshop_app13(with_thumbnail: bool = False) -> bytes:
    """Photoshop IRB with an IPTC record (a caption), optionally a 0x040C thumbnail resource."""
    iptc = b"\x1c\x02\x78" + struct.pack(">H", 12) + b"Test caption"
    blocks = [b"8BIM" + struct.pack(">H", 0x0404) + b"\0\0" + struct.pack(">I", len(iptc)) + iptc + b"\0" * (len(iptc) & 1)]
    if with_thumbnail:
        thumb = b"THUMBNAIL-OF-THE-UNEDITED-PHOTO"
        blocks.append(b"8BIM" + struct.pack(">H", 0x040C) + b"\0\0" + struct.pack(">I", len(thumb)) + thumb + b"\0")
    return segment(0xED, b"Photoshop 3.0\0" + b"".join(blocks))


def exif_with_thumbnail(thumbnail: bytes, orientation: int = 1) -> bytes:
    """A little-endian EXIF block: IFD0 (orientation, Make) -> IFD1 with a JPEG thumbnail at the end."""
    make = b"TestCam\0"
    ifd0 = 8
    ifd0_size = 2 + 2 * 12 + 4
    make_at = ifd0 + ifd0_size
    ifd1 = make_at + len(make)
    ifd1_size = 2 + 2 * 12 + 4
    thumb_at = ifd1 + ifd1_size
    out = b"II*\0" + struct.pack("<I", ifd0)
    out += struct.pack("<H", 2)
    out += struct.pack("<HHIHH", 0x0112, 3, 1, orientation, 0)
    out += struct.pack("<HHII", 0x010F, 2, len(make), make_at)
    out += struct.pack("<I", ifd1) + make
    out += struct.pack("<H", 2)
    out += struct.pack("<HHII", 0x0201, 4, 1, thumb_at)
    out += struct.pack("<HHII", 0x0202, 4, 1, len(thumbnail))
    out += struct.pack("<I", 0) + thumbnail
    return b"Exif\0\0" + out


def header_segments(jpeg: bytes) -> list[bytes]:
    """Every marker segment before the first scan, verbatim (a parser of the tests' own)."""
    assert jpeg[:2] == b"\xff\xd8"
    pos, found = 2, []
    while jpeg[pos + 1] != 0xDA:
        (length,) = struct.unpack(">H", jpeg[pos + 2 : pos + 4])
        found.append(jpeg[pos : pos + 2 + length])
        pos += 2 + length
    return found


def app_and_com_segments(jpeg: bytes) -> list[bytes]:
    """The APP0..APP15 and COM segments before the first scan, in file order, verbatim."""
    return [s for s in header_segments(jpeg) if 0xE0 <= s[1] <= 0xEF or s[1] == 0xFE]
