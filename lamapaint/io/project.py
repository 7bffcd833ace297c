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

Saving is atomic (the previous file survives any failure). Loading trusts nothing: member names,
declared and actual sizes (read with a limit, so a zip bomb cannot inflate), hashes, image sizes
from the PNG headers before decoding, boxes inside the image. Any problem raises ``ProjectError``
naming the file, and no document is built. Undo history is not saved.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import io
import json
import logging
import os
import re
import struct
import zipfile
from pathlib import Path
from typing import Any, BinaryIO

import cv2
import numpy as np

from lamapaint.core.document import Document, DocumentSnapshot
from lamapaint.core.geometry import Rect
from lamapaint.core.layers import Layer
from lamapaint.io.atomic import atomic_write
from lamapaint.io.images import MAX_PIXELS, ImageLoadError, load_image_bytes
from lamapaint.jobs import CancelToken, ProgressCallback, no_progress

log = logging.getLogger(__name__)

FORMAT_NAME = "lamapaint-project"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"

MAX_LAYERS = 1000
MAX_MANIFEST_BYTES = 16 << 20
MAX_MEMBER_BYTES = 2 << 30
MAX_TOTAL_BYTES = 6 << 30
MAX_NAME_CHARS = 1000

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
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
) -> None:
    """Write ``snapshot`` to ``path`` atomically; safe to call off the GUI thread.

    Raises ProjectError (or Cancelled from ``cancel``); either way an existing file is untouched.
    """
    dest = Path(path)
    report = progress or no_progress
    steps = 2 + len(snapshot.layers)
    try:
        with atomic_write(dest) as fh:  # noqa: SIM117 - the zip writes into the atomic temp file
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
                            "info": layer.info,
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
    except (OSError, TypeError, ValueError) as exc:
        raise ProjectError(f"Cannot save project {dest}: {exc}") from exc
    report(1.0, "Saved")
    log.info("saved project %s (%d layers)", dest, len(snapshot.layers))


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


class _Reader:
    """Validating access to one project zip; every failure is a ProjectError naming the file."""

    def __init__(self, path: Path, zf: zipfile.ZipFile) -> None:
        self.path = path
        self.zf = zf
        self.members: dict[str, dict[str, Any]] = {}

    def fail(self, what: str) -> ProjectError:
        return ProjectError(f"Cannot open project {self.path}: {what}")

    def check_names(self) -> dict[str, zipfile.ZipInfo]:
        infos = self.zf.infolist()
        if len(infos) > 4 + 3 * MAX_LAYERS:
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
        return by_name

    def read_limited(self, info: zipfile.ZipInfo, limit: int) -> bytes:
        """Read at most ``limit`` bytes; more means the entry lies about its size."""
        if info.file_size > limit:
            raise self.fail(f"entry {info.filename!r} is larger than expected")
        with self.zf.open(info) as fh:
            data = _read_at_most(fh, limit + 1)
        if len(data) > limit or len(data) != info.file_size:
            raise self.fail(f"entry {info.filename!r} does not have its declared size")
        return data

    def read_member(self, by_name: dict[str, zipfile.ZipInfo], name: str) -> bytes:
        meta = self.members.get(name)
        if meta is None:
            raise self.fail(f"the manifest refers to {name!r} but does not describe it")
        data = self.read_limited(by_name[name], meta["size"])
        if hashlib.sha256(data).hexdigest() != meta["sha256"]:
            raise self.fail(f"entry {name!r} is damaged (checksum mismatch)")
        return data

    def decode_png(self, data: bytes, name: str, width: int, height: int, channels: int) -> np.ndarray:
        """Decode after checking the header: exact size, 8-bit, grey or RGB as expected."""
        if len(data) < 33 or data[:8] != _PNG_SIGNATURE or data[12:16] != b"IHDR":
            raise self.fail(f"entry {name!r} is not a PNG image")
        w, h, depth, colour = struct.unpack(">IIBB", data[16:26])
        want_colour = 0 if channels == 1 else 2
        if (w, h) != (width, height) or depth != 8 or colour != want_colour:
            raise self.fail(
                f"entry {name!r} is {w}x{h} (depth {depth}, colour type {colour}), expected {width}x{height}"
            )
        arr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
        expected = (height, width) if channels == 1 else (height, width, 3)
        if arr is None or arr.dtype != np.uint8 or arr.shape != expected:
            raise self.fail(f"entry {name!r} could not be decoded")
        if channels == 3:
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


def load_project(path: str | os.PathLike[str]) -> Document:
    """Read and fully validate a project; raise ProjectError on any problem (nothing half-built)."""
    p = Path(path)
    try:
        with zipfile.ZipFile(p, "r") as zf:
            return _load(_Reader(p, zf))
    except ProjectError:
        raise
    except FileNotFoundError:
        raise ProjectError(f"Cannot open project {p}: the file does not exist") from None
    except zipfile.BadZipFile as exc:
        raise ProjectError(f"Cannot open project {p}: not a lamapaint project or the file is damaged ({exc})") from exc
    except (OSError, EOFError, ValueError, zipfile.LargeZipFile, NotImplementedError, RuntimeError) as exc:
        raise ProjectError(f"Cannot open project {p}: {exc}") from exc


def _require(reader: _Reader, ok: bool, what: str) -> None:
    if not ok:
        raise reader.fail(what)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _load(reader: _Reader) -> Document:
    by_name = reader.check_names()
    _require(reader, MANIFEST in by_name, "it has no manifest (not a lamapaint project)")
    try:
        manifest = json.loads(reader.read_limited(by_name[MANIFEST], MAX_MANIFEST_BYTES).decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise reader.fail(f"the manifest is not valid JSON ({exc})") from exc
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

    # The photo.
    original_meta = manifest.get("original")
    _require(
        reader,
        isinstance(original_meta, dict)
        and isinstance(original_meta.get("member"), str)
        and original_meta.get("encoding") in ("source", "png"),
        "the original photo entry is malformed",
    )
    original_bytes = reader.read_member(by_name, original_meta["member"])
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
        original = reader.decode_png(original_bytes, original_meta["member"], width, height, 3)
    del original_bytes
    if original_meta.get("rgb_sha256") not in (None, _rgb_digest(original)):
        # Same file, different decoder (a newer libjpeg): layers still line up, colours may differ by a level.
        log.warning("%s: the photo decodes slightly differently than when it was saved", reader.path)

    mask_name = manifest.get("mask")
    _require(reader, isinstance(mask_name, str), "the mask entry is malformed")
    mask = reader.decode_png(reader.read_member(by_name, mask_name), mask_name, width, height, 1)

    layers: list[Layer] = []
    seen: set[str] = set()
    for i, meta in enumerate(layers_meta):
        layers.append(_load_layer(reader, by_name, meta, i, bounds, seen))

    try:
        return Document.restore(original, mask, layers, source=source, name=name, project_path=reader.path)
    except ValueError as exc:
        raise reader.fail(str(exc)) from exc


def _load_layer(
    reader: _Reader, by_name: dict[str, zipfile.ZipInfo], meta: Any, i: int, bounds: Rect, seen: set[str]
) -> Layer:
    what = f"layer {i + 1}"
    _require(reader, isinstance(meta, dict), f"{what} is malformed")
    layer_id, name, rect_list = meta.get("id"), meta.get("name"), meta.get("rect")
    _require(reader, isinstance(layer_id, str) and _LAYER_ID.match(layer_id) is not None, f"{what} has a bad id")
    _require(reader, layer_id not in seen, f"{what} repeats the id {layer_id!r}")
    seen.add(layer_id)
    _require(reader, isinstance(name, str) and len(name) <= MAX_NAME_CHARS, f"{what} has a bad name")
    _require(reader, isinstance(meta.get("visible"), bool), f"{what} has a bad visibility flag")
    _require(reader, isinstance(meta.get("info", {}), dict), f"{what} has malformed info")
    _require(
        reader,
        isinstance(rect_list, list) and len(rect_list) == 4 and all(_is_int(v) for v in rect_list),
        f"{what} has a malformed box",
    )
    rect = Rect(*rect_list)
    _require(reader, not rect.is_empty and bounds.contains(rect), f"{what}'s box {rect_list} is not inside the image")
    arrays = {}
    for key, channels in (("rgb", 3), ("coverage", 1), ("source_mask", 1)):
        member = meta.get(key)
        _require(reader, isinstance(member, str), f"{what} has no {key} entry")
        arrays[key] = reader.decode_png(reader.read_member(by_name, member), member, rect.width, rect.height, channels)
    return Layer(
        id=layer_id,
        name=name,
        rect=rect,
        rgb=arrays["rgb"],
        coverage=arrays["coverage"],
        source_mask=arrays["source_mask"],
        visible=meta["visible"],
        info=dict(meta.get("info", {})),
    )
