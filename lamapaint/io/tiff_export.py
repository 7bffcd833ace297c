"""16-bit TIFF export through tifffile: the original's colour profile, camera tags, resolution and
compression come back, so a raw developer that handed the photo out shows it as it was.

Pillow cannot write 16-bit colour and OpenCV writes no metadata; tifffile writes both. What it
writes is decided before any encoding (:func:`choose`), so the export plan can say it.
"""

from __future__ import annotations

import functools
import io
import logging
import struct
from dataclasses import dataclass

import numpy as np
from PIL import Image, TiffImagePlugin

log = logging.getLogger(__name__)

NONE, LZW, DEFLATE, ADOBE_DEFLATE = 1, 5, 32946, 8
"""TIFF compression codes (tag 259)."""
COMPRESSION_NAMES = {
    NONE: "uncompressed", LZW: "LZW", 7: "JPEG", ADOBE_DEFLATE: "Deflate", DEFLATE: "Deflate",
    32773: "PackBits", 34925: "LZMA", 50000: "Zstandard",
}
_TIFFFILE_COMPRESSION = {NONE: None, LZW: "lzw", ADOBE_DEFLATE: "adobe_deflate"}
_PREDICTOR_HORIZONTAL = 2

BIGTIFF_ABOVE = 2**32 - 2**26
"""Classic TIFF offsets are 32-bit: a file that may reach 4 GiB (less room for tags) is BigTIFF."""

# IFD0 text tags tifffile writes as given: ImageDescription, Make, Model, Software, DateTime,
# Artist, Copyright. Resolution goes through tifffile's own arguments.
_TEXT_TAGS = (0x010E, 0x010F, 0x0110, 0x0131, 0x0132, 0x013B, 0x8298)
_X_RESOLUTION, _Y_RESOLUTION, _RESOLUTION_UNIT = 0x011A, 0x011B, 0x0128
_EXIF_IFD, _GPS_IFD = 0x8769, 0x8825
_NESTED_POINTERS = (0xA005,)  # the Interoperability directory inside the EXIF one


@dataclass(frozen=True)
class TiffChoice:
    """How the TIFF is compressed and laid out."""

    compression: int
    """TIFF code: NONE, LZW or ADOBE_DEFLATE."""
    predictor: bool
    """Horizontal differencing before compression (as the original had it)."""
    bigtiff: bool

    @property
    def words(self) -> str:
        return COMPRESSION_NAMES[self.compression] + (" with predictor" if self.predictor else "")


@dataclass(frozen=True)
class TiffTags:
    """The EXIF the TIFF carries, as tifffile takes it, and what it is in plain words."""

    text: tuple[tuple[int, str], ...] = ()
    resolution: tuple[tuple[int, int], tuple[int, int]] | None = None
    resolution_unit: int | None = None
    sub_ifds: tuple[tuple[int, bytes], ...] = ()
    """(pointer tag, the EXIF block) for the EXIF and GPS sub-directories, placed after tifffile wrote."""
    left_out: tuple[str, ...] = ()
    """EXIF parts that are not written, in plain words."""

    @property
    def kept(self) -> list[str]:
        out = ["EXIF" if self.sub_ifds else "camera EXIF fields"] if self.text or self.sub_ifds else []
        return out + (["resolution"] if self.resolution else [])


@functools.cache
def lzw_unavailable() -> str | None:
    """Why LZW cannot be written here (tifffile needs imagecodecs for it), or None."""
    try:
        import imagecodecs

        imagecodecs.lzw_encode(b"\0")
    except Exception as exc:  # noqa: BLE001 - a missing or broken codec only costs LZW
        return f"the LZW encoder (imagecodecs) could not be loaded ({type(exc).__name__})"
    return None


def needs_bigtiff(width: int, height: int, channels: int, bytes_per_sample: int) -> bool:
    """Whether the file may pass classic TIFF's 4 GiB, judged by its uncompressed size (compression
    can add a little, never guarantees less)."""
    return width * height * channels * bytes_per_sample > BIGTIFF_ABOVE


def choose(
    compression: int | None, predictor: int | None, width: int, height: int, channels: int, bytes_per_sample: int,
    notes: list[str],
) -> TiffChoice:
    """The original's compression where it can be written (LZW, Deflate or none), else Deflate;
    a change is said in ``notes``. ``compression`` None: the original was no TIFF (Deflate)."""
    bigtiff = needs_bigtiff(width, height, channels, bytes_per_sample)
    if bigtiff:
        notes.append("written as BigTIFF: the file may pass the 4 GB a classic TIFF can address")
    if compression is None:
        return TiffChoice(ADOBE_DEFLATE, False, bigtiff)
    code = ADOBE_DEFLATE if compression == DEFLATE else compression
    keep_predictor = predictor == _PREDICTOR_HORIZONTAL
    if code == LZW and (reason := lzw_unavailable()):
        notes.append(f"written with Deflate (lossless) instead of the original's LZW: {reason}")
        return TiffChoice(ADOBE_DEFLATE, keep_predictor, bigtiff)
    if code not in _TIFFFILE_COMPRESSION:
        name = COMPRESSION_NAMES.get(compression, f"compression {compression}")
        notes.append(f"written with Deflate (lossless) instead of the original's {name}")
        return TiffChoice(ADOBE_DEFLATE, keep_predictor, bigtiff)
    return TiffChoice(code, keep_predictor and code != NONE, bigtiff)


def tags_from_exif(exif: bytes | None) -> TiffTags:
    """The IFD0 camera tags and resolution of an EXIF block (as ``LoadedImage.exif`` holds it)."""
    if not exif:
        return TiffTags()
    parsed = Image.Exif()
    try:
        parsed.load(exif)
    except Exception:  # noqa: BLE001 - a damaged block is left out, not a failed export
        log.warning("EXIF could not be parsed for the TIFF export", exc_info=True)
        return TiffTags(left_out=("EXIF (damaged)",))
    text = tuple((tag, parsed[tag]) for tag in _TEXT_TAGS if isinstance(parsed.get(tag), str) and parsed[tag].isascii())
    resolution = None
    x, y = parsed.get(_X_RESOLUTION), parsed.get(_Y_RESOLUTION)
    if _rational(x) and _rational(y):
        resolution = (_rational(x), _rational(y))
    unit = parsed.get(_RESOLUTION_UNIT)
    sub_ifds = tuple((tag, exif) for tag in (_EXIF_IFD, _GPS_IFD) if parsed.get_ifd(tag))
    return TiffTags(text, resolution, unit if unit in (1, 2, 3) and resolution else None, sub_ifds)  # type: ignore[arg-type]


def _rational(value: object) -> tuple[int, int] | None:
    num, den = getattr(value, "numerator", None), getattr(value, "denominator", None)
    if isinstance(num, int) and isinstance(den, int) and num > 0 and den > 0:
        return num, den
    return None


def write_16bit(rgb16: np.ndarray, alpha16: np.ndarray | None, choice: TiffChoice, icc: bytes | None, tags: TiffTags) -> bytes:
    """The TIFF file's bytes: RGB (and unassociated alpha) at 16 bits, with ``icc`` and ``tags``.

    tifffile refuses to write the EXIF and GPS pointer tags (34665, 34853): each goes in under
    the code just below it (unused in IFD0, so the entries stay sorted), then gets its own code
    back, and its directory (serialised by Pillow's TIFF tag writer, types kept) is appended and
    pointed to.
    """
    import tifffile

    data = np.dstack([rgb16, alpha16]) if alpha16 is not None else rgb16
    pointer_type = 16 if choice.bigtiff else 4  # LONG8 / LONG
    buf = io.BytesIO()
    tifffile.imwrite(
        buf, data, photometric="rgb", planarconfig="contig", extrasamples=("unassalpha",) if alpha16 is not None else None,
        compression=_TIFFFILE_COMPRESSION[choice.compression], predictor=choice.predictor or None, bigtiff=choice.bigtiff,
        byteorder="<", iccprofile=icc, resolution=tags.resolution, resolutionunit=tags.resolution_unit,
        extratags=[(tag, "s", 0, value, True) for tag, value in tags.text] + [(tag - 1, pointer_type, 1, 0, True) for tag, _ in tags.sub_ifds],
        metadata=None, software=False,
    )
    out = bytearray(buf.getvalue())
    if tags.sub_ifds:
        with tifffile.TiffFile(io.BytesIO(bytes(out))) as tf:
            entries = {tag: (tf.pages[0].tags[tag - 1].offset, tf.pages[0].tags[tag - 1].valueoffset) for tag, _ in tags.sub_ifds}
        for tag, exif in tags.sub_ifds:
            entry, value = entries[tag]
            struct.pack_into("<H", out, entry, tag)
            out += b"\0" * (len(out) % 2)  # directories start on a word boundary
            struct.pack_into("<Q" if choice.bigtiff else "<I", out, value, len(out))
            out += _sub_ifd_bytes(exif, tag, len(out), choice.bigtiff)
    return bytes(out)


def _sub_ifd_bytes(exif: bytes, pointer_tag: int, offset: int, bigtiff: bool) -> bytes:
    """The EXIF block's sub-directory behind ``pointer_tag``, little-endian, laid out to sit at ``offset``."""
    tiff = exif[6:] if exif.startswith(b"Exif\0\0") else exif
    fp = io.BytesIO(tiff)
    ifd0 = TiffImagePlugin.ImageFileDirectory_v2(tiff[:8])
    fp.seek(ifd0.next)
    ifd0.load(fp)
    sub = TiffImagePlugin.ImageFileDirectory_v2(tiff[:8])
    fp.seek(ifd0[pointer_tag])
    sub.load(fp)
    header = b"II+\0\x08\0\0\0" + bytes(8) if bigtiff else b"II*\0" + bytes(4)
    out = TiffImagePlugin.ImageFileDirectory_v2(header)
    for tag, value in sub.items():
        if tag in _NESTED_POINTERS:  # an offset into the old block: meaningless here
            continue
        out[tag] = value
        out.tagtype[tag] = sub.tagtype[tag]
    return out.tobytes(offset)
