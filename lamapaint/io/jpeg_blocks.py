"""Re-save an edited JPEG by re-encoding only the MCUs that hold edited pixels.

Every other MCU keeps the original file's quantised DCT coefficients, so it decodes exactly as the
original did and the photo does not lose a generation of quality (or grow) on each save. The
touched MCUs are encoded with the original's quantisation tables and chroma sampling (by Pillow's
libjpeg, on an MCU-aligned crop) and their coefficients are spliced into the original's with
``jpeglib``, which reads and writes libjpeg coefficient arrays. Progressive originals are read
the same way (libjpeg gathers all their scans into one coefficient array) and written back as a
sequential file with the same coefficients, tables and sampling.

Only the layouts where that splice is exact are handled: 8-bit Huffman-coded YCbCr (sequential or
progressive) with 4:4:4, 4:2:2 or 4:2:0 sampling. Everything else, and any failure to load or use
jpeglib's native libjpeg (a frozen bundle that lacks it, a broken install), raises
``LosslessUnavailable`` with the reason, and the caller re-encodes the whole photo.

Nothing is claimed without a check. libjpeg 6b (inside jpeglib) can read a file differently from
the app's decoder (Pillow's libjpeg-turbo): files whose structure is known to be read
differently are refused first (``structure_reason``), and the result is decoded as the app
decodes and compared with the app's decoded original outside the re-encoded MCUs
(``verify_kept``). jpeglib itself runs in a child process (``isolated``) on a stream without
APPn/COM segments (``jpeg_structure.libjpeg_stream``): a crash in its C code costs the block-wise
save, and the export re-encodes instead.
"""

from __future__ import annotations

import functools
import io
import logging
import shutil
import struct
import tempfile
import weakref
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any, Callable, TypeVar

import numpy as np
from PIL import Image

from lamapaint.io import jpeg_structure
from lamapaint.io.isolated import Channel, IsolatedCrash, IsolatedWorker

if TYPE_CHECKING:
    import jpeglib

log = logging.getLogger(__name__)
_T = TypeVar("_T")

_SOF_HUFFMAN = (0xC0, 0xC1, 0xC2)  # baseline, extended sequential, progressive
_SOF_ARITHMETIC = (0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF)
_SOF_ALL = (0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF)
_SOS = 0xDA
_EOI = 0xD9
_APP14, _COM = 0xEE, 0xFE
# Pillow's ``subsampling`` argument for the luma sampling factors (h, v) it can reproduce.
_PILLOW_SUBSAMPLING = {(1, 1): 0, (2, 1): 1, (2, 2): 2}


class LosslessUnavailable(Exception):
    """This JPEG cannot be re-saved block by block; the message says why (for the export report)."""


@dataclass(frozen=True)
class Segment:
    """One marker segment of a JPEG header, ``raw`` including the FF xx marker and length."""

    marker: int
    raw: bytes

    @property
    def payload(self) -> bytes:
        return self.raw[4:]


@dataclass(frozen=True)
class Component:
    ident: int
    h: int
    v: int
    table: int


@dataclass(frozen=True)
class JpegLayout:
    sof_marker: int
    precision: int
    width: int
    height: int
    components: tuple[Component, ...]
    segments: tuple[Segment, ...]
    """Header segments before the first scan, in file order (APPn, COM, DQT, SOF, DHT, ...)."""
    scan_offset: int
    """Byte offset of the first SOS marker."""

    @property
    def adobe_transform(self) -> int | None:
        for seg in self.segments:
            if seg.marker == _APP14 and seg.payload.startswith(b"Adobe") and len(seg.payload) >= 12:
                return seg.payload[11]
        return None


@dataclass(frozen=True)
class BlockMergeResult:
    data: bytes
    mcus_total: int
    mcus_reencoded: int


def parse_layout(data: bytes) -> JpegLayout:
    """Read the header of a JPEG up to its first scan; ValueError if it is not a readable JPEG."""
    if not data.startswith(b"\xff\xd8"):
        raise ValueError("not a JPEG file (no SOI marker)")
    segments: list[Segment] = []
    sof: Segment | None = None
    pos = 2
    while True:
        while pos < len(data) and data[pos] == 0xFF and pos + 1 < len(data) and data[pos + 1] == 0xFF:
            pos += 1  # fill bytes
        if pos + 4 > len(data) or data[pos] != 0xFF:
            raise ValueError(f"malformed JPEG header at byte {pos}")
        marker = data[pos + 1]
        if marker == _EOI:
            raise ValueError("JPEG has no image data")
        (length,) = struct.unpack(">H", data[pos + 2 : pos + 4])
        end = pos + 2 + length
        if length < 2 or end > len(data):
            raise ValueError(f"JPEG segment at byte {pos} runs past the end of the file")
        seg = Segment(marker, data[pos:end])
        if marker == _SOS:
            break
        segments.append(seg)
        if marker in _SOF_ALL:
            sof = seg
        pos = end
    if sof is None:
        raise ValueError("JPEG has no frame header")
    p = sof.payload
    precision, height, width, ncomp = p[0], *struct.unpack(">HH", p[1:5]), p[5]
    comps = tuple(
        Component(p[6 + 3 * i], p[7 + 3 * i] >> 4, p[7 + 3 * i] & 15, p[8 + 3 * i]) for i in range(ncomp)
    )
    return JpegLayout(sof.marker, precision, width, height, comps, tuple(segments), pos)


def load_jpeglib() -> ModuleType:
    """The jpeglib module; LosslessUnavailable when it or its native libjpeg cannot be loaded."""
    module, problem = _import_jpeglib()
    if module is None:
        raise LosslessUnavailable(problem)
    return module


@functools.cache  # one try per process: a bundle or an install does not repair itself mid-run
def _import_jpeglib() -> tuple[ModuleType | None, str]:
    """jpeglib loads its libjpeg builds with ctypes when imported, so a missing package raises
    ImportError, a frozen bundle without ``jpeglib/cjpeglib/*.so`` FileNotFoundError or OSError,
    a partial install RuntimeError: each of them only costs the block-wise save."""
    try:
        import jpeglib
    except Exception as exc:
        log.warning("jpeglib could not be loaded; JPEG exports re-encode the whole photo", exc_info=True)
        return None, f"the JPEG coefficient library (jpeglib) could not be loaded ({_describe(exc)})"
    return jpeglib, ""


def blockwise_unavailable() -> str | None:
    """Why no block-wise save can work in this installation (jpeglib not loadable), or None."""
    try:
        load_jpeglib()
    except LosslessUnavailable as exc:
        return str(exc)
    return None


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def _libjpeg(what: str, call: Callable[..., _T], *args: Any, **kwargs: Any) -> _T:
    """Run one jpeglib call; any failure of it or of its native library means no block-wise save."""
    try:
        return call(*args, **kwargs)
    except LosslessUnavailable:
        raise
    except Exception as exc:
        raise LosslessUnavailable(f"libjpeg (through jpeglib) could not {what} ({_describe(exc)})") from exc


def unsupported_reason(layout: JpegLayout) -> str | None:
    """Why block-wise re-saving is impossible for this layout, or None when it is possible."""
    if layout.sof_marker in _SOF_ARITHMETIC:
        return "the original uses arithmetic coding"
    if layout.sof_marker not in _SOF_HUFFMAN:
        return f"the original uses an unusual JPEG process (SOF{layout.sof_marker - 0xC0})"
    if layout.precision != 8:
        return f"the original is a {layout.precision}-bit JPEG"
    n = len(layout.components)
    if n == 1:
        return "the original is a greyscale JPEG and the edit may add colour"
    if n == 4:
        return "the original is a CMYK JPEG"
    if n != 3:
        return f"the original has {n} colour components"
    if len({c.ident for c in layout.components}) != n:
        return "the original gives two colour components the same id"
    if layout.adobe_transform == 0 or tuple(c.ident for c in layout.components) == (82, 71, 66):
        return "the original stores RGB rather than YCbCr"
    y, cb, cr = layout.components
    if (cb.h, cb.v, cr.h, cr.v) != (1, 1, 1, 1) or (y.h, y.v) not in _PILLOW_SUBSAMPLING:
        return "the original uses unusual chroma sampling " + " ".join(f"{c.h}x{c.v}" for c in layout.components)
    return None


def pillow_subsampling(layout: JpegLayout) -> tuple[int, bool] | None:
    """Pillow's ``subsampling`` for a re-encode that keeps the original's chroma sampling.

    Returns (value, exact); exact is False where Pillow cannot write the original's factors and
    the nearest of 4:4:4, 4:2:2 and 4:2:0 is given. None for a greyscale or CMYK original.
    """
    if len(layout.components) != 3:
        return None
    y, cb, cr = layout.components
    if (cb.h, cb.v, cr.h, cr.v) == (1, 1, 1, 1) and (y.h, y.v) in _PILLOW_SUBSAMPLING:
        return _PILLOW_SUBSAMPLING[(y.h, y.v)], True
    h, v = y.h / max(cb.h, cr.h), y.v / max(cb.v, cr.v)
    return (0 if h * v < 1.5 else 1 if h * v < 3 else 2), False


def sampling_name(layout: JpegLayout) -> str:
    """The chroma sampling in the usual J:a:b words ("4:2:2"), or the factors where unusual."""
    if len(layout.components) != 3:
        return f"{len(layout.components)} component(s)"
    y, cb, cr = layout.components
    names = {(1, 1): "4:4:4", (2, 1): "4:2:2", (2, 2): "4:2:0", (1, 2): "4:4:0", (4, 1): "4:1:1"}
    if (cb.h, cb.v, cr.h, cr.v) == (1, 1, 1, 1) and (y.h, y.v) in names:
        return names[(y.h, y.v)]
    return " ".join(f"{c.h}x{c.v}" for c in layout.components)


class BlockSource:
    """An original JPEG's header layout, and a child process holding its quantised coefficients.

    Reading the coefficients is most of a save's cost on a large photo (about 0.45 s for 20 MP);
    :func:`read_block_source` lets a caller do it ahead, while the CPU would otherwise wait (the
    CLI does it while torch is imported). jpeglib runs in that child (``isolated``), so a crash
    in its C code costs the block-wise save only. It serves one save: ``merge_blocks`` closes
    it, and so does dropping it (the child ends, its temporary folder goes).
    """

    def __init__(self, layout: JpegLayout, worker: IsolatedWorker, folder: Path) -> None:
        self.layout = layout
        self.worker = worker
        self._release = weakref.finalize(self, _release, worker, folder)

    def close(self) -> None:
        self._release()


def _release(worker: IsolatedWorker, folder: Path) -> None:
    worker.close()
    shutil.rmtree(folder, ignore_errors=True)


def structure_reason(structure: jpeg_structure.JpegStructure) -> str | None:
    """Why libjpeg 6b (through jpeglib) may read other coefficients than the app's decoder, or None.

    The app decodes with Pillow's libjpeg-turbo; these files are read differently by the two
    (found by fuzzing, issue 17), so their untouched blocks could not be kept "exactly".
    """
    if structure.eoi is None:
        return "the original is truncated (it ends before its end-of-image marker)"
    if structure.stray_bytes:
        return "the original has stray bytes between its markers"
    if sum(1 for s in structure.segments if s.marker in _SOF_ALL) != 1:
        return "the original has more than one frame header"
    if any(s.marker == jpeg_structure.DQT for s in structure.after_first_scan()):
        return "the original redefines a quantisation table after its first scan"
    return None


def read_block_source(source: bytes) -> BlockSource:
    """The layout and coefficients of ``source``; LosslessUnavailable where a block-wise save cannot work.

    jpeglib is handed ``source`` without its APPn/COM segments (``jpeg_structure.libjpeg_stream``)
    and reads it in a child process; the copy it reads lives in a ``lamapaint-jpeg-*`` folder
    only until the coefficients are read.
    """
    try:
        layout = parse_layout(source)
    except ValueError as exc:
        raise LosslessUnavailable(f"the original's header could not be read ({exc})") from None
    reason = unsupported_reason(layout)
    if reason:
        raise LosslessUnavailable(reason)
    try:
        structure = jpeg_structure.walk(source)
    except ValueError as exc:
        raise LosslessUnavailable(f"the original's structure could not be read ({exc})") from None
    reason = structure_reason(structure)
    if reason:
        raise LosslessUnavailable(reason)
    load_jpeglib()  # where this process cannot load it, the child cannot either: no need to start one
    stream = jpeg_structure.libjpeg_stream(source, structure)
    folder = Path(tempfile.mkdtemp(prefix="lamapaint-jpeg-"))
    src_path, out_path = folder / "source.jpg", folder / "out.jpg"
    try:
        src_path.write_bytes(stream)
        worker = IsolatedWorker(_serve_coefficients, str(src_path), str(out_path), temp_dir=str(folder))
    except (OSError, IsolatedCrash) as exc:
        shutil.rmtree(folder, ignore_errors=True)
        raise LosslessUnavailable(f"the JPEG helper process could not be started ({_describe(exc)})") from exc
    block_source = BlockSource(layout, worker, folder)
    try:
        _answer(worker, "reading the original")
    except LosslessUnavailable:
        block_source.close()
        raise
    src_path.unlink(missing_ok=True)  # the child holds the coefficients now
    return block_source


def _answer(worker: IsolatedWorker, doing: str, request: Any = None) -> tuple[Any, ...]:
    """The child's next "ok" answer (to ``request``, where given); LosslessUnavailable with its
    reason, or with how it crashed."""
    try:
        if request is not None:
            worker.send(request)
        answer = worker.receive()
    except IsolatedCrash as exc:
        log.info("the JPEG helper process crashed %s: it %s", doing, exc)  # the export report says it
        raise LosslessUnavailable(f"libjpeg (through jpeglib) crashed {doing}: its process {exc}") from None
    if answer[0] != "ok":
        raise LosslessUnavailable(answer[1])
    return tuple(answer[1:])


@dataclass(frozen=True)
class _Splice:
    """What the child needs to re-encode the touched MCUs: the MCU-aligned box around them."""

    crop: np.ndarray
    mcu_row: int
    mcu_col: int
    touched: np.ndarray
    """The box's (rows, cols) MCU grid: True where an MCU is re-encoded."""
    factors: list[tuple[int, int]]


def _serve_coefficients(conn: Channel, src_path: str, out_path: str) -> None:
    """The child process: read the coefficients, then splice and write when the parent asks."""
    try:
        jpeglib = load_jpeglib()
        coefficients = _libjpeg("read the original's coefficients", jpeglib.read_dct, src_path)
        _libjpeg("read the original's coefficients", coefficients.load)
    except LosslessUnavailable as exc:
        conn.send(("unavailable", str(exc)))
        return
    conn.send(("ok",))
    try:
        request = conn.recv()
    except EOFError:  # the parent closed: no save after all
        return
    _, splice = request
    try:
        if splice is not None:
            _splice_touched(coefficients, splice, Path(out_path).with_name("region.jpg"))
        coefficients.markers = []
        _libjpeg("write the coefficients", coefficients.write_dct, out_path, flags=["+OPTIMIZE_CODING"])
        out = Path(out_path)
        data = out.read_bytes()
        out.unlink()
    except LosslessUnavailable as exc:
        conn.send(("unavailable", str(exc)))
        return
    except Exception as exc:  # noqa: BLE001 - any failure here costs the block-wise save, which the parent reports
        conn.send(("unavailable", f"the block-wise save failed ({_describe(exc)})"))
        return
    conn.send(("ok", data))


def merge_blocks(
    source: bytes,
    edited_rgb: np.ndarray,
    touched: np.ndarray,
    block_source: BlockSource | None = None,
    decoded_original: np.ndarray | None = None,
) -> BlockMergeResult:
    """Return a JPEG with the original's coefficients except in MCUs where ``touched`` is set.

    ``edited_rgb`` is the full (H, W, 3) uint8 image in the file's own orientation; ``block_source``
    is ``source`` read ahead by :func:`read_block_source` (read here when None). The result is a
    sequential JPEG (also for a progressive original) whose header segments are libjpeg's (JFIF,
    tables); callers put back APPn/COM segments with ``replace_app_segments``. Raises
    LosslessUnavailable where this cannot be done exactly.

    ``decoded_original`` is the original as the app decoded it (stored orientation): the result
    is decoded the same way and must show those very pixels outside the re-encoded MCUs and
    their neighbours (chroma upsampling reaches one MCU across), or LosslessUnavailable says so.
    """
    block_source = block_source or read_block_source(source)
    try:
        layout = block_source.layout
        height, width = edited_rgb.shape[:2]
        if (layout.height, layout.width) != (height, width) or touched.shape != (height, width):
            raise LosslessUnavailable("the edited image does not have the original's size")
        factors = [(c.h, c.v) for c in layout.components]
        hmax, vmax = max(f[0] for f in factors), max(f[1] for f in factors)
        mcu_w, mcu_h = 8 * hmax, 8 * vmax
        mcu_touched = _mcu_grid(touched, mcu_h, mcu_w)
        splice = _splice_request(edited_rgb, mcu_touched, factors, mcu_h, mcu_w) if mcu_touched.any() else None
        (data,) = _answer(block_source.worker, "writing the result", ("write", splice))
    finally:
        block_source.close()
    if decoded_original is not None:
        verify_kept(data, decoded_original, mcu_touched, mcu_h, mcu_w)
    log.debug("block-wise JPEG: re-encoded %d of %d MCUs", int(mcu_touched.sum()), mcu_touched.size)
    return BlockMergeResult(data, int(mcu_touched.size), int(mcu_touched.sum()))


def verify_kept(data: bytes, decoded_original: np.ndarray, mcu_touched: np.ndarray, mcu_h: int, mcu_w: int) -> None:
    """LosslessUnavailable unless ``data`` decodes (as the app decodes) to ``decoded_original``
    in every MCU that is neither re-encoded nor next to one."""
    try:
        with Image.open(io.BytesIO(data)) as im:
            im.load()
            decoded = np.asarray(im if im.mode == "RGB" else im.convert("RGB"))
    except Exception as exc:
        raise LosslessUnavailable(f"the block-wise result could not be decoded ({_describe(exc)})") from exc
    if decoded.shape != decoded_original.shape:
        raise LosslessUnavailable("the block-wise result does not have the original's size")
    differs = _differing_mcus(decoded, decoded_original, mcu_h, mcu_w) & ~_grow(mcu_touched)
    if differs.any():
        raise LosslessUnavailable(
            f"libjpeg reads the original differently from the app's decoder ({int(differs.sum())} untouched "
            f"MCUs of {differs.size} would change)"
        )


def _differing_mcus(a: np.ndarray, b: np.ndarray, mcu_h: int, mcu_w: int) -> np.ndarray:
    """(rows, cols) bool: the MCUs where the (H, W, 3) images differ. One MCU row at a time, so
    the temporaries stay small (a whole-image comparison costs 3 bytes per pixel, and more time)."""
    height, width = a.shape[:2]
    rows, cols = -(-height // mcu_h), -(-width // mcu_w)
    out = np.zeros((rows, cols), bool)
    flat_a, flat_b = a.reshape(height, width * 3), b.reshape(height, width * 3)
    padded = np.zeros(cols * mcu_w * 3, bool)
    for row in range(rows):
        band = slice(row * mcu_h, (row + 1) * mcu_h)
        padded[: width * 3] = (flat_a[band] != flat_b[band]).any(axis=0)
        out[row] = padded.reshape(cols, mcu_w * 3).any(axis=1)
    return out


def _grow(grid: np.ndarray) -> np.ndarray:
    """``grid`` with each True cell's eight neighbours set too."""
    padded = np.pad(grid, 1)
    out = np.zeros_like(grid)
    rows, cols = grid.shape
    for dr in range(3):
        for dc in range(3):
            out |= padded[dr : dr + rows, dc : dc + cols]
    return out


def _splice_request(
    edited_rgb: np.ndarray, mcu_touched: np.ndarray, factors: list[tuple[int, int]], mcu_h: int, mcu_w: int
) -> _Splice:
    """The MCU-aligned box around the touched MCUs: it starts on an MCU boundary and ends on one (or
    at the image edge), so libjpeg's colour conversion, chroma downsampling and edge padding see
    exactly what they would in a full-image encode, and each block of the box equals that block
    of a full encode."""
    height, width = edited_rgb.shape[:2]
    rows = np.flatnonzero(mcu_touched.any(axis=1))
    cols = np.flatnonzero(mcu_touched.any(axis=0))
    r0, r1, c0, c1 = int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1
    crop = np.ascontiguousarray(edited_rgb[r0 * mcu_h : min(r1 * mcu_h, height), c0 * mcu_w : min(c1 * mcu_w, width)])
    return _Splice(crop, r0, c0, mcu_touched[r0:r1, c0:c1].copy(), factors)


def _mcu_grid(touched: np.ndarray, mcu_h: int, mcu_w: int) -> np.ndarray:
    """(rows, cols) bool: which MCUs contain at least one touched pixel."""
    h, w = touched.shape
    rows, cols = -(-h // mcu_h), -(-w // mcu_w)
    padded = np.zeros((rows * mcu_h, cols * mcu_w), dtype=bool)
    padded[:h, :w] = touched
    return padded.reshape(rows, mcu_h, cols, mcu_w).any(axis=(1, 3))


def _splice_touched(original: "jpeglib.DCTJPEG", splice: _Splice, crop_path: Path) -> None:
    """Encode ``splice.crop`` with the original's tables and copy its touched blocks into the
    original's coefficient planes, in place (a copy would cost 1.25 bytes per photo pixel at 4:2:0).
    jpeglib reads the encoded crop from ``crop_path``, in the parent's folder, which goes with it."""
    tables = [original.get_component_qt(i) for i in range(3)]
    qtables = [tables[0].ravel().tolist(), tables[1].ravel().tolist()]
    if not np.array_equal(tables[1], tables[2]):
        qtables.append(tables[2].ravel().tolist())
    buf = io.BytesIO()
    Image.fromarray(splice.crop).save(buf, "JPEG", qtables=qtables, subsampling=_PILLOW_SUBSAMPLING[splice.factors[0]])
    try:
        crop_path.write_bytes(buf.getvalue())
        region = _libjpeg("read the re-encoded region", load_jpeglib().read_dct, str(crop_path))
        _libjpeg("read the re-encoded region", region.load)
    finally:
        crop_path.unlink(missing_ok=True)
    region_layout = parse_layout(buf.getvalue())
    if [(c.h, c.v) for c in region_layout.components] != splice.factors:
        raise LosslessUnavailable("the encoder did not reproduce the original's chroma sampling")
    for i in range(3):
        if not np.array_equal(region.get_component_qt(i), tables[i]):
            raise LosslessUnavailable("the encoder did not reproduce the original's quantisation tables")

    planes = [original.Y, original.Cb, original.Cr]
    region_planes = [region.Y, region.Cb, region.Cr]
    for plane, new, (h, v) in zip(planes, region_planes, splice.factors):
        sel = np.repeat(np.repeat(splice.touched, v, axis=0), h, axis=1)
        br, bc = splice.mcu_row * v, splice.mcu_col * h
        nr, nc = min(sel.shape[0], plane.shape[0] - br), min(sel.shape[1], plane.shape[1] - bc)
        if new.shape[:2] != (nr, nc):
            raise LosslessUnavailable("the re-encoded region has an unexpected block layout")
        sel = sel[:nr, :nc]
        target = plane[br : br + nr, bc : bc + nc]
        target[sel] = new[sel]


def app_segments(layout: JpegLayout) -> list[Segment]:
    """The APPn and COM segments of a header, in file order."""
    return [s for s in layout.segments if 0xE0 <= s.marker <= 0xEF or s.marker == _COM]


def make_segment(marker: int, payload: bytes) -> Segment:
    if len(payload) > 65533:
        raise ValueError(f"a JPEG segment holds at most 65533 bytes, not {len(payload)}")
    return Segment(marker, bytes([0xFF, marker]) + struct.pack(">H", len(payload) + 2) + payload)


def replace_app_segments(jpeg: bytes, segments: list[Segment]) -> bytes:
    """``jpeg`` with its APPn/COM segments replaced by ``segments`` (placed right after SOI).

    The encoder's own JFIF header goes too, so the file holds the original's header segments and
    no others; without JFIF or Adobe markers, decoders take three components with ids 1, 2, 3
    (what libjpeg writes) as YCbCr.
    """
    layout = parse_layout(jpeg)
    # Copy structural segments verbatim; the scan and everything after it follows unchanged.
    structural = [s.raw for s in layout.segments if not (0xE0 <= s.marker <= 0xEF or s.marker == _COM)]
    return b"".join([b"\xff\xd8", *(s.raw for s in segments), *structural, jpeg[layout.scan_offset :]])
