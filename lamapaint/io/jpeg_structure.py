"""Walk a JPEG's marker structure without decoding it, and rebuild a plain stream for libjpeg.

The walk finds every marker segment (also those between the scans of a progressive file) by
skipping each scan's entropy-coded data, where ``FF`` is followed by ``00`` (a stuffed byte) or a
restart marker. It costs one pass of a regular-expression search over the file, no decoding, so
the loader can count a file's scans before it decodes them (``images``: a progressive file can
repeat a scan thousands of times, each one costing a pass over every coefficient) and the
block-wise save can refuse the structures where libjpeg 6b (through jpeglib) would read other
coefficients than the app's decoder (``jpeg_blocks``).

``libjpeg_stream`` is what the block-wise save hands jpeglib: the original with its APPn and COM
segments dropped (the app carries them itself, see ``jpeg_metadata``) except a well-formed JFIF
APP0 and Adobe APP14, whose colour-transform flag libjpeg reads. jpeglib sizes its marker buffer
by stopping at the first empty APPn/COM segment but copies every one of them, so an empty
comment followed by more metadata overflowed its heap (issue 17).
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass

SOI, EOI, SOS, DQT, DHT, DRI, COM = 0xD8, 0xD9, 0xDA, 0xDB, 0xC4, 0xDD, 0xFE
APP0, APP14 = 0xE0, 0xEE
SOF_MARKERS = frozenset((0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF))
_STANDALONE = frozenset((0x01, *range(0xD0, 0xD8)))  # TEM and RSTn carry no length
# The next marker after entropy-coded data: FF followed by neither 00 (stuffing), RSTn nor FF (fill).
_NEXT_MARKER = re.compile(rb"\xff[^\x00\xd0-\xd7\xff]")


@dataclass(frozen=True)
class MarkerSegment:
    marker: int
    start: int
    """Offset of the segment's FF byte."""
    end: int
    """Offset just past the segment (for SOS: past its header; the entropy-coded data follows)."""


@dataclass(frozen=True)
class JpegStructure:
    segments: tuple[MarkerSegment, ...]
    """Every marker segment from SOI to EOI (or to the end of the data), in file order."""
    eoi: int | None
    """Offset of the EOI marker; None when the data ends before it (a truncated file)."""
    stray_bytes: bool
    """Bytes were found where a marker belongs (decoders skip them with a warning)."""

    @property
    def scans(self) -> int:
        return sum(1 for s in self.segments if s.marker == SOS)

    def after_first_scan(self) -> tuple[MarkerSegment, ...]:
        """The segments that follow the first SOS (the later scans and the tables between them)."""
        for i, seg in enumerate(self.segments):
            if seg.marker == SOS:
                return self.segments[i + 1 :]
        return ()


def walk(data: bytes, max_scans: int | None = None) -> JpegStructure:
    """The marker structure of ``data``; ValueError where a segment's length is impossible.

    With ``max_scans``, the walk stops after that many scans plus one, so counting the scans of a
    file built to have a million costs no more than counting to the limit.
    """
    if not data.startswith(b"\xff\xd8"):
        raise ValueError("not a JPEG file (no SOI marker)")
    segments: list[MarkerSegment] = []
    stray = False
    scans = 0
    pos, size = 2, len(data)
    while pos < size:
        if data[pos] != 0xFF:
            stray = True
            found = _NEXT_MARKER.search(data, pos)
            if found is None:
                break
            pos = found.start()
        while pos + 1 < size and data[pos + 1] == 0xFF:
            pos += 1  # fill bytes
        if pos + 1 >= size:
            break
        marker = data[pos + 1]
        if marker == EOI:
            return JpegStructure(tuple(segments), pos, stray)
        if marker in _STANDALONE or marker == SOI:
            pos += 2
            continue
        if pos + 4 > size:
            break
        (length,) = struct.unpack(">H", data[pos + 2 : pos + 4])
        end = pos + 2 + length
        if length < 2 or end > size:
            raise ValueError(f"the JPEG segment at byte {pos} has an impossible length ({length})")
        segments.append(MarkerSegment(marker, pos, end))
        pos = end
        if marker == SOS:
            scans += 1
            if max_scans is not None and scans > max_scans:
                break
            found = _NEXT_MARKER.search(data, pos)
            if found is None:
                break
            pos = found.start()
    return JpegStructure(tuple(segments), None, stray)


def count_scans(data: bytes, limit: int) -> int:
    """How many scans ``data`` has, counting no further than ``limit + 1``; 0 where it is no
    readable JPEG (the decoder then says what is wrong)."""
    try:
        return walk(data, max_scans=limit).scans
    except ValueError:
        return 0


def _keeps_for_libjpeg(data: bytes, seg: MarkerSegment) -> bool:
    """JFIF APP0 and Adobe APP14 (the colour transform) stay; other APPn and COM go."""
    payload = data[seg.start + 4 : seg.end]
    if seg.marker == APP0:
        return payload.startswith(b"JFIF\0") and len(payload) >= 14
    if seg.marker == APP14:
        return payload.startswith(b"Adobe") and len(payload) >= 12
    return not (0xE0 <= seg.marker <= 0xEF or seg.marker == COM)


def libjpeg_stream(data: bytes, structure: JpegStructure) -> bytes:
    """``data`` from SOI to EOI without APPn/COM segments (except JFIF and Adobe), for libjpeg.

    Each scan's entropy-coded data is copied as is; ``structure`` must be complete (an EOI).
    """
    if structure.eoi is None:
        raise ValueError("the JPEG data ends before its end-of-image marker")
    parts = [b"\xff\xd8"]
    segments = structure.segments
    for i, seg in enumerate(segments):
        if not _keeps_for_libjpeg(data, seg):
            continue
        # A scan runs on to the next marker segment (or EOI): its entropy-coded data comes with it.
        stop = seg.end if seg.marker != SOS else (segments[i + 1].start if i + 1 < len(segments) else structure.eoi)
        parts.append(data[seg.start : stop])
    parts.append(b"\xff\xd9")
    return b"".join(parts)
