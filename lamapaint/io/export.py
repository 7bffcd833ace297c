"""Write the edited photo: JPEG, PNG, TIFF or WebP, atomically, never over a file by accident.

What the original had is given back where the format allows: EXIF, the ICC profile, the alpha
channel and 16-bit samples. Pixels no layer touched are written exactly as decoded from the
original (lossless formats), and for a 16-bit original exactly as the 16-bit file had them.

A JPEG original exported as JPEG is re-saved block by block where its layout allows (see
``jpeg_blocks``; baseline and progressive originals), so only the edited MCUs are re-compressed;
otherwise it is re-encoded whole with the original's chroma sampling. Both paths write the
pixels in the original's stored orientation and carry its APPn/COM segments (EXIF with its
orientation tag, XMP, ICC, IPTC, comments, ...: see ``jpeg_metadata``). Other exports write the
pixels upright with the EXIF orientation reset to 1.
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

from lamapaint.io import jpeg_blocks, jpeg_metadata
from lamapaint.io.atomic import DestinationExistsError, atomic_write_bytes
from lamapaint.io.images import LoadedImage, apply_orientation

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
BLOCKWISE_WORDS = "Untouched areas kept exactly as in the original (block-wise save)"
"""How a block-wise save is described: stable, so scripts (the bundle's smoke test) can look for it."""
# EXIF orientation -> the orientation that turns the upright picture back into the stored one.
_TO_STORED = {6: 8, 8: 6}


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
class ExportPlan:
    """How an export writes the pixels and which metadata it carries, in plain words."""

    method: str
    """"lossless-jpeg-blocks", "re-encode" (lossy JPEG/WebP) or "lossless" (PNG, TIFF, WebP-lossless)."""
    pixels: str
    """How the pixels are written, e.g. BLOCKWISE_WORDS."""
    kept: list[str] = field(default_factory=list)
    """The original's metadata written, e.g. ["EXIF", "XMP", "colour profile", "comment"]."""
    notes: list[str] = field(default_factory=list)
    """What was left out or changed, and why."""
    metadata_left_out: bool = False
    """The original had metadata that ``keep_metadata=False`` left out."""

    @property
    def summary(self) -> str:
        """One line: "<pixels>; EXIF, XMP, colour profile and comment kept"."""
        if not self.kept:
            return f"{self.pixels}; {'metadata left out' if self.metadata_left_out else 'no metadata to keep'}"
        words = self.kept[0] if len(self.kept) == 1 else ", ".join(self.kept[:-1]) + " and " + self.kept[-1]
        return f"{self.pixels}; {words} kept" + (", other metadata left out" if self.metadata_left_out else "")


@dataclass
class ExportReport:
    path: Path
    format: str
    method: str
    """"lossless-jpeg-blocks", "re-encode" (lossy JPEG/WebP) or "lossless" (PNG, TIFF, WebP-lossless)."""
    notes: list[str] = field(default_factory=list)
    bit_depth: int = 8
    bytes_written: int = 0
    pixels: str = ""
    """How the pixels were written, in plain words (``BLOCKWISE_WORDS`` for a block-wise save)."""
    kept: list[str] = field(default_factory=list)
    """The original's metadata the file holds, in plain words ("EXIF", "XMP", "colour profile", ...)."""
    metadata_left_out: bool = False
    """The original had metadata that ``keep_metadata=False`` left out."""

    @property
    def blockwise(self) -> bool:
        """True when untouched blocks are the original's data (method "lossless-jpeg-blocks")."""
        return self.method == METHOD_BLOCKS

    @property
    def summary(self) -> str:
        """One plain line for the user, e.g. "Untouched areas kept exactly as in the original
        (block-wise save); EXIF, XMP, colour profile and comment kept"."""
        return ExportPlan(self.method, self.pixels, self.kept, metadata_left_out=self.metadata_left_out).summary


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
    if fmt == "JPEG":
        data, plan, bits = _encode_jpeg(rgb, source, options, touched, block_source)
    else:
        data, plan, bits = _encode_other(fmt, rgb, source, options, touched)
    try:
        atomic_write_bytes(dest, data, overwrite=options.overwrite)
    except DestinationExistsError:
        raise ExportDestinationExists(f"{dest} already exists; choose another name or allow replacing it") from None
    except OSError as exc:
        raise ExportError(f"Could not write {dest}: {exc.strerror or exc}") from exc
    report = ExportReport(
        dest, fmt, plan.method, plan.notes, bits, len(data), plan.pixels, plan.kept, plan.metadata_left_out
    )
    log.info("exported %s: method=%s; %s", dest.name, report.method, report.summary)
    for note in plan.notes:
        log.info("export %s: %s", dest.name, note)
    return report


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


def plan_export(source: LoadedImage | None, options: ExportOptions) -> ExportPlan:
    """What an export with ``options`` will do, for the export dialog: cheap (headers only), no encoding.

    A block-wise save is promised where the original's layout and this installation allow it;
    the export itself can still fall back (its report then says so).
    """
    fmt = _FORMAT_ALIASES.get((options.format or "JPEG").upper(), "JPEG")
    notes: list[str] = []
    layout = _jpeg_layout(source) if fmt == "JPEG" else None
    if layout is None:
        kwargs, kept = _pillow_metadata(source, options, notes)
        if fmt == "JPEG":
            words = f"Whole photo compressed as JPEG at quality {options.quality}"
            return ExportPlan(METHOD_REENCODE, words, kept, notes, _left_out(source, options))
        method, pixels = _other_words(fmt, source, options)
        if fmt == "TIFF" and source is not None and source.high_bit is not None:
            kept = []  # 16-bit TIFF goes through OpenCV, which writes no metadata
        elif fmt == "TIFF" and "EXIF" in kept:
            kept = ["basic EXIF fields"] + [k for k in kept if k != "EXIF"]
        return ExportPlan(method, pixels, kept, notes, _left_out(source, options))
    assert source is not None
    reason = _blockwise_reason(source, options)
    if reason is None:
        reason = jpeg_blocks.unsupported_reason(layout) or jpeg_blocks.blockwise_unavailable()
        if reason is None:
            carried = _carry(layout, source, options, icc_usable=True)
            quality = "edited blocks are compressed with the original's own tables, so the quality setting does not apply"
            return ExportPlan(METHOD_BLOCKS, BLOCKWISE_WORDS, carried.kept, [quality, *carried.notes], carried.left_out)
    pixels = _reencode_choice(layout, options).words
    if options.lossless_jpeg:
        pixels += f" (block-wise save not possible: {reason})"
    carried = _carry(layout, source, options, icc_usable=source.icc_profile is not None)
    return ExportPlan(METHOD_REENCODE, pixels, carried.kept, carried.notes, carried.left_out)


def read_block_source(
    path: str | os.PathLike[str], source: LoadedImage | None, options: ExportOptions
) -> jpeg_blocks.BlockSource | None:
    """The original's coefficients for a block-wise JPEG save to ``path``, read ahead of ``export_image``.

    None where no block-wise save will be tried or it cannot work (``path`` is no JPEG: reading a
    20 MP original's coefficients costs about 60 MB and a second); ``export_image`` then finds the
    same reason again and reports it, so a caller never needs to.
    """
    try:
        if format_for(path, options.format) != "JPEG":
            return None
    except ExportError:  # export_image says why
        return None
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
    block_source: jpeg_blocks.BlockSource | None,
) -> tuple[bytes, ExportPlan, int]:
    notes: list[str] = []
    if source is not None and source.alpha is not None:
        notes.append("JPEG has no transparency: the alpha channel was dropped")
    if source is not None and source.high_bit is not None:
        notes.append("JPEG is 8-bit: the 16-bit precision of the original was not kept")
    layout = _jpeg_layout(source)
    if layout is None:
        kwargs, kept = _pillow_metadata(source, options, notes)
        subsampling = 0 if options.subsampling_444 else 2
        data = _pillow_jpeg(rgb, options.quality, subsampling, progressive=False, **kwargs)
        pixels = f"Whole photo compressed as JPEG at quality {options.quality}"
        return data, ExportPlan(METHOD_REENCODE, pixels, kept, notes, _left_out(source, options)), 8
    assert source is not None
    # The file keeps the original's stored layout, so its EXIF orientation stays true.
    stored_rgb = _to_stored(rgb, source.orientation)
    reason = _blockwise_reason(source, options)
    if reason is None:
        try:
            stored_touched = _to_stored(touched, source.orientation)
            decoded = _to_stored(source.rgb, source.orientation)  # what "kept exactly" is checked against
            result = jpeg_blocks.merge_blocks(source.source_bytes, stored_rgb, stored_touched, block_source, decoded)
            carried = _carry(layout, source, options, icc_usable=True)
            data = jpeg_blocks.replace_app_segments(result.data, carried.segments)
            if options.subsampling_444 and jpeg_blocks.sampling_name(layout) != "4:4:4":
                notes.append("block-wise save keeps the original's chroma sampling")
            notes.append(
                f"re-compressed {result.mcus_reencoded} of {result.mcus_total} MCUs; the rest is the original's data"
            )
            return data, ExportPlan(METHOD_BLOCKS, BLOCKWISE_WORDS, carried.kept, notes + carried.notes, carried.left_out), 8
        except jpeg_blocks.LosslessUnavailable as exc:
            reason = str(exc)
        except Exception as exc:  # a libjpeg hiccup must cost the block-wise save, not the export
            log.warning("block-wise JPEG save failed; re-encoding", exc_info=True)
            reason = f"the block-wise save failed ({exc})"
        log.info("block-wise JPEG save not possible: %s", reason)
    choice = _reencode_choice(layout, options)
    data = _pillow_jpeg(stored_rgb, options.quality, choice.subsampling, choice.progressive)
    pixels = choice.words
    if options.lossless_jpeg:
        notes.append(f"whole photo re-encoded at quality {options.quality}: {reason}")
        pixels += f" (block-wise save not possible: {reason})"
    carried = _carry(layout, source, options, icc_usable=source.icc_profile is not None)
    data = jpeg_blocks.replace_app_segments(data, carried.segments)
    return data, ExportPlan(METHOD_REENCODE, pixels, carried.kept, notes + carried.notes, carried.left_out), 8


def _jpeg_layout(source: LoadedImage | None) -> jpeg_blocks.JpegLayout | None:
    """The original's JPEG header, where the original is a JPEG whose header can be read."""
    if source is None or source.format != "JPEG":
        return None
    try:
        return jpeg_blocks.parse_layout(source.source_bytes)
    except ValueError:
        log.warning("the original's JPEG header could not be read; exporting as from a non-JPEG", exc_info=True)
        return None


def _to_stored(arr: np.ndarray, orientation: int) -> np.ndarray:
    """The upright working picture (or map) turned back into the file's stored orientation."""
    if orientation == 1:
        return arr
    return np.ascontiguousarray(apply_orientation(arr, _TO_STORED.get(orientation, orientation)))


def _carry(
    layout: jpeg_blocks.JpegLayout, source: LoadedImage, options: ExportOptions, *, icc_usable: bool
) -> jpeg_metadata.CarriedMetadata:
    return jpeg_metadata.carry_segments(
        layout, keep_metadata=options.keep_metadata, orientation=source.orientation, icc_usable=icc_usable
    )


@dataclass(frozen=True)
class _JpegReencode:
    subsampling: int
    progressive: bool
    words: str


def _reencode_choice(layout: jpeg_blocks.JpegLayout, options: ExportOptions) -> _JpegReencode:
    """A whole re-encode keeps the original's chroma sampling (unless 4:4:4 is asked for) and scan mode."""
    sampling = jpeg_blocks.pillow_subsampling(layout)
    if options.subsampling_444:
        subsampling, chroma = 0, "4:4:4 chroma"
    elif sampling is None:  # greyscale or CMYK: no chroma sampling to keep
        subsampling, chroma = 2, "4:2:0 chroma"
    else:
        subsampling, exact = sampling
        name = {0: "4:4:4", 1: "4:2:2", 2: "4:2:0"}[subsampling]
        chroma = f"{name} chroma as in the original" if exact else (
            f"{name} chroma (nearest to the original's {jpeg_blocks.sampling_name(layout)})"
        )
    progressive = layout.sof_marker == 0xC2
    scan = "progressive, " if progressive else ""
    return _JpegReencode(subsampling, progressive, f"Whole photo re-compressed at quality {options.quality} ({scan}{chroma})")


def _pillow_jpeg(rgb: np.ndarray, quality: int, subsampling: int, progressive: bool, **kwargs: bytes) -> bytes:
    """Pillow's JPEG; optimised (and progressive) coding needs libjpeg to hold the whole file in
    Pillow's buffer, which a very detailed picture can overflow ("Suspension not allowed"): such
    a picture is written again with plain coding."""
    im = Image.fromarray(rgb)
    buf = io.BytesIO()
    try:
        im.save(buf, "JPEG", quality=quality, subsampling=subsampling, optimize=True, progressive=progressive, **kwargs)
    except OSError:
        log.info("optimised JPEG coding overflowed Pillow's buffer; writing with plain coding")
        buf = io.BytesIO()
        im.save(buf, "JPEG", quality=quality, subsampling=subsampling, **kwargs)
    return buf.getvalue()


def _blockwise_reason(source: LoadedImage | None, options: ExportOptions) -> str | None:
    """Why the block-wise JPEG save cannot be tried (None: try it)."""
    if not options.lossless_jpeg:
        return "block-wise saving was turned off"
    if source is None or source.format != "JPEG":
        return "the original is not a JPEG"
    return None


def _pillow_metadata(
    source: LoadedImage | None, options: ExportOptions, notes: list[str]
) -> tuple[dict[str, bytes], list[str]]:
    """Pillow save arguments for a non-JPEG export (or a JPEG from a non-JPEG) and what they keep."""
    if source is None:
        return {}, []
    kwargs: dict[str, bytes] = {}
    kept = []
    if options.keep_metadata and source.exif:
        kwargs["exif"] = source.exif
        kept.append("EXIF")
    if source.icc_profile:
        kwargs["icc_profile"] = source.icc_profile
        kept.append("colour profile")
    if options.keep_metadata and source.format == "JPEG" and _has_xmp(source.source_bytes):
        notes.append("the original's XMP metadata is kept only in JPEG exports")
    return kwargs, kept


def _left_out(source: LoadedImage | None, options: ExportOptions) -> bool:
    return source is not None and not options.keep_metadata and bool(source.exif)


def _has_xmp(data: bytes) -> bool:
    return b"http://ns.adobe.com/xap/1.0/\0" in data[:65536]


def _encode_other(
    fmt: str, rgb: np.ndarray, source: LoadedImage | None, options: ExportOptions, touched: np.ndarray
) -> tuple[bytes, ExportPlan, int]:
    notes: list[str] = []
    alpha = source.alpha if source is not None else None
    if alpha is not None and fmt not in _ALPHA_FORMATS:
        alpha = None
    high = source.high_bit if source is not None else None
    if high is not None and fmt not in _HIGH_BIT_FORMATS:
        notes.append(f"{fmt} is written at 8 bits: the 16-bit precision of the original was not kept")
        high = None
    method, pixels = _other_words(fmt, source, options)
    if high is not None:
        out16 = high.copy()
        out16[touched] = rgb[touched].astype(np.uint16) * 257
        alpha16 = None if alpha is None else (alpha if alpha.dtype == np.uint16 else alpha.astype(np.uint16) * 257)
        data, kept = _encode_16bit(fmt, out16, alpha16, source, options, notes)
        return data, ExportPlan(method, pixels, kept, notes, _left_out(source, options)), 16
    if alpha is not None and alpha.dtype == np.uint16:
        alpha = ((alpha.astype(np.uint32) * 255 + 32767) // 65535).astype(np.uint8)
    im = Image.fromarray(np.dstack([rgb, alpha]) if alpha is not None else rgb)
    kwargs, kept = _pillow_metadata(source, options, notes)
    buf = io.BytesIO()
    if fmt == "PNG":
        im.save(buf, "PNG", compress_level=6, **kwargs)
    elif fmt == "TIFF":
        tiffinfo = _tiff_descriptive_tags(kwargs.pop("exif", None))
        kept = [k for k in kept if k != "EXIF"]
        if tiffinfo:
            notes.append("TIFF keeps the basic EXIF fields only (camera, date, author, description)")
            kept.insert(0, "basic EXIF fields")
        im.save(buf, "TIFF", compression="tiff_adobe_deflate", tiffinfo=tiffinfo, **kwargs)
    else:
        lossless = options.quality == 100
        im.save(buf, "WEBP", quality=options.quality, lossless=lossless, method=4, exact=True, **kwargs)
    return buf.getvalue(), ExportPlan(method, pixels, kept, notes, _left_out(source, options)), 8


def _other_words(fmt: str, source: LoadedImage | None, options: ExportOptions) -> tuple[str, str]:
    """(method, how the pixels are written) for PNG, TIFF and WebP."""
    if fmt == "WEBP" and options.quality < 100:
        return METHOD_REENCODE, f"Whole photo compressed as WebP at quality {options.quality}"
    name = "WebP" if fmt == "WEBP" else fmt
    if source is None:
        return METHOD_LOSSLESS, f"Written losslessly ({name})"
    bits = ", at 16 bits" if source.high_bit is not None and fmt in _HIGH_BIT_FORMATS else ""
    return METHOD_LOSSLESS, f"Untouched pixels kept exactly as decoded from the original{bits} (lossless {name})"


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
) -> tuple[bytes, list[str]]:
    """16-bit PNG/TIFF through OpenCV (Pillow cannot write 16-bit colour); the data and what it keeps."""
    bgr = cv2.cvtColor(rgb16, cv2.COLOR_RGB2BGR)
    if alpha16 is not None:
        bgr = np.dstack([bgr, alpha16])
    ok, encoded = cv2.imencode(".png" if fmt == "PNG" else ".tiff", bgr)
    if not ok:
        raise ExportError(f"Could not encode the image as 16-bit {fmt}")
    data = encoded.tobytes()
    if source is None:
        return data, []
    if fmt == "PNG":
        chunks, kept = [], []
        if options.keep_metadata and source.exif:
            exif = source.exif[6:] if source.exif.startswith(b"Exif\0\0") else source.exif
            chunks.append(_png_chunk(b"eXIf", exif))
            kept.append("EXIF")
        if source.icc_profile:
            chunks.insert(0, _png_chunk(b"iCCP", b"ICC Profile\0\0" + zlib.compress(source.icc_profile)))
            kept.append("colour profile")
        return _png_insert_after_ihdr(data, chunks), kept
    if source.icc_profile or (options.keep_metadata and source.exif):
        notes.append("16-bit TIFF is written without the ICC profile and EXIF; use 16-bit PNG to keep them")
    return data, []


def _png_chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def _png_insert_after_ihdr(png: bytes, chunks: list[bytes]) -> bytes:
    """Metadata chunks go before the image data (iCCP must precede IDAT); IHDR is always first."""
    (ihdr_len,) = struct.unpack(">I", png[8:12])
    cut = 8 + 12 + ihdr_len
    return png[:cut] + b"".join(chunks) + png[cut:]
