"""Load a photo into the editor's working form: upright RGB8, plus what export needs to give back.

Every format Pillow reads is accepted (JPEG, PNG, TIFF, WebP, BMP, GIF, AVIF where Pillow has it,
HEIC/HEIF when pillow-heif is installed). The working copy is always RGB uint8 with the EXIF
orientation applied; the file's EXIF, ICC profile, alpha channel and 16-bit samples are kept on the
``LoadedImage`` so export can restore them. 16-bit files are read with OpenCV because Pillow opens
16-bit colour as 8-bit and the precision would be lost without a word.

Loading is all-or-nothing: the whole file is decoded here, so a truncated or damaged file raises
``ImageLoadError`` (naming the file) rather than giving a half-grey document later.
"""

from __future__ import annotations

import io
import logging
import os
import struct
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageCms, ImageFile, UnidentifiedImageError

log = logging.getLogger(__name__)

MAX_PIXELS = 200_000_000
"""Largest image accepted (width x height). 12-50 MP photos are normal; 200 MP leaves room for
panoramas while still refusing decompression bombs (a 200 MP RGB working copy is 600 MB)."""

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
    """The file could not be loaded; the message names the file and says what is wrong."""


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

    @property
    def width(self) -> int:
        return int(self.rgb.shape[1])

    @property
    def height(self) -> int:
        return int(self.rgb.shape[0])


def load_image(path: str | os.PathLike[str]) -> LoadedImage:
    """Read and fully decode the photo at ``path``; raise ImageLoadError on any problem."""
    p = Path(path)
    try:
        data = p.read_bytes()
    except IsADirectoryError:
        raise ImageLoadError(f"Cannot open {p}: it is a folder, not an image file") from None
    except OSError as exc:
        raise ImageLoadError(f"Cannot read {p}: {exc.strerror or exc}") from exc
    return _decode(data, str(p), p)


def load_image_bytes(data: bytes, name: str = "<memory>") -> LoadedImage:
    """Decode an image held in memory (e.g. embedded in a project file)."""
    return _decode(bytes(data), name, None)


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


def _decode(data: bytes, name: str, path: Path | None) -> LoadedImage:
    if not data:
        raise ImageLoadError(f"Cannot open {name}: the file is empty")
    try:
        im = Image.open(io.BytesIO(data))
    except UnidentifiedImageError:
        raise ImageLoadError(f"Cannot open {name}: not an image file, or a format this app cannot read") from None
    except Image.DecompressionBombError:
        raise ImageLoadError(f"Cannot open {name}: larger than the {MAX_PIXELS // 1_000_000} MP limit") from None
    except Exception as exc:  # Pillow raises many types (SyntaxError, struct.error, ...) on bad headers
        raise ImageLoadError(f"Cannot open {name}: the file is damaged ({exc})") from exc
    with im:
        width, height = im.size
        if width <= 0 or height <= 0:
            raise ImageLoadError(f"Cannot open {name}: the image has no pixels")
        if width * height > MAX_PIXELS:
            raise ImageLoadError(
                f"Cannot open {name}: {width}x{height} is {width * height / 1e6:.0f} MP, above the "
                f"{MAX_PIXELS // 1_000_000} MP limit"
            )
        fmt = im.format or "UNKNOWN"
        if getattr(im, "n_frames", 1) > 1:
            log.info("%s has %d frames; only the first is edited", name, im.n_frames)
        orientation = _read_orientation(im)
        try:
            im.load()  # full decode now, so truncation surfaces here and not in the canvas
        except Exception as exc:
            raise ImageLoadError(f"Cannot open {name}: the file is truncated or damaged ({exc})") from exc
        # Some plugins (Pillow's TIFF) already turn the pixels upright on load and drop the tag.
        pillow_upright = orientation != 1 and _read_orientation(im) != orientation
        exif = _exif_to_keep(im, fmt)
        icc = im.info.get("icc_profile") or None
        stored_hw = (im.width, im.height) if pillow_upright and orientation >= 5 else (im.height, im.width)
        high = _decode_16bit(data, stored_hw, name) if _is_16bit(data, im, fmt) else None
        if high is not None:
            rgb16, alpha = high  # OpenCV never applies the orientation
            rgb = _to_8bit(rgb16)
            pixels_orientation = orientation
        else:
            rgb16 = None
            rgb, alpha, icc = _to_rgb8(im, icc, name)
            pixels_orientation = 1 if pillow_upright else orientation
    if icc is not None and _icc_colour_space(icc) != b"RGB ":
        # A grey/CMYK profile cannot describe RGB pixels (only reached for 16-bit grey files).
        log.info("%s: dropping a non-RGB ICC profile from the RGB working copy", name)
        icc = None
    rgb = _finish(apply_orientation(rgb, pixels_orientation))
    alpha = _finish(apply_orientation(alpha, pixels_orientation)) if alpha is not None else None
    rgb16 = _finish(apply_orientation(rgb16, pixels_orientation)) if rgb16 is not None else None
    return LoadedImage(
        path=path, rgb=rgb, alpha=alpha, high_bit=rgb16, format=fmt, exif=exif, icc_profile=icc,
        orientation=orientation, source_bytes=data,
    )


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
    arr = cv2.imdecode(np.frombuffer(_tiff_without_orientation(data), np.uint8), cv2.IMREAD_UNCHANGED)
    if arr is None or arr.dtype != np.uint16 or arr.shape[:2] != stored_hw:
        log.warning("%s: 16-bit data could not be read losslessly; editing and exporting at 8 bits", name)
        return None
    if arr.ndim == 2:
        return np.repeat(arr[:, :, None], 3, axis=2), None
    if arr.shape[2] == 3:
        return cv2.cvtColor(arr, cv2.COLOR_BGR2RGB), None
    if arr.shape[2] == 4:
        return cv2.cvtColor(arr, cv2.COLOR_BGRA2RGB), arr[:, :, 3]
    log.warning("%s: %d-channel 16-bit data; editing and exporting at 8 bits", name, arr.shape[2])
    return None


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
    """Nearest 8-bit value: v8 * 257 maps back onto the same 16-bit scale (0 -> 0, 255 -> 65535)."""
    return ((arr16.astype(np.uint32) * 255 + 32767) // 65535).astype(np.uint8)


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
    if has_alpha:
        rgba = np.asarray(im.convert("RGBA"))
        return np.ascontiguousarray(rgba[:, :, :3]), np.ascontiguousarray(rgba[:, :, 3]), icc
    if mode in ("I", "F"):
        log.info("%s: %s samples are clipped to 0..255 for editing", name, mode)
    return np.asarray(im.convert("RGB")), None, icc
