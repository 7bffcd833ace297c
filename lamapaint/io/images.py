"""Load a photo into the editor's working form: upright RGB8, plus what export needs to give back.

Every format Pillow reads is accepted (JPEG, PNG, TIFF, WebP, BMP, GIF, AVIF where Pillow has it,
HEIC/HEIF when pillow-heif is installed). The working copy is always RGB uint8 with the EXIF
orientation applied; the file's EXIF, ICC profile, alpha channel and 16-bit samples are kept on the
``LoadedImage`` so export can restore them. 16-bit files are read with OpenCV because Pillow opens
16-bit colour as 8-bit and the precision would be lost without a word.

Loading is all-or-nothing: the whole file is decoded here, so a truncated or damaged file raises
``ImageLoadError`` (naming the file) rather than giving a half-grey document later. It is also
bounded: only regular files up to ``MAX_FILE_BYTES`` are read (a FIFO, a device or a symlink to one
is refused without blocking), and the image header's size and sample depth are checked against
``MAX_PIXELS`` and ``MAX_DECODE_BYTES`` before any pixel is decoded, a JPEG's scans against
``MAX_JPEG_SCANS`` (decoding time grows with them). ``ImageLoadError`` is the only
exception that leaves this module's loaders.
"""

from __future__ import annotations

import io
import logging
import os
import stat
import struct
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageCms, ImageFile, UnidentifiedImageError

from lamapaint.io.jpeg_structure import count_scans

log = logging.getLogger(__name__)

MAX_PIXELS = 200_000_000
"""Largest image accepted (width x height). 12-50 MP photos are normal; 200 MP leaves room for
panoramas while still refusing decompression bombs (a 200 MP RGB working copy is 600 MB)."""

MAX_FILE_BYTES = 1 << 30
"""Largest file read (1 GiB): an uncompressed 8-bit 200 MP TIFF is 600 MB, a camera JPEG 5-30 MB."""

MAX_DECODE_BYTES = 3 << 30
"""Ceiling on the memory decoding may take (3 GiB), estimated from the header before decoding:
8-bit photos up to MAX_PIXELS fit (palette and CMYK ones up to about 170 MP, uncompressed TIFFs
up to about 150 MP, their own bytes counting too); 16-bit files, which are held at 16 and at
8 bits, up to about 130 MP."""

MAX_JPEG_SCANS = 500
"""Most scans a JPEG may have. A progressive photo has about 10 (sequential: 1), and each scan
costs the decoder a pass over every coefficient: 20,000 repeats of one scan took 143 s of CPU to
decode a 1.6 MB, 24 MP file. 500 scans of a 24 MP photo cost about 4 s."""

# Peak bytes per pixel while decoding, measured with benchmarks/bench_loaders.py (plus a margin);
# the file's own bytes come on top. 8-bit RGB, RGBA and grey: Pillow's 4-byte pixels, the array
# export and the RGB8 copy; other modes (palette, CMYK, 32-bit) add a conversion; WebP's decoder
# keeps a second full buffer. 16-bit: OpenCV's array, the 16-bit RGB and alpha planes and the RGB8
# working copy (Pillow's 8-bit decode, when reading the EXIF needs one, is released before).
_DECODE_BYTES_PER_PIXEL_8BIT = 14
_DECODE_BYTES_PER_PIXEL_CONVERTED = 18
_DECODE_BYTES_PER_PIXEL_WEBP = 22
_DECODE_BYTES_PER_PIXEL_16BIT = 24
_DIRECT_MODES = ("RGB", "RGBA", "L", "1")

# Pillow warns above MAX_IMAGE_PIXELS and refuses above twice that; we refuse above MAX_PIXELS
# ourselves, before decoding, so the check stays on but no longer trips on ordinary big photos.
Image.MAX_IMAGE_PIXELS = MAX_PIXELS
# Truncated files must fail, never load with a grey bottom (this is Pillow's default; stated here
# because a library elsewhere flipping it would silently break that promise).
ImageFile.LOAD_TRUNCATED_IMAGES = False

EXIF_ORIENTATION = 0x0112
_EXIF_IFD = 0x8769
_GPS_IFD = 0x8825
# IFD0 tags that describe the photo rather than the TIFF file's own layout (for TIFF sources,
# whose IFD0 also holds strip offsets, compression, ... that mean nothing in another file).
_DESCRIPTIVE_TAGS = (
    0x010E, 0x010F, 0x0110, 0x0112, 0x011A, 0x011B, 0x0128, 0x0131, 0x0132, 0x013B, 0x8298,
)


def _register_heif() -> bool:
    """Register pillow-heif's opener (the optional ``lamapaint[heif]`` extra) when installed."""
    try:
        import pillow_heif
    except ImportError:
        return False
    try:
        pillow_heif.register_heif_opener()
    except Exception:  # a broken plugin must not stop plain JPEGs from loading
        log.warning("pillow-heif is installed but could not be registered", exc_info=True)
        return False
    return True


HEIF_AVAILABLE: bool = _register_heif()


class ImageLoadError(Exception):
    """The file could not be loaded; the message names the file and says what is wrong.

    The only exception ``load_image``, ``load_image_bytes``, ``load_mask`` and
    ``read_image_header`` raise (MemoryError and damaged-data errors of every type included).
    """


@dataclass(frozen=True)
class ImageHeader:
    """What the header says, before any pixel is decoded."""

    format: str
    width: int
    """As stored in the file (before the EXIF orientation is applied)."""
    height: int
    mode: str
    """Pillow's mode; 16-bit PNG/TIFF colour shows as 8-bit ("RGB"), see ``high_bit``."""
    high_bit: bool
    """True when the samples are 16-bit (decoded at 16 bits by ``load_image``)."""
    decode_bytes: int
    """Estimated peak memory of ``load_image`` for this file, its own bytes included."""


@dataclass(eq=False)
class LoadedImage:
    """A decoded photo and everything export needs to write it back faithfully."""

    path: Path | None
    rgb: np.ndarray
    """(H, W, 3) uint8 RGB, upright (EXIF orientation applied), read-only."""
    alpha: np.ndarray | None
    """(H, W) uint8 or uint16, upright, read-only; None when the file has no alpha."""
    high_bit: np.ndarray | None
    """(H, W, 3) uint16 RGB, upright, read-only, when the file was 16-bit; else None."""
    format: str
    """Pillow's format name: "JPEG", "PNG", "TIFF", "WEBP", "BMP", "HEIF", ..."""
    exif: bytes | None
    """EXIF block as Pillow writes it (starts with ``Exif\\0\\0``), orientation reset to 1."""
    icc_profile: bytes | None
    """An RGB ICC profile that describes ``rgb``; None means sRGB."""
    orientation: int
    """The EXIF orientation that was applied (1 = none)."""
    source_bytes: bytes
    """The file's bytes verbatim (project files embed them; lossless JPEG export reads them)."""
    tiff_compression: int | None = None
    """A TIFF's compression (tag 259: 1 none, 5 LZW, 8 Deflate, ...), which a TIFF export repeats."""
    tiff_predictor: int | None = None
    """A TIFF's predictor (tag 317: 2 horizontal differencing), kept with its compression."""

    @property
    def width(self) -> int:
        return int(self.rgb.shape[1])

    @property
    def height(self) -> int:
        return int(self.rgb.shape[0])


def load_image(path: str | os.PathLike[str]) -> LoadedImage:
    """Read and fully decode the photo at ``path``; raise ImageLoadError on any problem."""
    p = Path(path)
    return _decode(read_image_file(p), str(p), p)


def load_image_bytes(data: bytes, name: str = "<memory>") -> LoadedImage:
    """Decode an image held in memory (e.g. embedded in a project file)."""
    if len(data) > MAX_FILE_BYTES:
        raise ImageLoadError(f"Cannot open {name}: {len(data)} bytes, above the {_gib(MAX_FILE_BYTES)} file limit")
    return _decode(bytes(data), name, None)


def read_image_file(path: Path, limit: int = MAX_FILE_BYTES) -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes.

    Checked before reading: a FIFO would block for ever and ``/dev/zero`` never ends, so anything
    but a regular file (after following symlinks) is refused; the file is opened non-blocking and
    checked again on the open descriptor, so swapping it in between does not help either.
    """
    try:
        _require_regular(path, os.stat(path), limit)
        flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0) | getattr(os, "O_CLOEXEC", 0)
        fd = os.open(path, flags)
        with os.fdopen(fd, "rb", buffering=0) as fh:
            size = _require_regular(path, os.fstat(fh.fileno()), limit)
            data = _read_up_to(fh, size + 1)
    except ImageLoadError:
        raise
    except IsADirectoryError:
        raise ImageLoadError(f"Cannot open {path}: it is a folder, not an image file") from None
    except OSError as exc:
        raise ImageLoadError(f"Cannot read {path}: {exc.strerror or exc}") from exc
    except ValueError as exc:  # e.g. a NUL byte in the path
        raise ImageLoadError(f"Cannot read {path}: {exc}") from exc
    if len(data) != size:
        raise ImageLoadError(f"Cannot read {path}: the file changed size while it was read")
    return data


def _require_regular(path: Path, st: os.stat_result, limit: int) -> int:
    if stat.S_ISDIR(st.st_mode):
        raise ImageLoadError(f"Cannot open {path}: it is a folder, not an image file")
    if not stat.S_ISREG(st.st_mode):
        raise ImageLoadError(f"Cannot open {path}: not a regular file (a device, pipe or socket)")
    if st.st_size > limit:
        raise ImageLoadError(
            f"Cannot open {path}: the file is {st.st_size / 2**30:.1f} GiB, above the {_gib(limit)} limit"
        )
    return int(st.st_size)


def _read_up_to(fh: io.RawIOBase, limit: int) -> bytes:
    """At most ``limit`` bytes; one read for a regular file, more only if the kernel returns less."""
    data = fh.read(limit) or b""
    if len(data) >= limit or not data:
        return data
    parts = [data]
    got = len(data)
    while got < limit:
        chunk = fh.read(limit - got)
        if not chunk:
            break
        parts.append(chunk)
        got += len(chunk)
    return b"".join(parts)


def _gib(n: int) -> str:
    return f"{n / 2**30:g} GiB"


def read_image_header(data: bytes, name: str = "<memory>") -> ImageHeader:
    """Parse only the header (no pixel is decoded) and apply every limit ``load_image`` applies."""
    if not data:
        raise ImageLoadError(f"Cannot open {name}: the file is empty")
    try:
        with _open(data, name) as im:
            return _check_header(im, data, name)
    except ImageLoadError:
        raise
    except MemoryError:
        raise ImageLoadError(f"Cannot open {name}: not enough memory to read it") from None
    except Exception as exc:  # Pillow's plugins raise many types on damaged headers
        raise ImageLoadError(f"Cannot open {name}: the file is damaged ({type(exc).__name__}: {exc})") from exc


def load_mask(path: str | os.PathLike[str]) -> np.ndarray:
    """A mask file as uint8 0/255, read by ``mask_from_pil`` (no EXIF orientation applied).
    Bounded and checked like ``load_image``."""
    p = Path(path)
    data = read_image_file(p)
    name = str(p)
    if not data:
        raise ImageLoadError(f"Cannot open {name}: the file is empty")
    try:
        with _open(data, name) as im:
            _check_header(im, data, name)
            try:
                im.load()
            except Exception as exc:
                raise ImageLoadError(f"Cannot open {name}: the file is truncated or damaged ({exc})") from exc
            hole = mask_from_pil(im)
    except ImageLoadError:
        raise
    except MemoryError:
        raise ImageLoadError(f"Cannot open {name}: not enough memory to decode it") from None
    except Exception as exc:  # damaged data: Pillow raises many types
        log.warning("%s: unexpected error while decoding the mask", name, exc_info=True)
        raise ImageLoadError(f"Cannot open {name}: the file is damaged ({type(exc).__name__}: {exc})") from exc
    return hole.astype(np.uint8) * np.uint8(255)


#: Pillow modes whose one channel is the mask itself.
_MASK_MODES = ("1", "L", "I", "I;16", "I;16B", "I;16L", "F")
_ALPHA_MODES = ("RGBA", "LA", "La", "RGBa", "PA")


def mask_from_pil(im: Image.Image) -> np.ndarray:
    """The hole a mask image marks, as a bool (H, W) array.

    A grey image: any non-zero pixel. A colour image: any pixel with a non-zero channel (black
    keeps, any colour removes). One exception makes alpha masks work: where every pixel has the
    same colour and the transparency varies (strokes on a transparent layer, an alpha-only mask),
    the transparency says it, and every pixel that is not fully transparent is a hole.
    """
    if im.mode in _MASK_MODES:
        return np.asarray(im) != 0
    if im.mode in _ALPHA_MODES or "transparency" in im.info:
        rgba = np.asarray(im if im.mode == "RGBA" else im.convert("RGBA"))
        colour, alpha = rgba[..., :3], rgba[..., 3]
        if alpha.min() != alpha.max() and (colour == colour[0, 0]).all():
            return alpha != 0
        return np.bitwise_or.reduce(colour, axis=2) != 0
    return np.bitwise_or.reduce(np.asarray(im.convert("RGB")), axis=2) != 0


def apply_orientation(arr: np.ndarray, orientation: int) -> np.ndarray:
    """Turn an array as stored in the file into the upright view for EXIF ``orientation`` (1-8).

    Works on (H, W) and (H, W, C) arrays alike, so colour, alpha and 16-bit planes stay aligned.
    """
    if orientation == 2:
        return arr[:, ::-1]
    if orientation == 3:
        return arr[::-1, ::-1]
    if orientation == 4:
        return arr[::-1]
    if orientation == 5:
        return arr.swapaxes(0, 1)
    if orientation == 6:
        return np.rot90(arr, -1)
    if orientation == 7:
        return arr[::-1, ::-1].swapaxes(0, 1)
    if orientation == 8:
        return np.rot90(arr, 1)
    return arr


def _open(data: bytes, name: str) -> Image.Image:
    try:
        return Image.open(io.BytesIO(data))
    except UnidentifiedImageError:
        raise ImageLoadError(f"Cannot open {name}: not an image file, or a format this app cannot read") from None
    except Image.DecompressionBombError:
        raise ImageLoadError(f"Cannot open {name}: larger than the {MAX_PIXELS // 1_000_000} MP limit") from None
    except Exception as exc:  # Pillow raises many types (SyntaxError, struct.error, ...) on bad headers
        raise ImageLoadError(f"Cannot open {name}: the file is damaged ({exc})") from exc


def _check_header(im: Image.Image, data: bytes, name: str) -> ImageHeader:
    """The header's size and sample depth against the limits; nothing is decoded."""
    width, height = im.size
    if width <= 0 or height <= 0:
        raise ImageLoadError(f"Cannot open {name}: the image has no pixels")
    pixels = width * height
    if pixels > MAX_PIXELS:
        raise ImageLoadError(
            f"Cannot open {name}: {width}x{height} is {pixels / 1e6:.0f} MP, above the "
            f"{MAX_PIXELS // 1_000_000} MP limit"
        )
    fmt = im.format or "UNKNOWN"
    if fmt in ("JPEG", "MPO") and count_scans(data, MAX_JPEG_SCANS) > MAX_JPEG_SCANS:
        raise ImageLoadError(
            f"Cannot open {name}: the JPEG has more than {MAX_JPEG_SCANS} scans (a photo has about 10); "
            "decoding it could take minutes"
        )
    high_bit = _is_16bit(data, im, fmt)
    if high_bit:
        per_pixel = _DECODE_BYTES_PER_PIXEL_16BIT
    elif fmt == "WEBP":
        per_pixel = _DECODE_BYTES_PER_PIXEL_WEBP
    elif im.mode in _DIRECT_MODES and "transparency" not in im.info:
        per_pixel = _DECODE_BYTES_PER_PIXEL_8BIT
    else:
        per_pixel = _DECODE_BYTES_PER_PIXEL_CONVERTED
    need = pixels * per_pixel + len(data)
    if need > MAX_DECODE_BYTES:
        depth = "16-bit" if high_bit else "8-bit"
        raise ImageLoadError(
            f"Cannot open {name}: decoding this {width}x{height} {depth} image would take about "
            f"{need / 2**30:.1f} GiB of memory, above the {_gib(MAX_DECODE_BYTES)} limit"
        )
    return ImageHeader(fmt, width, height, im.mode, high_bit, need)


def _decode(data: bytes, name: str, path: Path | None) -> LoadedImage:
    if not data:
        raise ImageLoadError(f"Cannot open {name}: the file is empty")
    try:
        return _decode_checked(data, name, path)
    except ImageLoadError:
        raise
    except MemoryError:
        raise ImageLoadError(f"Cannot open {name}: not enough memory to decode it") from None
    except Exception as exc:  # damaged data: Pillow's and OpenCV's decoders raise many types
        log.warning("%s: unexpected error while decoding", name, exc_info=True)
        raise ImageLoadError(f"Cannot open {name}: the file is damaged ({type(exc).__name__}: {exc})") from exc


def _decode_checked(data: bytes, name: str, path: Path | None) -> LoadedImage:
    with _open(data, name) as im:
        header = _check_header(im, data, name)
        fmt = header.format
        _decode_before_exif(im, name)
        orientation = _read_orientation(im)
        icc = im.info.get("icc_profile") or None
        stored_hw = _stored_hw(im)
        tiff_compression, tiff_predictor = _tiff_compression(im)
        pixels = None if header.high_bit else _decode_8bit(im, orientation, icc, name)
        exif = _exif_to_keep(im, fmt)  # after the decode: it resets the orientation Pillow reports
        _log_frames(im, name)  # last: counting frames seeks, and may fail half way
    # 16-bit: OpenCV decodes the stored layout; Pillow's pixels (if reading the EXIF decoded them)
    # are released by now, so the two decodes never share the peak.
    high = _decode_16bit(data, stored_hw, name) if header.high_bit else None
    rgb16 = None
    if high is not None:
        rgb16, alpha = high  # OpenCV never applies the orientation
        rgb = _to_8bit(rgb16)
        pixels_orientation = orientation
    else:
        if pixels is None:  # 16-bit data OpenCV could not read: Pillow's 8 bits
            with _open(data, name) as im:
                pixels = _decode_8bit(im, orientation, icc, name)
        rgb, alpha, icc, pixels_orientation = pixels
    if icc is not None and _icc_colour_space(icc) != b"RGB ":
        # A grey/CMYK profile cannot describe RGB pixels (only reached for 16-bit grey files).
        log.info("%s: dropping a non-RGB ICC profile from the RGB working copy", name)
        icc = None
    rgb = _finish(apply_orientation(rgb, pixels_orientation))
    alpha = _finish(apply_orientation(alpha, pixels_orientation)) if alpha is not None else None
    rgb16 = _finish(apply_orientation(rgb16, pixels_orientation)) if rgb16 is not None else None
    return LoadedImage(
        path=path, rgb=rgb, alpha=alpha, high_bit=rgb16, format=fmt, exif=exif, icc_profile=icc,
        orientation=orientation, source_bytes=data, tiff_compression=tiff_compression, tiff_predictor=tiff_predictor,
    )


def _stored_hw(im: Image.Image) -> tuple[int, int]:
    """(height, width) as stored; Pillow's TIFF reports orientations 5-8 already transposed."""
    tags = getattr(im, "tag_v2", None)
    if im.format == "TIFF" and tags is not None and isinstance(tags.get(256), int) and isinstance(tags.get(257), int):
        return int(tags[257]), int(tags[256])
    return im.height, im.width


def _tiff_compression(im: Image.Image) -> tuple[int | None, int | None]:
    """(compression, predictor) codes of a TIFF's first page; (None, None) for other formats."""
    tags = getattr(im, "tag_v2", None)
    if im.format != "TIFF" or tags is None:
        return None, None
    compression, predictor = tags.get(259), tags.get(317)
    return (
        compression if isinstance(compression, int) else None,
        predictor if isinstance(predictor, int) else None,
    )


def _decode_8bit(
    im: Image.Image, orientation: int, icc: bytes | None, name: str
) -> tuple[np.ndarray, np.ndarray | None, bytes | None, int]:
    """RGB8, alpha, the ICC profile that still applies, and the orientation still to apply."""
    _load_pixels(im, name)
    # Some plugins (Pillow's TIFF) already turn the pixels upright on load and drop the tag.
    pillow_upright = orientation != 1 and _read_orientation(im) != orientation
    rgb, alpha, icc = _to_rgb8(im, icc, name)
    return rgb, alpha, icc, 1 if pillow_upright else orientation


def _load_pixels(im: Image.Image, name: str) -> None:
    """Full decode now, so truncation and damage surface here and not in the canvas."""
    try:
        im.load()
    except Exception as exc:
        raise ImageLoadError(f"Cannot open {name}: the file is truncated or damaged ({exc})") from exc


def _decode_before_exif(im: Image.Image, name: str) -> None:
    """Pillow's PNG reader, asked for the EXIF, decodes the whole image to look for an eXIf chunk
    after the pixels, and ``getexif()`` hides a failed decode: the later ``load()`` returns quietly
    with the damaged rows black. So a PNG without an eXIf chunk before its pixels is decoded first,
    where a failure refuses the file (a 16-bit PNG's 8-bit decode is released before OpenCV's)."""
    if im.format == "PNG" and "exif" not in im.info:
        _load_pixels(im, name)


def _log_frames(im: Image.Image, name: str) -> None:
    """Say when later frames/pages are ignored. Counting walks every frame, and a damaged later
    frame (a TIFF's second IFD) raises there: that must not cost the first one."""
    try:
        frames = getattr(im, "n_frames", 1)
    except Exception:  # noqa: BLE001 - any error counting damaged later frames must not cost the first
        log.info("%s: later frames or pages are damaged; only the first is read", name)
        return
    if frames > 1:
        log.info("%s has %d frames; only the first is edited", name, frames)


def _finish(arr: np.ndarray) -> np.ndarray:
    """Contiguous and read-only: the document shares these arrays; nothing else holds their base."""
    out = np.ascontiguousarray(arr)
    out.setflags(write=False)
    return out


def _read_orientation(im: Image.Image) -> int:
    """The EXIF orientation (1-8) as the file states it now; 1 when absent or invalid."""
    try:
        raw = im.getexif().get(EXIF_ORIENTATION, 1)
    except Exception:  # a damaged EXIF block must not cost the user the photo
        log.warning("ignoring unreadable EXIF data", exc_info=True)
        return 1
    return raw if isinstance(raw, int) and 1 <= raw <= 8 else 1


def _exif_to_keep(im: Image.Image, fmt: str) -> bytes | None:
    """The EXIF to write back on export: orientation 1 (pixels are upright), no thumbnail."""
    try:
        exif = im.getexif()
        if fmt == "TIFF":
            exif = _descriptive_exif(exif)
        if len(exif) == 0:
            return None
        if EXIF_ORIENTATION in exif:
            exif[EXIF_ORIENTATION] = 1
        # Pillow rebuilds IFD0 and the Exif/GPS sub-IFDs; the IFD1 thumbnail (which would still
        # show the removed object) is not written.
        return exif.tobytes()
    except Exception:
        log.warning("EXIF data could not be read or re-encoded and will not be exported", exc_info=True)
        return None


def _descriptive_exif(tiff_tags: Image.Exif) -> Image.Exif:
    out = Image.Exif()
    for tag in _DESCRIPTIVE_TAGS:
        if tag in tiff_tags:
            out[tag] = tiff_tags[tag]
    for ifd_tag in (_EXIF_IFD, _GPS_IFD):
        if ifd_tag in tiff_tags:
            sub = tiff_tags.get_ifd(ifd_tag)
            if sub:
                out.get_ifd(ifd_tag).update(sub)
                out[ifd_tag] = 0
    return out


def _is_16bit(data: bytes, im: Image.Image, fmt: str) -> bool:
    if im.mode.startswith("I;16"):
        return True
    if fmt == "PNG":
        return len(data) > 24 and data[12:16] == b"IHDR" and data[24] == 16
    if fmt == "TIFF":
        bits = getattr(im, "tag_v2", {}).get(258)
        bits = bits if isinstance(bits, tuple) else (bits,)
        return 16 in bits
    return False


def _decode_16bit(
    data: bytes, stored_hw: tuple[int, int], name: str
) -> tuple[np.ndarray, np.ndarray | None] | None:
    """16-bit RGB (and alpha) through OpenCV, in the file's stored layout (not yet upright);
    None (8-bit fallback) where OpenCV cannot read it."""
    if data.startswith(PNG_SIGNATURE) and not png_chunks_fit(data):
        raise ImageLoadError(f"Cannot open {name}: the file is damaged (a PNG chunk runs past the end of the file)")
    arr = cv2.imdecode(np.frombuffer(_tiff_without_orientation(data), np.uint8), cv2.IMREAD_UNCHANGED)
    if arr is None or arr.dtype != np.uint16 or arr.shape[:2] != stored_hw:
        log.warning("%s: 16-bit data could not be read losslessly; editing and exporting at 8 bits", name)
        return None
    if arr.ndim == 2:
        return np.repeat(arr[:, :, None], 3, axis=2), None
    if arr.shape[2] == 3:
        return cv2.cvtColor(arr, cv2.COLOR_BGR2RGB), None
    if arr.shape[2] == 4:
        alpha = arr[:, :, 3].copy()  # a copy, so the 8-byte-per-pixel decode can be freed
        return cv2.cvtColor(arr, cv2.COLOR_BGRA2RGB), alpha
    log.warning("%s: %d-channel 16-bit data; editing and exporting at 8 bits", name, arr.shape[2])
    return None


PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_chunks_fit(data: bytes) -> bool:
    """Whether every chunk up to IEND lies inside ``data``. OpenCV 5.0's PNG reader allocates a
    chunk's declared length before reading it: a 75-byte file claiming a 4 GB chunk cost 4 GB."""
    pos = len(PNG_SIGNATURE)
    while pos + 12 <= len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        if pos + 12 + length > len(data):
            return False
        if data[pos + 4 : pos + 8] == b"IEND":
            return True
        pos += 12 + length
    return False


def _tiff_without_orientation(data: bytes) -> bytes:
    """TIFF bytes with IFD0's orientation set to 1 (other data returned as is).

    OpenCV's TIFF reader applies the orientation tag even with IMREAD_UNCHANGED, its PNG reader
    does not; neutralising the tag gives the stored layout for every format, and the one
    orientation step in ``_decode`` stays the only one.
    """
    if data[:4] not in (b"II*\0", b"MM\0*") or len(data) < 8:
        return data
    end = "<" if data[:2] == b"II" else ">"
    (ifd,) = struct.unpack(end + "I", data[4:8])
    if ifd + 2 > len(data):
        return data
    (count,) = struct.unpack(end + "H", data[ifd : ifd + 2])
    for i in range(count):
        entry = ifd + 2 + 12 * i
        if entry + 12 > len(data):
            break
        tag, kind = struct.unpack(end + "HH", data[entry : entry + 4])
        if tag == EXIF_ORIENTATION and kind == 3:  # SHORT, stored in the entry itself
            out = bytearray(data)
            out[entry + 8 : entry + 10] = struct.pack(end + "H", 1)
            return bytes(out)
    return data


def _to_8bit(arr16: np.ndarray) -> np.ndarray:
    """Nearest 8-bit value: v8 * 257 maps back onto the same 16-bit scale (0 -> 0, 255 -> 65535).

    In bands of rows, so the uint32 intermediate stays small next to a 100 MP photo.
    """
    out = np.empty(arr16.shape, np.uint8)
    band = max(1, (1 << 22) // max(1, arr16[0].size))
    for top in range(0, arr16.shape[0], band):
        tmp = arr16[top : top + band].astype(np.uint32)
        tmp *= 255
        tmp += 32767
        tmp //= 65535
        out[top : top + band] = tmp
    return out


def _icc_colour_space(icc: bytes) -> bytes:
    return icc[16:20] if len(icc) >= 20 else b""


def _to_rgb8(im: Image.Image, icc: bytes | None, name: str) -> tuple[np.ndarray, np.ndarray | None, bytes | None]:
    """RGB8 (+ alpha) from any Pillow mode; returns the ICC profile that still applies."""
    mode = im.mode
    has_alpha = mode in ("RGBA", "LA", "La", "RGBa", "PA") or (mode == "P" and "transparency" in im.info)
    if icc is not None and _icc_colour_space(icc) in (b"CMYK", b"GRAY") and mode in ("CMYK", "L"):
        try:
            src = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            converted = ImageCms.profileToProfile(im, src, ImageCms.createProfile("sRGB"), outputMode="RGB")
            assert converted is not None
            return np.asarray(converted), None, None
        except Exception:  # noqa: BLE001 - any failure of a damaged profile falls back to a plain conversion
            log.warning("%s: colour conversion with the embedded profile failed; converting plainly", name)
    if icc is not None and _icc_colour_space(icc) != b"RGB ":
        icc = None
    # Converting to the mode the image already has would copy it: memory a 200 MP photo lacks.
    if has_alpha:
        rgba = np.asarray(im if mode == "RGBA" else im.convert("RGBA"))
        return np.ascontiguousarray(rgba[:, :, :3]), np.ascontiguousarray(rgba[:, :, 3]), icc
    if mode == "L":
        return np.repeat(np.asarray(im)[:, :, None], 3, axis=2), None, icc
    if mode in ("I", "F"):
        log.info("%s: %s samples are clipped to 0..255 for editing", name, mode)
    return np.asarray(im if mode == "RGB" else im.convert("RGB")), None, icc
