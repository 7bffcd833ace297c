"""``.lamapaint`` project files: a zip holding the photo verbatim, the mask and every layer.

Layout (format version 1)::

    original.<ext>              the photo's own bytes (LoadedImage.source_bytes), or a PNG when
                                the document has no source file
    mask.png                    the working mask, 8-bit grey
    layers/NNNN/rgb.png         each layer's patch, 8-bit RGB
    layers/NNNN/coverage.png    its coverage, 8-bit grey
    layers/NNNN/source_mask.png the hole it was made from, 8-bit grey
    manifest.json               format, version, size, layers (id, name, box, visibility, info)
                                and the size and sha256 of every other member

Saving is atomic (the previous file survives any failure). Loading trusts nothing and checks
everything it can before decoding a pixel: member names; every member used once (a member shared
by many layers would be decoded once per use); each member's size against what its image header
allows (a PNG of w x h cannot be bigger than its raw rows, so a deflate bomb is refused before it is
read); every PNG header and the photo's header against the manifest; and the memory the whole
document will hold against ``MAX_DOCUMENT_BYTES``. Only then is anything decoded, each member read
with a hard limit and its hash checked. Any problem raises ``ProjectError`` naming the file (the
only exception ``load_project`` raises), and no document is built. Undo history is not saved.

Layer ``info`` is free-form JSON; non-finite numbers (NaN, infinity), which strict JSON cannot hold,
are dropped from it on save and on load, so one odd value never makes a project unsavable.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import io
import json
import logging
import math
import os
import re
import stat
import struct
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import cv2
import numpy as np

from lamapaint.core.document import Document, DocumentSnapshot
from lamapaint.core.geometry import Rect
from lamapaint.core.layers import Layer
from lamapaint.io.atomic import DestinationExistsError, atomic_write
from lamapaint.io.images import (
    MAX_FILE_BYTES,
    PNG_SIGNATURE,
    MAX_PIXELS,
    ImageLoadError,
    load_image_bytes,
    png_chunks_fit,
    read_image_header,
)
from lamapaint.jobs import CancelToken, ProgressCallback, no_progress

log = logging.getLogger(__name__)

FORMAT_NAME = "lamapaint-project"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"

MAX_LAYERS = 1000
MAX_ENTRIES = 4 + 3 * MAX_LAYERS
"""The photo, the mask, the manifest, three PNGs a layer and one spare."""
MAX_DIRECTORY_BYTES = MAX_ENTRIES * 256
"""Ceiling on the zip's central directory (our entries take under 100 bytes each there). Checked
from the end-of-central-directory record before ``zipfile`` reads the directory: it builds every
entry before anything can count them (a 282 MB file of tiny entries took 2.26 GB and 60 s)."""
MAX_MANIFEST_BYTES = 16 << 20
MAX_MEMBER_BYTES = 2 << 30
MAX_TOTAL_BYTES = 6 << 30
MAX_NAME_CHARS = 1000
MAX_INFO_DEPTH = 16
MAX_DOCUMENT_BYTES = 4 << 30
"""Ceiling on what a loaded project holds in memory (photo, its 16-bit and alpha planes and file
bytes, mask, every layer's three planes), summed from the manifest and the image headers before
anything is decoded."""

_MEMBER_NAME = re.compile(r"^[A-Za-z0-9_.\-]+(/[A-Za-z0-9_.\-]+)*$")
_LAYER_ID = re.compile(r"^[A-Za-z0-9_\-]{1,64}$")
_FIXED_DATE = (2020, 1, 1, 0, 0, 0)  # member timestamps carry no information; keeps saves reproducible
_EXTENSIONS = {"JPEG": "jpg", "PNG": "png", "TIFF": "tif", "WEBP": "webp", "BMP": "bmp", "HEIF": "heic"}


class ProjectError(Exception):
    """A project file could not be saved or loaded; the message names the file and the problem."""


# --- saving -------------------------------------------------------------------------------------


def _encode_png(arr: np.ndarray) -> bytes:
    """Lossless PNG (RGB or grey); fast compression: patches are small, masks compress well anyway."""
    if arr.ndim == 3:
        arr = cv2.cvtColor(np.ascontiguousarray(arr), cv2.COLOR_RGB2BGR)
    ok, buf = cv2.imencode(".png", np.ascontiguousarray(arr), [cv2.IMWRITE_PNG_COMPRESSION, 1])
    if not ok:
        raise ValueError(f"PNG encoding of a {arr.shape} array failed")
    return buf.tobytes()


def _rgb_digest(rgb: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(rgb).data).hexdigest()


def save_project(
    path: str | os.PathLike[str],
    snapshot: DocumentSnapshot,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
    *,
    overwrite: bool = True,
) -> None:
    """Write ``snapshot`` to ``path`` atomically; safe to call off the GUI thread.

    With ``overwrite=False`` a file that exists at ``path`` (even one that appears while saving)
    is never replaced. Raises ProjectError (or Cancelled from ``cancel``); either way an existing
    file is untouched.
    """
    dest = Path(path)
    report = progress or no_progress
    steps = 2 + len(snapshot.layers)
    try:
        with atomic_write(dest, overwrite=overwrite) as fh:  # noqa: SIM117 - the zip writes into the atomic temp file
            with zipfile.ZipFile(fh, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
                members: dict[str, dict[str, Any]] = {}

                def put(name: str, data: bytes) -> None:
                    if cancel is not None:
                        cancel.raise_if_cancelled()
                    info = zipfile.ZipInfo(name, date_time=_FIXED_DATE)
                    info.compress_type = zipfile.ZIP_STORED
                    zf.writestr(info, data)
                    members[name] = {"size": len(data), "sha256": hashlib.sha256(data).hexdigest()}

                report(0.0, "Saving the photo")
                original = _original_entry(snapshot)
                put(original["member"], original.pop("data"))
                put("mask.png", _encode_png(snapshot.mask))
                layers = []
                for i, layer in enumerate(snapshot.layers):
                    report((1 + i) / steps, f"Saving layer {i + 1} of {len(snapshot.layers)}")
                    prefix = f"layers/{i:04d}"
                    put(f"{prefix}/rgb.png", _encode_png(layer.rgb))
                    put(f"{prefix}/coverage.png", _encode_png(layer.coverage))
                    put(f"{prefix}/source_mask.png", _encode_png(layer.source_mask))
                    layers.append(
                        {
                            "id": layer.id,
                            "name": layer.name,
                            "rect": layer.rect.as_list(),
                            "visible": layer.visible,
                            "info": _json_safe(layer.info, layer.name),
                            "rgb": f"{prefix}/rgb.png",
                            "coverage": f"{prefix}/coverage.png",
                            "source_mask": f"{prefix}/source_mask.png",
                        }
                    )
                manifest = {
                    "format": FORMAT_NAME,
                    "version": FORMAT_VERSION,
                    "saved_at": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
                    "name": snapshot.name,
                    "width": snapshot.width,
                    "height": snapshot.height,
                    "original": original,
                    "mask": "mask.png",
                    "layers": layers,
                    "members": members,
                }
                data = json.dumps(manifest, indent=1, allow_nan=False).encode("utf-8")
                info = zipfile.ZipInfo(MANIFEST, date_time=_FIXED_DATE)
                info.compress_type = zipfile.ZIP_DEFLATED
                zf.writestr(info, data)
    except DestinationExistsError:
        raise ProjectError(f"Cannot save project {dest}: a file of that name already exists; nothing was replaced") from None
    except (OSError, TypeError, ValueError) as exc:
        raise ProjectError(f"Cannot save project {dest}: {exc}") from exc
    report(1.0, "Saved")
    log.info("saved project %s (%d layers)", dest, len(snapshot.layers))


def _json_safe(info: dict[str, Any], what: str) -> dict[str, Any]:
    """``info`` as strict JSON can hold it: NaN/infinity dropped, tuples as lists, numpy scalars as
    numbers, anything else as its text. Saving must not fail on a diagnostic value."""

    def clean(value: Any, depth: int) -> Any:
        if isinstance(value, np.generic):
            value = value.item()
        if value is None or isinstance(value, (bool, int, str)):
            return value
        if isinstance(value, float):
            return value if math.isfinite(value) else _NOT_FINITE
        if depth >= MAX_INFO_DEPTH:
            return str(value)
        if isinstance(value, dict):
            items = ((str(k), clean(v, depth + 1)) for k, v in value.items())
            return {k: v for k, v in items if v is not _NOT_FINITE}
        if isinstance(value, (list, tuple)):
            return [None if v is _NOT_FINITE else v for v in (clean(v, depth + 1) for v in value)]
        return str(value)

    out = clean(info, 0)
    if out != info:
        log.info("layer %r: info values strict JSON cannot hold were dropped or written as text", what)
    return out


def _original_entry(snapshot: DocumentSnapshot) -> dict[str, Any]:
    """The photo's own bytes when they decode to the document's original, else a PNG of it."""
    source = snapshot.source
    rgb = snapshot.original
    entry: dict[str, Any] = {"rgb_sha256": _rgb_digest(rgb)}
    source_bytes = getattr(source, "source_bytes", None)
    source_rgb = getattr(source, "rgb", None)
    if (
        source_bytes
        and source_rgb is not None
        and (source_rgb is rgb or (source_rgb.shape == rgb.shape and np.array_equal(source_rgb, rgb)))
    ):
        ext = _EXTENSIONS.get(str(getattr(source, "format", "")).upper(), "bin")
        entry.update(member=f"original.{ext}", encoding="source", data=bytes(source_bytes))
    else:
        entry.update(member="original.png", encoding="png", data=_encode_png(rgb))
    return entry


# --- loading ------------------------------------------------------------------------------------

_NOT_FINITE = object()
"""What a NaN or an infinity in the manifest parses to: no check accepts it, and layer info drops it."""


def _parse_float(text: str) -> Any:
    value = float(text)
    return value if math.isfinite(value) else _NOT_FINITE  # 1e999 parses to inf


def _without_non_finite(info: dict[str, Any]) -> dict[str, Any]:
    def clean(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: clean(v) for k, v in value.items() if v is not _NOT_FINITE}
        if isinstance(value, list):
            return [None if v is _NOT_FINITE else clean(v) for v in value]
        return value

    return clean(info)


def _depth(value: Any, limit: int) -> int:
    """Nesting depth of a JSON value, counted up to ``limit + 1``."""
    if limit < 0 or not isinstance(value, (dict, list)):
        return 0
    children = value.values() if isinstance(value, dict) else value
    return 1 + max((_depth(v, limit - 1) for v in children), default=0)


def _png_member_cap(width: int, height: int, channels: int) -> int:
    """The most bytes an 8-bit PNG of this size can take: its raw rows (one filter byte each) stored
    without compression, deflate's 5 bytes per 64 KiB block, IDAT chunk framing and a little slack.
    A bigger member is not what its header says (a deflate bomb); it is refused unread."""
    raw = (width * channels + 1) * height
    return raw + raw // 256 + 4096


@dataclass(frozen=True)
class _PngUse:
    """One member the document decodes as an 8-bit PNG of a known size."""

    member: str
    width: int
    height: int
    channels: int

    @property
    def nbytes(self) -> int:
        return self.width * self.height * self.channels


class _Reader:
    """Validating access to one project zip; every failure is a ProjectError naming the file."""

    def __init__(self, path: Path, zf: zipfile.ZipFile) -> None:
        self.path = path
        self.zf = zf
        self.members: dict[str, dict[str, Any]] = {}
        self.by_name: dict[str, zipfile.ZipInfo] = {}
        self.claimed: set[str] = set()

    def fail(self, what: str) -> ProjectError:
        return ProjectError(f"Cannot open project {self.path}: {what}")

    def check_names(self) -> None:
        infos = self.zf.infolist()
        if len(infos) > MAX_ENTRIES:
            raise self.fail(f"it has {len(infos)} entries, more than a project can hold")
        by_name: dict[str, zipfile.ZipInfo] = {}
        total = 0
        for info in infos:
            name = info.filename
            if not _MEMBER_NAME.match(name) or any(part in ("", ".", "..") for part in name.split("/")):
                raise self.fail(f"unsafe entry name {name!r}")
            if name in by_name:
                raise self.fail(f"entry {name!r} appears twice")
            if info.flag_bits & 0x1:
                raise self.fail(f"entry {name!r} is encrypted")
            if info.file_size > MAX_MEMBER_BYTES:
                raise self.fail(f"entry {name!r} declares {info.file_size} bytes, above the limit")
            total += info.file_size
            by_name[name] = info
        if total > MAX_TOTAL_BYTES:
            raise self.fail(f"its entries declare {total} bytes in all, above the limit")
        self.by_name = by_name

    def read_limited(self, info: zipfile.ZipInfo, limit: int) -> bytes:
        """Read at most ``limit`` bytes; more means the entry lies about its size."""
        if info.file_size > limit:
            raise self.fail(f"entry {info.filename!r} is larger than expected")
        with self.zf.open(info) as fh:
            data = _read_at_most(fh, limit + 1)
        if len(data) > limit or len(data) != info.file_size:
            raise self.fail(f"entry {info.filename!r} does not have its declared size")
        return data

    def claim(self, name: str, limit: int) -> zipfile.ZipInfo:
        """The entry for one use of ``name``: described by the manifest, used once, within ``limit``."""
        meta = self.members.get(name)
        if meta is None or name not in self.by_name:
            raise self.fail(f"the manifest refers to {name!r} but does not describe it")
        if name in self.claimed:
            raise self.fail(f"entry {name!r} is used more than once")
        self.claimed.add(name)
        info = self.by_name[name]
        if meta["size"] != info.file_size:
            raise self.fail(f"entry {name!r} does not have its declared size")
        if info.file_size > limit:
            raise self.fail(f"entry {name!r} declares {info.file_size} bytes, more than its image can take ({limit})")
        return info

    def read_member(self, name: str) -> bytes:
        meta = self.members[name]
        data = self.read_limited(self.by_name[name], meta["size"])
        if hashlib.sha256(data).hexdigest() != meta["sha256"]:
            raise self.fail(f"entry {name!r} is damaged (checksum mismatch)")
        return data

    def check_png_header(self, use: _PngUse, head: bytes) -> None:
        """Exact size, 8-bit, grey or RGB as expected: from the first bytes, nothing decoded."""
        if len(head) < 33 or head[:8] != PNG_SIGNATURE or head[12:16] != b"IHDR":
            raise self.fail(f"entry {use.member!r} is not a PNG image")
        w, h, depth, colour = struct.unpack(">IIBB", head[16:26])
        want_colour = 0 if use.channels == 1 else 2
        if (w, h) != (use.width, use.height) or depth != 8 or colour != want_colour:
            raise self.fail(
                f"entry {use.member!r} is {w}x{h} (depth {depth}, colour type {colour}), "
                f"expected {use.width}x{use.height}"
            )

    def check_png(self, use: _PngUse) -> None:
        info = self.claim(use.member, _png_member_cap(use.width, use.height, use.channels))
        with self.zf.open(info) as fh:
            head = fh.read(33)
        self.check_png_header(use, head)

    def decode_png(self, use: _PngUse) -> np.ndarray:
        data = self.read_member(use.member)
        self.check_png_header(use, data[:33])
        if not png_chunks_fit(data):
            raise self.fail(f"entry {use.member!r} is damaged (a PNG chunk runs past its end)")
        arr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
        expected = (use.height, use.width) if use.channels == 1 else (use.height, use.width, 3)
        if arr is None or arr.dtype != np.uint8 or arr.shape != expected:
            raise self.fail(f"entry {use.member!r} could not be decoded")
        if use.channels == 3:
            arr = cv2.cvtColor(arr, cv2.COLOR_BGR2RGB)
        return arr


def _read_at_most(fh: BinaryIO, limit: int) -> bytes:
    out = io.BytesIO()
    while out.tell() < limit:
        chunk = fh.read(min(1 << 20, limit - out.tell()))
        if not chunk:
            break
        out.write(chunk)
    return out.getvalue()


_EOCD = struct.Struct("<4s4H2LH")
"""End of central directory: signature, disk, directory's disk, entries on this disk, entries,
directory size, directory offset, comment length."""
_EOCD64_LOCATOR = struct.Struct("<4sLQL")
_EOCD64 = struct.Struct("<4sQ2H2L4Q")
"""Zip64 end of central directory: signature, record size, versions, disks, entries on this disk,
entries, directory size, directory offset."""


def _declared_directory(fh: BinaryIO) -> tuple[int, int] | None:
    """(entries, central directory bytes) as the end records declare them, or None without one.

    Found as ``zipfile`` finds them, so these are the numbers it will act on: the record at the very
    end, else the last signature in the final 64 KiB (a comment may follow it), and a zip64 record
    (with its locator) right before it, whose values then count instead.
    """
    size = fh.seek(0, os.SEEK_END)
    start = max(size - (1 << 16) - _EOCD.size, 0)
    fh.seek(start)
    tail = fh.read()
    at = len(tail) - _EOCD.size
    if at < 0 or tail[at : at + 4] != b"PK\5\6" or tail[-2:] != b"\0\0":
        at = tail.rfind(b"PK\5\6")
        if at < 0 or at + _EOCD.size > len(tail):
            return None
    _, _, _, _, entries, directory, _, _ = _EOCD.unpack_from(tail, at)
    record = start + at
    if record >= _EOCD64_LOCATOR.size + _EOCD64.size:
        fh.seek(record - _EOCD64_LOCATOR.size - _EOCD64.size)
        head = fh.read(_EOCD64.size + _EOCD64_LOCATOR.size)
        if head[_EOCD64.size : _EOCD64.size + 4] == b"PK\6\7" and head[:4] == b"PK\6\6":
            _, _, _, _, _, _, _, entries, directory, _ = _EOCD64.unpack_from(head)
    return entries, directory


def _check_directory(fh: BinaryIO, p: Path) -> None:
    """Refuse a zip whose central directory is too big for a project, before zipfile reads it."""
    declared = _declared_directory(fh)
    fh.seek(0)
    if declared is None:
        return  # not a zip: zipfile says so
    entries, directory = declared
    if entries > MAX_ENTRIES:
        raise ProjectError(f"Cannot open project {p}: it has {entries} entries, more than a project can hold")
    if directory > MAX_DIRECTORY_BYTES:
        raise ProjectError(
            f"Cannot open project {p}: its table of contents takes {directory} bytes, more than "
            f"{MAX_ENTRIES} entries need (at most {MAX_DIRECTORY_BYTES})"
        )


def _open_regular(p: Path) -> BinaryIO:
    """The project file opened for reading; a FIFO or a device is refused without blocking."""
    fd = os.open(p, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            raise IsADirectoryError(p)
        if not stat.S_ISREG(mode):
            raise ProjectError(f"Cannot open project {p}: not a regular file (a device, pipe or socket)")
    except BaseException:
        os.close(fd)
        raise
    return os.fdopen(fd, "rb")


def load_project(path: str | os.PathLike[str]) -> Document:
    """Read and fully validate a project; raise ProjectError on any problem (nothing half-built)."""
    p = Path(path)
    try:
        with _open_regular(p) as fh:
            _check_directory(fh, p)
            with zipfile.ZipFile(fh, "r") as zf:
                return _load(_Reader(p, zf))
    except ProjectError:
        raise
    except FileNotFoundError:
        raise ProjectError(f"Cannot open project {p}: the file does not exist") from None
    except IsADirectoryError:
        raise ProjectError(f"Cannot open project {p}: it is a folder, not a project file") from None
    except zipfile.BadZipFile as exc:
        raise ProjectError(f"Cannot open project {p}: not a lamapaint project or the file is damaged ({exc})") from exc
    except zlib.error as exc:
        raise ProjectError(f"Cannot open project {p}: the file is damaged (a compressed entry does not inflate: {exc})") from exc
    except UnicodeDecodeError:
        raise ProjectError(f"Cannot open project {p}: the file is damaged (an entry name is not valid text)") from None
    except MemoryError:
        raise ProjectError(f"Cannot open project {p}: not enough memory to open it") from None
    except (OSError, EOFError, ValueError, zipfile.LargeZipFile, NotImplementedError, RuntimeError) as exc:
        raise ProjectError(f"Cannot open project {p}: {exc}") from exc
    except Exception as exc:  # the promise is ProjectError only; a damaged file must not show a traceback
        log.warning("unexpected error while opening project %s", p, exc_info=True)
        raise ProjectError(f"Cannot open project {p}: the file is damaged ({type(exc).__name__}: {exc})") from exc


def _require(reader: _Reader, ok: bool, what: str) -> None:
    if not ok:
        raise reader.fail(what)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


@dataclass(frozen=True)
class _LayerPlan:
    """A layer's checked metadata; its pixels are decoded only once every header has passed."""

    id: str
    name: str
    rect: Rect
    visible: bool
    info: dict[str, Any]
    rgb: _PngUse
    coverage: _PngUse
    source_mask: _PngUse


def _load(reader: _Reader) -> Document:
    reader.check_names()
    by_name = reader.by_name
    _require(reader, MANIFEST in by_name, "it has no manifest (not a lamapaint project)")
    try:
        text = reader.read_limited(by_name[MANIFEST], MAX_MANIFEST_BYTES).decode("utf-8")
        manifest = json.loads(text, parse_float=_parse_float, parse_constant=lambda _: _NOT_FINITE)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise reader.fail(f"the manifest is not valid JSON ({exc})") from exc
    except RecursionError:
        raise reader.fail("the manifest is nested too deeply") from None
    _require(reader, isinstance(manifest, dict) and manifest.get("format") == FORMAT_NAME, "not a lamapaint project")
    version = manifest.get("version")
    _require(reader, _is_int(version), "the manifest has no format version")
    if version > FORMAT_VERSION:
        raise reader.fail(f"it was saved in format version {version} by a newer lamapaint (this one reads {FORMAT_VERSION})")
    _require(reader, version == FORMAT_VERSION, f"unknown format version {version}")

    width, height = manifest.get("width"), manifest.get("height")
    _require(reader, _is_int(width) and _is_int(height) and width > 0 and height > 0, "the image size is missing")
    _require(reader, width * height <= MAX_PIXELS, f"the image size {width}x{height} is absurd")
    bounds = Rect.of_image(height, width)

    members = manifest.get("members")
    _require(reader, isinstance(members, dict), "the manifest lists no members")
    for name, meta in members.items():
        _require(
            reader,
            isinstance(meta, dict)
            and _is_int(meta.get("size"))
            and 0 <= meta["size"] <= MAX_MEMBER_BYTES
            and isinstance(meta.get("sha256"), str)
            and re.fullmatch(r"[0-9a-f]{64}", meta["sha256"]) is not None,
            f"the manifest entry for {name!r} is malformed",
        )
    expected = set(members) | {MANIFEST}
    _require(reader, set(by_name) == expected, "its entries do not match the manifest (extra or missing files)")
    reader.members = members

    layers_meta = manifest.get("layers")
    _require(reader, isinstance(layers_meta, list) and len(layers_meta) <= MAX_LAYERS, "the layer list is malformed")
    name = manifest.get("name", "Untitled")
    _require(reader, isinstance(name, str) and len(name) <= MAX_NAME_CHARS, "the document name is malformed")
    original_meta = manifest.get("original")
    _require(
        reader,
        isinstance(original_meta, dict)
        and isinstance(original_meta.get("member"), str)
        and original_meta.get("encoding") in ("source", "png"),
        "the original photo entry is malformed",
    )
    mask_name = manifest.get("mask")
    _require(reader, isinstance(mask_name, str), "the mask entry is malformed")
    seen: set[str] = set()
    plans = [_plan_layer(reader, meta, i, bounds, seen) for i, meta in enumerate(layers_meta)]

    # Every header before any decoding: the cheap checks must not wait behind a big photo.
    mask_use = _PngUse(mask_name, width, height, 1)
    png_uses = [mask_use] + [use for plan in plans for use in (plan.rgb, plan.coverage, plan.source_mask)]
    original_use = _PngUse(original_meta["member"], width, height, 3)
    if original_meta["encoding"] == "png":
        png_uses.insert(0, original_use)
    for use in png_uses:
        reader.check_png(use)
    document_bytes = sum(use.nbytes for use in png_uses)
    original_bytes = b""
    if original_meta["encoding"] == "source":
        member = original_meta["member"]
        reader.claim(member, MAX_FILE_BYTES)
        original_bytes = reader.read_member(member)
        try:
            header = read_image_header(original_bytes, f"{reader.path}:{member}")
        except ImageLoadError as exc:
            raise reader.fail(f"the embedded photo cannot be decoded ({exc})") from exc
        _require(
            reader,
            sorted((header.width, header.height)) == sorted((width, height)),
            f"the embedded photo is {header.width}x{header.height}, the manifest says {width}x{height}",
        )
        # The working copy, the 16-bit and alpha planes export keeps, and the file's bytes.
        document_bytes += width * height * (3 + (8 if header.high_bit else 1)) + len(original_bytes)
    if document_bytes > MAX_DOCUMENT_BYTES:
        raise reader.fail(
            f"it would take {document_bytes / 2**30:.1f} GiB of memory once opened, above the "
            f"{MAX_DOCUMENT_BYTES / 2**30:g} GiB limit"
        )

    source = None
    if original_meta["encoding"] == "source":
        try:
            source = load_image_bytes(original_bytes, f"{reader.path}:{original_meta['member']}")
        except ImageLoadError as exc:
            raise reader.fail(f"the embedded photo cannot be decoded ({exc})") from exc
        original = source.rgb
        _require(
            reader,
            original.shape == (height, width, 3),
            f"the embedded photo is {original.shape[1]}x{original.shape[0]}, the manifest says {width}x{height}",
        )
    else:
        original = reader.decode_png(original_use)
    del original_bytes
    if original_meta.get("rgb_sha256") not in (None, _rgb_digest(original)):
        # Same file, different decoder (a newer libjpeg): layers still line up, colours may differ by a level.
        log.warning("%s: the photo decodes slightly differently than when it was saved", reader.path)

    mask = reader.decode_png(mask_use)
    layers = [
        Layer(
            id=plan.id,
            name=plan.name,
            rect=plan.rect,
            rgb=reader.decode_png(plan.rgb),
            coverage=reader.decode_png(plan.coverage),
            source_mask=reader.decode_png(plan.source_mask),
            visible=plan.visible,
            info=plan.info,
        )
        for plan in plans
    ]
    try:
        return Document.restore(original, mask, layers, source=source, name=name, project_path=reader.path)
    except ValueError as exc:
        raise reader.fail(str(exc)) from exc


def _plan_layer(reader: _Reader, meta: Any, i: int, bounds: Rect, seen: set[str]) -> _LayerPlan:
    what = f"layer {i + 1}"
    _require(reader, isinstance(meta, dict), f"{what} is malformed")
    layer_id, name, rect_list = meta.get("id"), meta.get("name"), meta.get("rect")
    _require(reader, isinstance(layer_id, str) and _LAYER_ID.match(layer_id) is not None, f"{what} has a bad id")
    _require(reader, layer_id not in seen, f"{what} repeats the id {layer_id!r}")
    seen.add(layer_id)
    _require(reader, isinstance(name, str) and len(name) <= MAX_NAME_CHARS, f"{what} has a bad name")
    _require(reader, isinstance(meta.get("visible"), bool), f"{what} has a bad visibility flag")
    info = meta.get("info", {})
    _require(reader, isinstance(info, dict) and _depth(info, MAX_INFO_DEPTH) <= MAX_INFO_DEPTH, f"{what} has malformed info")
    _require(
        reader,
        isinstance(rect_list, list) and len(rect_list) == 4 and all(_is_int(v) for v in rect_list),
        f"{what} has a malformed box",
    )
    rect = Rect(*rect_list)
    _require(reader, not rect.is_empty and bounds.contains(rect), f"{what}'s box {rect_list} is not inside the image")
    uses = {}
    for key, channels in (("rgb", 3), ("coverage", 1), ("source_mask", 1)):
        member = meta.get(key)
        _require(reader, isinstance(member, str), f"{what} has no {key} entry")
        uses[key] = _PngUse(member, rect.width, rect.height, channels)
    return _LayerPlan(
        id=layer_id,
        name=name,
        rect=rect,
        visible=meta["visible"],
        info=_without_non_finite(info),
        rgb=uses["rgb"],
        coverage=uses["coverage"],
        source_mask=uses["source_mask"],
    )
