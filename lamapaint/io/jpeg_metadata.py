"""Which of a JPEG original's APPn and COM segments an exported JPEG carries, and in what form.

Every segment is carried byte for byte, in the original's order, in every JPEG export path
(block-wise and whole re-encode), because the exported file keeps the original's stored pixel
orientation and the EXIF orientation tag with it. The exceptions are the copies of the picture
that would still show what was removed, and colour markers that would no longer be true:

- the EXIF IFD1 thumbnail is unlinked and its bytes are removed (the rest of the EXIF, maker
  notes included, keeps its bytes and offsets);
- Photoshop thumbnail resources in APP13 are removed (IPTC and the other resources stay);
- MPF (APP2) preview images and JFXX (APP0) thumbnails are not written;
- a JFIF thumbnail is cut from the JFIF header;
- an Adobe APP14 transform flag is set to YCbCr, which is what lamapaint writes;
- ICC chunks are left out where the pixels were converted away from that profile on load.

``keep_metadata=False`` keeps only what defines the picture: JFIF, Adobe, the ICC profile, and an
EXIF block holding just the orientation when the stored pixels need one.
"""

from __future__ import annotations

import logging
import struct
from dataclasses import dataclass, field

from PIL import Image

from lamapaint.io.jpeg_blocks import JpegLayout, Segment, app_segments, make_segment

log = logging.getLogger(__name__)

_APP0, _APP1, _APP2, _APP13, _APP14, _COM = 0xE0, 0xE1, 0xE2, 0xED, 0xEE, 0xFE
_EXIF = b"Exif\0\0"
_XMP_PREFIXES = (b"http://ns.adobe.com/xap/1.0/\0", b"http://ns.adobe.com/xmp/extension/\0")
_ICC = b"ICC_PROFILE\0"
_MPF = b"MPF\0"
_PHOTOSHOP = b"Photoshop 3.0\0"
_PHOTOSHOP_THUMBNAILS = (0x0409, 0x040C)
_IPTC_RESOURCE = 0x0404
_EXIF_ORIENTATION = 0x0112
# IFD1 tags that locate a thumbnail: JPEGInterchangeFormat(+Length), StripOffsets/StripByteCounts.
_THUMB_JPEG, _THUMB_JPEG_LEN, _STRIP_OFFSETS, _STRIP_COUNTS = 0x0201, 0x0202, 0x0111, 0x0117
# Pointers to the sub-IFDs whose bytes belong to the photo's EXIF: Exif, GPS, interoperability.
_SUB_IFDS = (0x8769, 0x8825, 0xA005)
_MAX_IFDS = 8
_TIFF_TYPE_SIZES = {1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8}
_KEPT_ORDER = ("EXIF", "EXIF orientation", "XMP", "colour profile", "comment", "IPTC", "Photoshop data")


@dataclass
class CarriedMetadata:
    segments: list[Segment]
    """The segments to write after SOI, in the original's order."""
    kept: list[str] = field(default_factory=list)
    """What they hold, in plain words ("EXIF", "XMP", "colour profile", "comment", ...)."""
    notes: list[str] = field(default_factory=list)
    """What was left out or changed, and why."""
    left_out: bool = False
    """Metadata segments were left out because ``keep_metadata`` was False."""


def carry_segments(layout: JpegLayout, *, keep_metadata: bool, orientation: int, icc_usable: bool) -> CarriedMetadata:
    """The APPn/COM segments of ``layout`` to write into an export of the same stored pixels.

    ``orientation`` is the original's EXIF orientation (the export keeps the stored layout, so
    the tag stays as it was); ``icc_usable`` is False where the pixels no longer are in the
    original's profile (a CMYK original converted to RGB on load).
    """
    out = CarriedMetadata([])
    kept: set[str] = set()
    others: list[str] = []
    has_exif = False
    for seg in app_segments(layout):
        marker, payload = seg.marker, seg.payload
        if marker == _APP0 and payload.startswith(b"JFIF\0"):
            out.segments.append(_jfif_without_thumbnail(seg, out.notes))
        elif marker == _APP0 and payload.startswith(b"JFXX\0"):
            _note(out.notes, "the JFIF thumbnail (it showed the unedited photo) was not written")
        elif marker == _APP14 and payload.startswith(b"Adobe"):
            out.segments.append(_adobe_as_ycbcr(seg))
        elif marker == _APP2 and payload.startswith(_ICC):
            if icc_usable:
                out.segments.append(seg)
                kept.add("colour profile")
            else:
                _note(out.notes, "the original's colour profile was used to convert it to RGB and is not written")
        elif marker == _APP2 and payload.startswith(_MPF):
            _note(out.notes, "the camera's extra preview images (MPF) showed the unedited photo and were not written")
        elif not keep_metadata:
            out.left_out = True
        elif marker == _APP1 and payload.startswith(_EXIF):
            has_exif = True
            out.segments.append(_exif_without_thumbnail(seg, out.notes))
            kept.add("EXIF")
        elif marker == _APP1 and payload.startswith(_XMP_PREFIXES):
            out.segments.append(seg)
            kept.add("XMP")
        elif marker == _COM:
            out.segments.append(seg)
            kept.add("comment")
        elif marker == _APP13 and payload.startswith(_PHOTOSHOP):
            out.segments.append(_photoshop_without_thumbnail(seg, out.notes))
            kept.add("IPTC" if _photoshop_resources(payload, _IPTC_RESOURCE) else "Photoshop data")
        else:
            out.segments.append(seg)
            others.append(f"APP{marker - _APP0}")
    if not has_exif and orientation != 1 and not keep_metadata:
        out.segments.insert(_after_jfif(out.segments), _orientation_only_exif(orientation))
        kept.add("EXIF orientation")
    out.kept = [k for k in _KEPT_ORDER if k in kept]
    if others:
        out.kept.append(f"{len(others)} other application segment{'s' if len(others) > 1 else ''} ({', '.join(sorted(set(others)))})")
    return out


def _note(notes: list[str], text: str) -> None:
    if text not in notes:
        notes.append(text)


def _after_jfif(segments: list[Segment]) -> int:
    return 1 if segments and segments[0].marker == _APP0 else 0


def _orientation_only_exif(orientation: int) -> Segment:
    exif = Image.Exif()
    exif[_EXIF_ORIENTATION] = orientation
    return make_segment(_APP1, exif.tobytes())


def _jfif_without_thumbnail(seg: Segment, notes: list[str]) -> Segment:
    """JFIF header: version, units, density (14 bytes), then an optional RGB thumbnail."""
    if len(seg.payload) <= 14:
        return seg
    _note(notes, "the JFIF thumbnail (it showed the unedited photo) was not written")
    return make_segment(_APP0, seg.payload[:12] + b"\0\0")


def _adobe_as_ycbcr(seg: Segment) -> Segment:
    """The Adobe marker's last byte says how three components are coded: 1 = YCbCr."""
    payload = seg.payload
    if len(payload) < 12 or payload[11] == 1:
        return seg
    return make_segment(_APP14, payload[:11] + b"\x01" + payload[12:])


def _exif_without_thumbnail(seg: Segment, notes: list[str]) -> Segment:
    """The EXIF block with IFD1 (the thumbnail) unlinked and its image bytes cut or zeroed.

    Patched in place, so every other offset (maker notes included) stays valid; a block that
    cannot be parsed is written as it was.
    """
    tiff = bytearray(seg.payload[len(_EXIF):])
    try:
        removed = _unlink_thumbnail(tiff)
    except (struct.error, ValueError):
        log.info("EXIF block could not be parsed; written as it was")
        return seg
    if not removed:
        return seg
    _note(notes, "the EXIF thumbnail (it showed the unedited photo) was removed")
    return make_segment(_APP1, _EXIF + bytes(tiff))


def _unlink_thumbnail(tiff: bytearray) -> bool:
    order = {b"II": "<", b"MM": ">"}.get(bytes(tiff[:2]))
    if order is None:
        raise ValueError("not a TIFF header")
    (ifd0,) = struct.unpack_from(order + "I", tiff, 4)
    (count,) = struct.unpack_from(order + "H", tiff, ifd0)
    link = ifd0 + 2 + 12 * count
    (ifd1,) = struct.unpack_from(order + "I", tiff, link)
    if ifd1 == 0:
        return False
    (count1,) = struct.unpack_from(order + "H", tiff, ifd1)
    values: dict[int, int] = {}
    spans = [(ifd1, ifd1 + 2 + 12 * count1 + 4)]
    for i in range(count1):
        entry = ifd1 + 2 + 12 * i
        tag, kind, n = struct.unpack_from(order + "HHI", tiff, entry)
        size = n * _TIFF_TYPE_SIZES.get(kind, 1)
        if n == 1 and kind in (3, 4):  # one SHORT or LONG, held in the entry itself
            values[tag] = struct.unpack_from(order + ("H" if kind == 3 else "I"), tiff, entry + 8)[0]
        elif size > 4:  # IFD1's own out-of-line values (its resolution, ...)
            (at,) = struct.unpack_from(order + "I", tiff, entry + 8)
            spans.append((at, at + size))
    struct.pack_into(order + "I", tiff, link, 0)
    for off_tag, len_tag in ((_THUMB_JPEG, _THUMB_JPEG_LEN), (_STRIP_OFFSETS, _STRIP_COUNTS)):
        if off_tag in values and len_tag in values:
            spans.append((values[off_tag], values[off_tag] + values[len_tag]))
    # A crafted pointer may claim bytes the rest of the EXIF uses (the Make, the Exif IFD): those
    # stay, only what lies outside them is zeroed; the thumbnail is dropped by the unlinking.
    kept = _photo_spans(tiff, order, ifd0)
    spans = [piece for start, end in spans if 0 <= start < end <= len(tiff) for piece in _outside(start, end, kept)]
    for start, end in spans:
        tiff[start:end] = bytes(end - start)
    # Usually IFD1 and its thumbnail are the block's tail: cut them off instead of carrying zeros.
    tail = min((start for start, _ in spans), default=len(tiff))
    if tail >= max(end for _, end in kept) and not any(tiff[tail:]):
        del tiff[tail:]
    return True


def _photo_spans(tiff: bytearray, order: str, ifd0: int) -> list[tuple[int, int]]:
    """The bytes the EXIF keeps: the TIFF header, IFD0 and the Exif, GPS and interoperability IFDs,
    each with its out-of-line values (maker notes included)."""
    spans = [(0, 8)]
    todo, seen = [ifd0], set()
    while todo and len(seen) < _MAX_IFDS:
        at = todo.pop()
        if at in seen or at + 2 > len(tiff):
            continue
        seen.add(at)
        (count,) = struct.unpack_from(order + "H", tiff, at)
        spans.append((at, at + 2 + 12 * count + 4))
        for entry in range(at + 2, min(at + 2 + 12 * count, len(tiff) - 11), 12):
            tag, kind, n = struct.unpack_from(order + "HHI", tiff, entry)
            (value,) = struct.unpack_from(order + "I", tiff, entry + 8)
            size = n * _TIFF_TYPE_SIZES.get(kind, 1)
            if tag in _SUB_IFDS and n == 1 and kind in (4, 13):  # LONG or IFD: a pointer
                todo.append(value)
            elif size > 4:
                spans.append((value, value + size))
    return spans


def _outside(start: int, end: int, kept: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The parts of [start, end) that no kept span covers."""
    pieces = [(start, end)]
    for k_start, k_end in kept:
        pieces = [
            part
            for p_start, p_end in pieces
            for part in ((p_start, min(p_end, k_start)), (max(p_start, k_end), p_end))
            if part[0] < part[1]
        ]
    return pieces


def _photoshop_resources(payload: bytes, wanted: int | None = None) -> list[tuple[int, int, int]] | None:
    """(resource id, start, end) of each 8BIM block; None where the blocks do not parse."""
    pos, blocks = len(_PHOTOSHOP), []
    while pos < len(payload):
        if payload[pos : pos + 4] != b"8BIM" or pos + 7 > len(payload):
            return None
        (rid,) = struct.unpack_from(">H", payload, pos + 4)
        name_len = 1 + payload[pos + 6]
        size_at = pos + 6 + name_len + (name_len & 1)
        if size_at + 4 > len(payload):
            return None
        (size,) = struct.unpack_from(">I", payload, size_at)
        end = size_at + 4 + size + (size & 1)
        if end > len(payload):
            return None  # continued in the next segment: leave the whole thing as it is
        blocks.append((rid, pos, end))
        pos = end
    if wanted is not None:
        return [b for b in blocks if b[0] == wanted]
    return blocks


def _photoshop_without_thumbnail(seg: Segment, notes: list[str]) -> Segment:
    blocks = _photoshop_resources(seg.payload)
    if not blocks or not any(rid in _PHOTOSHOP_THUMBNAILS for rid, _, _ in blocks):
        return seg
    _note(notes, "the Photoshop thumbnail (it showed the unedited photo) was removed")
    kept = b"".join(seg.payload[start:end] for rid, start, end in blocks if rid not in _PHOTOSHOP_THUMBNAILS)
    return make_segment(_APP13, _PHOTOSHOP + kept)
