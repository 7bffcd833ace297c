"""JPEGs crafted to break what trusts a decoder (issue 17): each is a valid-enough file that
Pillow loads, built from an ordinary Pillow JPEG by moving or repeating its own segments."""

from __future__ import annotations

import io
import struct
from typing import Callable

import numpy as np
from PIL import Image

from lamapaint.io import jpeg_structure


def picture(h: int = 96, w: int = 128, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w]
    base = np.stack([x * 200 // w + 20, y * 200 // h + 30, (x + y) * 150 // (w + h) + 40], axis=-1)
    return np.clip(base + rng.integers(-20, 21, (h, w, 3)), 0, 255).astype(np.uint8)


def pillow_jpeg(rgb: np.ndarray, **kw: object) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "JPEG", **{"quality": 85, "subsampling": 2, **kw})
    return buf.getvalue()


def _segments(data: bytes) -> list[jpeg_structure.MarkerSegment]:
    return list(jpeg_structure.walk(data).segments)


def _eoi(data: bytes) -> int:
    eoi = jpeg_structure.walk(data).eoi
    assert eoi is not None
    return eoi


def empty_com_then_metadata(data: bytes, marker: int = 0xFE, later: int = 200) -> bytes:
    """An empty COM (``FF FE 00 02``) or APPn segment, then ``later`` bytes of comment: jpeglib
    sized its marker buffer up to the empty one and copied them all (a heap overflow)."""
    empty = bytes((0xFF, marker, 0x00, 0x02))
    comment = b"\xff\xfe" + struct.pack(">H", later + 2) + b"c" * later
    return data[:2] + empty + comment + data[2:]


def dqt_after_scan(data: bytes) -> bytes:
    """A second luma DQT after the scan: decoders use the table latched at the scan, libjpeg 6b's
    coefficient reader the last one seen."""
    table = bytes([0x00]) + bytes(range(1, 65))
    dqt = b"\xff\xdb" + struct.pack(">H", len(table) + 2) + table
    end = _eoi(data)
    return data[:end] + dqt + data[end:]


def duplicate_component_ids(data: bytes) -> bytes:
    """Component ids 1, 1, 2 in the frame and the scans (decoders disagree on which is which)."""
    out = bytearray(data)
    for seg in _segments(data):
        if seg.marker == 0xC0 or seg.marker == 0xC2:
            ncomp = out[seg.start + 9]
            for i, new in zip(range(ncomp), (1, 1, 2)):
                out[seg.start + 10 + 3 * i] = new
        elif seg.marker == jpeg_structure.SOS:
            ns = out[seg.start + 4]
            for i in range(ns):
                old = out[seg.start + 5 + 2 * i]
                out[seg.start + 5 + 2 * i] = {1: 1, 2: 1, 3: 2}.get(old, old)
    return bytes(out)


def truncated_progressive(data: bytes, scan: int = 2) -> bytes:
    """A progressive JPEG whose scan number ``scan`` stops half way, then EOI: decoders take the
    missing data as zeros (with a warning), libjpeg 6b's coefficient reader its own way."""
    segs = _segments(data)
    scans = [i for i, s in enumerate(segs) if s.marker == jpeg_structure.SOS]
    assert len(scans) > scan + 1, "needs a progressive JPEG"
    start = segs[scans[scan]].end
    stop = segs[scans[scan] + 1].start
    return data[: (start + stop) // 2] + b"\xff\xd9"


def repeated_scans(data: bytes, times: int) -> bytes:
    """A progressive JPEG whose last scan (with the tables before it) comes ``times`` times more:
    every repeat costs the decoder a pass over all coefficients."""
    segs = _segments(data)
    last = max(i for i, s in enumerate(segs) if s.marker == jpeg_structure.SOS)
    first = last
    while first > 0 and segs[first - 1].marker == jpeg_structure.DHT:
        first -= 1
    end = _eoi(data)
    block = data[segs[first].start : end]
    return data[:end] + block * times + data[end:]


#: Name -> (builder from a Pillow JPEG, whether the builder needs a progressive one).
CRAFTED: dict[str, tuple[Callable[[bytes], bytes], bool]] = {
    "empty-com": (empty_com_then_metadata, False),
    "empty-app3": (lambda d: empty_com_then_metadata(d, 0xE3), False),
    "dqt-after-scan": (dqt_after_scan, False),
    "duplicate-component-ids": (duplicate_component_ids, False),
    "truncated-progressive": (truncated_progressive, True),
}


def crafted(name: str, rgb: np.ndarray | None = None) -> bytes:
    build, progressive = CRAFTED[name]
    return build(pillow_jpeg(picture() if rgb is None else rgb, progressive=progressive))
