"""Write the edited photo: JPEG, PNG, TIFF or WebP, atomically, never over a file by accident.

What the original had is given back where the format allows: EXIF (orientation reset to 1, since
the pixels are written upright), the ICC profile, the alpha channel and 16-bit samples. Pixels no
layer touched are written exactly as decoded from the original (lossless formats), and for a
16-bit original exactly as the 16-bit file had them. A JPEG original is re-saved block by block
where its layout allows (see ``jpeg_blocks``), so only the edited MCUs are re-compressed.
"""

from __future__ import annotations

import io
import logging
import os
import struct
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from lamapaint.io import jpeg_blocks
from lamapaint.io.atomic import DestinationExistsError, atomic_write_bytes
from lamapaint.io.images import LoadedImage

log = logging.getLogger(__name__)

SUFFIXES: dict[str, tuple[str, ...]] = {
    "JPEG": (".jpg", ".jpeg", ".jpe", ".jfif"),
    "PNG": (".png",),
    "TIFF": (".tif", ".tiff"),
    "WEBP": (".webp",),
}
_FORMAT_ALIASES = {"JPEG": "JPEG", "JPG": "JPEG", "PNG": "PNG", "TIFF": "TIFF", "TIF": "TIFF", "WEBP": "WEBP"}
# ImageDescription, Make, Model, Software, DateTime, Artist, Copyright
_TIFF_TEXT_TAGS = (0x010E, 0x010F, 0x0110, 0x0131, 0x0132, 0x013B, 0x8298)
_ALPHA_FORMATS = ("PNG", "TIFF", "WEBP")
_HIGH_BIT_FORMATS = ("PNG", "TIFF")

METHOD_BLOCKS = "lossless-jpeg-blocks"
METHOD_REENCODE = "re-encode"
METHOD_LOSSLESS = "lossless"


class ExportError(Exception):
    """The export failed; the message is meant for the user."""


class ExportDestinationExists(ExportError):
    """The destination exists (or is the original photo) and ``overwrite`` was not given."""


@dataclass
class ExportOptions:
    format: str | None = None
    """"JPEG", "PNG", "TIFF" or "WEBP"; from the file suffix when None."""
    quality: int = 95
    """JPEG/WebP quality 1-100. WebP at 100 is written lossless."""
    subsampling_444: bool = False
    """Full-resolution chroma for re-encoded JPEGs (block-wise saves keep the original's)."""
    keep_metadata: bool = True
    """Write EXIF, XMP and comments. The ICC profile is always written: it defines the colours."""
    lossless_jpeg: bool = True
    """Copy untouched 8x8 blocks from the original JPEG when its layout allows it."""
    overwrite: bool = False
    """Replace an existing file (including the original photo itself)."""


@dataclass
class ExportReport:
    path: Path
    format: str
    method: str
    """"lossless-jpeg-blocks", "re-encode" (lossy JPEG/WebP) or "lossless" (PNG, TIFF, WebP-lossless)."""
    notes: list[str] = field(default_factory=list)
    bit_depth: int = 8
    bytes_written: int = 0


def format_for(path: str | os.PathLike[str], explicit: str | None = None) -> str:
    """The export format named by ``explicit`` or by the file's suffix; ExportError when neither."""
    if explicit:
        fmt = _FORMAT_ALIASES.get(explicit.upper().lstrip("."))
        if fmt is None:
            raise ExportError(f"Cannot export as {explicit}: choose JPEG, PNG, TIFF or WebP")
        return fmt
    suffix = Path(path).suffix.lower()
    for fmt, suffixes in SUFFIXES.items():
        if suffix in suffixes:
            return fmt
    raise ExportError(f"Cannot export to {Path(path).name}: use a .jpg, .png, .tif or .webp name")


def export_image(
    path: str | os.PathLike[str],
    rgb: np.ndarray,
    source: LoadedImage | None,
    options: ExportOptions,
    touched: np.ndarray | None = None,
    block_source: jpeg_blocks.BlockSource | None = None,
) -> ExportReport:
    """Write ``rgb`` (the composited edit, upright) to ``path``; see the module docstring.

    ``touched`` marks the pixels that any visible layer covers; pixels that differ from the
    original are counted as touched too, so a missing or partial map cannot corrupt an export.
    ``block_source`` is the original's coefficients from :func:`read_block_source`, read ahead.
    """
    dest = Path(path)
    fmt = format_for(dest, options.format)
    _check_destination(dest, source, options.overwrite)
    rgb = _check_rgb(rgb)
    touched = _touched_map(rgb, source, touched)
    if not 1 <= options.quality <= 100:
        raise ExportError(f"Quality must be between 1 and 100, not {options.quality}")
    notes: list[str] = []
    if fmt == "JPEG":
        data, method, bits = _encode_jpeg(rgb, source, options, touched, notes, block_source)
    else:
        data, method, bits = _encode_other(fmt, rgb, source, options, touched, notes)
    try:
        atomic_write_bytes(dest, data, overwrite=options.overwrite)
    except DestinationExistsError:
        raise ExportDestinationExists(f"{dest} already exists; choose another name or allow replacing it") from None
    except OSError as exc:
        raise ExportError(f"Could not write {dest}: {exc.strerror or exc}") from exc
    for note in notes:
        log.info("export %s: %s", dest.name, note)
    return ExportReport(dest, fmt, method, notes, bits, len(data))


def _check_destination(dest: Path, source: LoadedImage | None, overwrite: bool) -> None:
    if overwrite or not dest.exists():
        return
    if source is not None and source.path is not None and source.path.exists() and os.path.samefile(dest, source.path):
        raise ExportDestinationExists(f"{dest} is the original photo; it is only replaced when you ask for that")
    raise ExportDestinationExists(f"{dest} already exists; choose another name or allow replacing it")


def _check_rgb(rgb: np.ndarray) -> np.ndarray:
    if rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ExportError(f"Internal error: expected an (H, W, 3) uint8 image, got {rgb.shape} {rgb.dtype}")
    return np.ascontiguousarray(rgb)


def _touched_map(rgb: np.ndarray, source: LoadedImage | None, touched: np.ndarray | None) -> np.ndarray:
    h, w = rgb.shape[:2]
    if touched is not None and touched.shape != (h, w):
        raise ExportError(f"Internal error: touched map {touched.shape} does not match the image {(h, w)}")
    if source is None:
        return np.ones((h, w), bool) if touched is None else touched.astype(bool)
    if source.rgb.shape != rgb.shape:
        raise ExportError(
            f"Internal error: the edit is {w}x{h} but the original is {source.width}x{source.height}"
        )
    ne = rgb != source.rgb
    differs = ne[..., 0] | ne[..., 1] | ne[..., 2]  # 10x faster than .any(axis=2) on a 20 MP photo
    return differs if touched is None else differs | touched.astype(bool)


def read_block_source(source: LoadedImage | None, options: ExportOptions) -> jpeg_blocks.BlockSource | None:
    """The original's coefficients for a block-wise JPEG save, read ahead of ``export_image``.

    None where no block-wise save will be tried or it cannot work; ``export_image`` then finds
    the same reason again and reports it, so a caller never needs to.
    """
    if _blockwise_reason(source, options) is not None:
        return None
    assert source is not None
    try:
        return jpeg_blocks.read_block_source(source.source_bytes)
    except jpeg_blocks.LosslessUnavailable:
        return None
    except Exception:  # as in the save itself: a libjpeg hiccup costs the head start, nothing more
        log.warning("reading the original's JPEG coefficients ahead failed", exc_info=True)
        return None


def _encode_jpeg(
    rgb: np.ndarray,
    source: LoadedImage | None,
    options: ExportOptions,
    touched: np.ndarray,
    notes: list[str],
    block_source: jpeg_blocks.BlockSource | None,
) -> tuple[bytes, str, int]:
    if source is not None and source.alpha is not None:
        notes.append("JPEG has no transparency: the alpha channel was dropped")
    if source is not None and source.high_bit is not None:
        notes.append("JPEG is 8-bit: the 16-bit precision of the original was not kept")
    reason = _blockwise_reason(source, options)
    if reason is None:
        assert source is not None
        try:
            return _encode_jpeg_blocks(rgb, source, options, touched, notes, block_source), METHOD_BLOCKS, 8
        except jpeg_blocks.LosslessUnavailable as exc:
            reason = str(exc)
        except Exception as exc:  # a libjpeg hiccup must cost the block-wise save, not the export
            log.warning("block-wise JPEG save failed; re-encoding", exc_info=True)
            reason = f"the block-wise save failed ({exc})"
    if reason and options.lossless_jpeg and source is not None and source.format == "JPEG":
        notes.append(f"whole photo re-encoded at quality {options.quality}: {reason}")
        log.info("block-wise JPEG save not possible: %s", reason)
    buf = io.BytesIO()
    kwargs = _pillow_metadata(source, options, notes)
    Image.fromarray(rgb).save(
        buf, "JPEG", quality=options.quality, subsampling=0 if options.subsampling_444 else 2, optimize=True, **kwargs
    )
    return buf.getvalue(), METHOD_REENCODE, 8


def _blockwise_reason(source: LoadedImage | None, options: ExportOptions) -> str | None:
    """Why the block-wise JPEG save cannot be tried (None: try it)."""
    if not options.lossless_jpeg:
        return "block-wise saving was turned off"
    if source is None or source.format != "JPEG":
        return "the original is not a JPEG"
    if source.orientation != 1:
        return f"the original was rotated for display (EXIF orientation {source.orientation})"
    return None


def _encode_jpeg_blocks(
    rgb: np.ndarray,
    source: LoadedImage,
    options: ExportOptions,
    touched: np.ndarray,
    notes: list[str],
    block_source: jpeg_blocks.BlockSource | None,
) -> bytes:
    result = jpeg_blocks.merge_blocks(source.source_bytes, rgb, touched, block_source)
    layout = jpeg_blocks.parse_layout(source.source_bytes)
    segments = []
    for seg in jpeg_blocks.app_segments(layout):
        payload = seg.payload
        is_jfif = seg.marker == 0xE0 and payload.startswith(b"JFIF")
        is_adobe = seg.marker == 0xEE and payload.startswith(b"Adobe")
        is_icc = seg.marker == 0xE2 and payload.startswith(b"ICC_PROFILE\0")
        if seg.marker == 0xE1 and payload.startswith(b"Exif\0\0"):
            # Pillow's rebuilt EXIF: orientation 1 and no thumbnail of the unedited photo.
            if options.keep_metadata and source.exif:
                try:
                    segments.append(jpeg_blocks.make_segment(0xE1, source.exif))
                except ValueError:
                    notes.append("EXIF too large for a JPEG segment; not written")
        elif is_jfif or is_adobe or is_icc or options.keep_metadata:
            segments.append(seg)
    if options.subsampling_444:
        notes.append("block-wise save keeps the original's chroma sampling")
    notes.append(
        f"re-compressed {result.mcus_reencoded} of {result.mcus_total} MCUs; the rest is the original's data"
    )
    return jpeg_blocks.replace_app_segments(result.data, segments)


def _pillow_metadata(source: LoadedImage | None, options: ExportOptions, notes: list[str]) -> dict[str, bytes]:
    if source is None:
        return {}
    kwargs: dict[str, bytes] = {}
    if source.icc_profile:
        kwargs["icc_profile"] = source.icc_profile
    if options.keep_metadata and source.exif:
        kwargs["exif"] = source.exif
    if options.keep_metadata and source.format == "JPEG" and _has_xmp(source.source_bytes):
        notes.append("XMP metadata is kept only by block-wise JPEG saves")
    return kwargs


def _has_xmp(data: bytes) -> bool:
    return b"http://ns.adobe.com/xap/1.0/\0" in data[:65536]


def _encode_other(
    fmt: str, rgb: np.ndarray, source: LoadedImage | None, options: ExportOptions, touched: np.ndarray,
    notes: list[str],
) -> tuple[bytes, str, int]:
    alpha = source.alpha if source is not None else None
    if alpha is not None and fmt not in _ALPHA_FORMATS:
        alpha = None
    high = source.high_bit if source is not None else None
    if high is not None and fmt not in _HIGH_BIT_FORMATS:
        notes.append(f"{fmt} is written at 8 bits: the 16-bit precision of the original was not kept")
        high = None
    if high is not None:
        out16 = high.copy()
        out16[touched] = rgb[touched].astype(np.uint16) * 257
        alpha16 = None if alpha is None else (alpha if alpha.dtype == np.uint16 else alpha.astype(np.uint16) * 257)
        return _encode_16bit(fmt, out16, alpha16, source, options, notes), METHOD_LOSSLESS, 16
    if alpha is not None and alpha.dtype == np.uint16:
        alpha = ((alpha.astype(np.uint32) * 255 + 32767) // 65535).astype(np.uint8)
    im = Image.fromarray(np.dstack([rgb, alpha]) if alpha is not None else rgb)
    kwargs = _pillow_metadata(source, options, notes)
    buf = io.BytesIO()
    if fmt == "PNG":
        im.save(buf, "PNG", compress_level=6, **kwargs)
        method = METHOD_LOSSLESS
    elif fmt == "TIFF":
        tiffinfo = _tiff_descriptive_tags(kwargs.pop("exif", None))
        if tiffinfo:
            notes.append("TIFF keeps the basic EXIF fields only (camera, date, author, description)")
        im.save(buf, "TIFF", compression="tiff_adobe_deflate", tiffinfo=tiffinfo, **kwargs)
        method = METHOD_LOSSLESS
    else:
        lossless = options.quality == 100
        im.save(buf, "WEBP", quality=options.quality, lossless=lossless, method=4, exact=True, **kwargs)
        method = METHOD_LOSSLESS if lossless else METHOD_REENCODE
    return buf.getvalue(), method, 8


def _tiff_descriptive_tags(exif_bytes: bytes | None) -> dict[int, str]:
    """IFD0 text tags worth carrying into a TIFF. Pillow's own EXIF-to-TIFF merge copies layout
    tags (resolution unit 0, strip data, ...) that libtiff then rejects, so only these go."""
    if not exif_bytes:
        return {}
    exif = Image.Exif()
    try:
        exif.load(exif_bytes)
    except Exception:
        log.warning("EXIF could not be parsed for TIFF export", exc_info=True)
        return {}
    return {tag: exif[tag] for tag in _TIFF_TEXT_TAGS if isinstance(exif.get(tag), str) and exif[tag]}


def _encode_16bit(
    fmt: str, rgb16: np.ndarray, alpha16: np.ndarray | None, source: LoadedImage | None, options: ExportOptions,
    notes: list[str],
) -> bytes:
    """16-bit PNG/TIFF through OpenCV (Pillow cannot write 16-bit colour)."""
    bgr = cv2.cvtColor(rgb16, cv2.COLOR_RGB2BGR)
    if alpha16 is not None:
        bgr = np.dstack([bgr, alpha16])
    ok, encoded = cv2.imencode(".png" if fmt == "PNG" else ".tiff", bgr)
    if not ok:
        raise ExportError(f"Could not encode the image as 16-bit {fmt}")
    data = encoded.tobytes()
    if source is None:
        return data
    if fmt == "PNG":
        chunks = []
        if source.icc_profile:
            chunks.append(_png_chunk(b"iCCP", b"ICC Profile\0\0" + zlib.compress(source.icc_profile)))
        if options.keep_metadata and source.exif:
            exif = source.exif[6:] if source.exif.startswith(b"Exif\0\0") else source.exif
            chunks.append(_png_chunk(b"eXIf", exif))
        return _png_insert_after_ihdr(data, chunks)
    if source.icc_profile or (options.keep_metadata and source.exif):
        notes.append("16-bit TIFF is written without the ICC profile and EXIF; use 16-bit PNG to keep them")
    return data


def _png_chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def _png_insert_after_ihdr(png: bytes, chunks: list[bytes]) -> bytes:
    """Metadata chunks go before the image data (iCCP must precede IDAT); IHDR is always first."""
    (ihdr_len,) = struct.unpack(">I", png[8:12])
    cut = 8 + 12 + ihdr_len
    return png[:cut] + b"".join(chunks) + png[cut:]
