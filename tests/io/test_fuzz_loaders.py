"""Fuzzing the photo, mask and project loaders from real seed files.

Every case must end in a result or in the loader's documented error (``ImageLoadError``,
``ProjectError``), within a time bound (hypothesis' deadline) and a memory bound (the peak RSS
of each case may grow by at most ``RSS_GROWTH_LIMIT``, with the loaders' limits lowered so that
bound is tight). Seeds are made here: small JPEG (baseline and progressive), PNG (8-bit,
16-bit RGBA, palette with transparency), two-page TIFF, rotated 16-bit TIFF, WebP, GIF and BMP
files, the JPEG classes of issue 17 (``tests/io/crafted_jpeg.py``: empty APPn/COM segments before
metadata, a DQT after the scan, duplicate component ids, a cut progressive scan, hundreds of
scans), masks, and a project saved by ``save_project``. Mutations: bit flips, byte and header-field
overwrites with extreme values, truncation, deletion, insertion and splices between seeds; for
projects also manifest values replaced and members damaged with their hashes fixed up, so the
damage reaches the decoders rather than stopping at a checksum.

The JPEG export fuzz loads each mutated JPEG and, where it loads, exports an edit of it as JPEG:
the export must end in a file or an ``ExportError`` (a crash in jpeglib's child process is a
whole re-encode), and a file reported as kept exactly ("lossless-jpeg-blocks") must decode to
the app's pixels everywhere more than 32 pixels from the edit (issue 17.1, 17.2). Each case
starts a child process, so this profile has fewer cases.

The quick profile (fixed seed, runs in CI) is the default. The heavy profile::

    LAMAPAINT_FUZZ_HEAVY=1 .venv/bin/python -m pytest -m fuzz_heavy tests/io/test_fuzz_loaders.py \\
        --hypothesis-show-statistics

``LAMAPAINT_FUZZ_EXAMPLES`` (default 3000) sets the heavy profile's cases per loader,
``LAMAPAINT_FUZZ_EXPORT_EXAMPLES`` (default 2000) its JPEG export cases.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import resource
import struct
import tempfile
import warnings
import zipfile
import zlib
from datetime import timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Iterator

import cv2
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from lamapaint.core.document import Document
from lamapaint.core.geometry import Rect
from lamapaint.core.layers import Layer
from lamapaint.io import images, project
from lamapaint.io.images import ImageLoadError, load_image_bytes, load_mask
from lamapaint.io.project import ProjectError, load_project, save_project
from tests.io.crafted_jpeg import CRAFTED, crafted, pillow_jpeg, repeated_scans
from tests.layer_helpers import layer_from_result

HEAVY = bool(os.environ.get("LAMAPAINT_FUZZ_HEAVY"))
RSS_GROWTH_LIMIT = 192 << 20
"""Peak-RSS growth allowed in one case: twice the lowered decode limits below, plus slack for
the allocator (on systems without a per-case peak it applies to the whole run)."""

_COMMON = dict(
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
    database=None,
    print_blob=True,
)
QUICK = settings(max_examples=100, derandomize=True, deadline=timedelta(seconds=5), **_COMMON)
HEAVY_SETTINGS = settings(
    max_examples=int(os.environ.get("LAMAPAINT_FUZZ_EXAMPLES", "3000")), deadline=timedelta(seconds=10), **_COMMON
)


# --- seeds --------------------------------------------------------------------------------------


def _picture(h: int, w: int) -> np.ndarray:
    y, x = np.mgrid[0:h, 0:w]
    return np.stack([x * 255 // (w - 1), y * 255 // (h - 1), (x * 7 + y * 13) % 256], axis=-1).astype(np.uint8)


def _pillow(im: Image.Image, fmt: str, **kw: Any) -> bytes:
    buf = io.BytesIO()
    im.save(buf, fmt, **kw)
    return buf.getvalue()


@lru_cache(maxsize=None)
def image_seeds() -> dict[str, bytes]:
    rgb = _picture(24, 32)
    im = Image.fromarray(rgb)
    exif = Image.Exif()
    exif[0x0112] = 6
    rgba16 = np.dstack([rgb, rgb[:, :, 0]]).astype(np.uint16) * 257
    ok, png16 = cv2.imencode(".png", cv2.cvtColor(rgba16, cv2.COLOR_RGBA2BGRA))
    assert ok
    progressive = _pillow(im, "JPEG", quality=80, progressive=True)
    return {
        **{f"jpeg-{name}": crafted(name, rgb) for name in CRAFTED},  # issue 17's classes
        "jpeg-many-scans": repeated_scans(progressive, 300),
        "jpeg": _pillow(im, "JPEG", quality=85, exif=exif.tobytes()),
        "jpeg-progressive": progressive,
        "png": _pillow(im, "PNG"),
        "png16-rgba": png16.tobytes(),
        "png-palette": _pillow(im.convert("P"), "PNG", transparency=3),
        "tiff-2-pages": _pillow(im, "TIFF", save_all=True, append_images=[im.rotate(90)]),
        "tiff16-grey": _pillow(Image.fromarray(rgba16[:, :, 0]), "TIFF", tiffinfo={0x0112: 8}),
        "webp": _pillow(im, "WEBP", quality=70),
        "gif": _pillow(im.convert("P"), "GIF"),
        "bmp": _pillow(im, "BMP"),
    }


@lru_cache(maxsize=None)
def mask_seeds() -> dict[str, bytes]:
    hole = np.zeros((24, 32), np.uint8)
    hole[5:15, 8:20] = 255
    rgba = np.zeros((24, 32, 4), np.uint8)
    rgba[3:9, 3:9] = (255, 0, 0, 255)
    return {
        "grey": _pillow(Image.fromarray(hole), "PNG"),
        "1-bit": _pillow(Image.fromarray(hole).convert("1"), "PNG"),
        "rgba": _pillow(Image.fromarray(rgba), "PNG"),
        "jpeg": _pillow(Image.fromarray(hole), "JPEG"),
    }


@lru_cache(maxsize=None)
def project_seed() -> bytes:
    """A small real project: a JPEG original, a mask in progress and two layers."""
    source = load_image_bytes(image_seeds()["jpeg"], "seed.jpg")
    doc = Document(source.rgb, source=source, name="seed.jpg")
    doc.fill_rect(Rect(2, 2, 10, 12))
    patch = layer_from_result("Remove", np.ascontiguousarray(255 - doc.original), doc.mask, info={"seconds": 0.5})
    assert patch is not None
    doc.add_layer(patch)
    soft = Rect(4, 6, 20, 16)
    doc.add_layer(
        Layer.create("Soft", soft, _picture(soft.height, soft.width), np.full((soft.height, soft.width), 128, np.uint8)),
        clear_mask=False,
    )
    doc.fill_rect(Rect(12, 12, 20, 20))
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "seed.lamapaint"
        save_project(path, doc.snapshot())
        return path.read_bytes()


@lru_cache(maxsize=None)
def project_members() -> tuple[dict[str, Any], dict[str, bytes]]:
    with zipfile.ZipFile(io.BytesIO(project_seed())) as zf:
        members = {name: zf.read(name) for name in zf.namelist()}
    return json.loads(members.pop("manifest.json")), members


# --- mutations ------------------------------------------------------------------------------------

_FIELD_VALUES = (0, 1, 0x7F, 0x80, 0xFF, 0x7FFF, 0x8000, 0xFFFF, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF, 20000, 65500)


@st.composite
def mutated(draw: st.DrawFn, data: bytes, others: tuple[bytes, ...]) -> bytes:
    out = bytearray(data)
    for _ in range(draw(st.integers(1, 4))):
        if not out:
            break
        n = len(out)
        op = draw(st.sampled_from(("flip", "byte", "field", "truncate", "delete", "insert", "splice")))
        # Mostly past the magic number and chunk type (16 bytes), or most cases are "not an image".
        low = 0 if n <= 16 or draw(st.integers(0, 7)) == 0 else 16
        pos = draw(st.integers(low, n - 1))
        if op == "flip":
            out[pos] ^= 1 << draw(st.integers(0, 7))
        elif op == "byte":
            out[pos] = draw(st.integers(0, 255))
        elif op == "field":  # header fields: sizes, counts, offsets near the start
            pos = draw(st.integers(low, max(low, min(n, 96) - 1)))
            width = draw(st.sampled_from((2, 4)))
            value = draw(st.sampled_from(_FIELD_VALUES)) & ((1 << 8 * width) - 1)
            out[pos : pos + width] = value.to_bytes(width, draw(st.sampled_from(("big", "little"))))
        elif op == "truncate":  # mostly in the pixel data: a cut header is mere "not an image"
            del out[max(pos, n // 3 if draw(st.booleans()) else 0) :]
        elif op == "delete":
            del out[pos : pos + draw(st.integers(1, 64))]
        elif op == "insert":
            out[pos:pos] = draw(st.binary(min_size=1, max_size=32))
        else:  # splice: a piece of another seed (or of this one) lands here
            src = draw(st.sampled_from(others))
            start = draw(st.integers(0, len(src) - 1))
            out[pos:pos] = src[start : start + draw(st.integers(1, 256))]
    if out.startswith(_PNG_SIGNATURE) and draw(st.booleans()):
        _fix_png_crcs(out)  # else nearly every damaged PNG stops at a chunk checksum
    return bytes(out)


_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _fix_png_crcs(data: bytearray) -> None:
    pos = len(_PNG_SIGNATURE)
    while pos + 12 <= len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        end = pos + 8 + length
        if end + 4 > len(data):
            return
        data[end : end + 4] = struct.pack(">I", zlib.crc32(data[pos + 4 : end]))
        pos = end + 4


@st.composite
def image_case(draw: st.DrawFn, seeds: Callable[[], dict[str, bytes]]) -> tuple[str, bytes]:
    pool = seeds()
    name = draw(st.sampled_from(sorted(pool)))
    return name, draw(mutated(pool[name], tuple(pool.values())))


_JSON_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.sampled_from((-1, 0, 1, 2**31, 2**63, 10**30, 1e308, float("nan"), float("inf"), -0.0)),
    st.text(max_size=8),
    st.sampled_from(("mask.png", "original.jpg", "layers/0000/rgb.png", "../x", "x" * 5000)),
    st.lists(st.integers(-5, 100), max_size=5),
    st.dictionaries(st.text(max_size=4), st.integers(), max_size=3),
)


def _paths(value: Any, prefix: tuple = ()) -> Iterator[tuple]:
    yield prefix
    if isinstance(value, dict):
        for key, child in value.items():
            yield from _paths(child, prefix + (key,))
    elif isinstance(value, list):
        for i, child in enumerate(value):
            yield from _paths(child, prefix + (i,))


def _zip(manifest_bytes: bytes, members: dict[str, bytes], compression: int) -> bytes:
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with zipfile.ZipFile(buf, "w", compression=compression) as zf:
            for name, data in members.items():
                zf.writestr(name, data)
            zf.writestr("manifest.json", manifest_bytes)
    return buf.getvalue()


@st.composite
def project_case(draw: st.DrawFn) -> bytes:
    """A project with a damaged manifest value and/or a damaged member, hashes usually fixed up."""
    manifest, members = project_members()
    manifest = json.loads(json.dumps(manifest))
    members = dict(members)
    if draw(st.booleans()):
        paths = sorted((p for p in _paths(manifest) if p), key=repr)
        path = draw(st.sampled_from(paths))
        parent = manifest
        for key in path[:-1]:
            parent = parent[key]
        if draw(st.integers(0, 4)) == 0 and isinstance(parent, dict):
            del parent[path[-1]]
        else:
            parent[path[-1]] = draw(_JSON_VALUES)
    if draw(st.booleans()):
        name = draw(st.sampled_from(sorted(members)))
        members[name] = draw(mutated(members[name], tuple(members.values())))
        if draw(st.integers(0, 3)) > 0 and isinstance(manifest.get("members"), dict):
            manifest["members"][name] = {"size": len(members[name]), "sha256": hashlib.sha256(members[name]).hexdigest()}
    if draw(st.integers(0, 5)) == 0:  # share one member between layers
        layers = manifest.get("layers")
        if isinstance(layers, list) and len(layers) > 1 and all(isinstance(layer, dict) for layer in layers):
            layers[1]["rgb"] = layers[0].get("rgb")
    compression = draw(st.sampled_from((zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)))
    return _zip(json.dumps(manifest).encode(), members, compression)


@st.composite
def raw_project_case(draw: st.DrawFn) -> bytes:
    seed = project_seed()
    return draw(mutated(seed, (seed, image_seeds()["png"])))


# --- the bounds -----------------------------------------------------------------------------------


class _PeakRss:
    """Peak resident memory of one case: Linux lets a process reset its high-water mark (writing
    5 to /proc/self/clear_refs), so each case is measured on its own. Elsewhere the process-wide
    ``ru_maxrss`` is used, which still bounds every case, but only from the run's start."""

    def __init__(self) -> None:
        self.per_case = self._reset()

    @staticmethod
    def _reset() -> bool:
        try:
            Path("/proc/self/clear_refs").write_text("5")
        except OSError:
            return False
        return True

    @staticmethod
    def _status(field: str) -> int:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
        raise KeyError(field)

    def start(self) -> int:
        if self.per_case:
            self._reset()
            return self._status("VmRSS")
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024

    def grown_since(self, start: int) -> int:
        peak = self._status("VmHWM") if self.per_case else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        return peak - start


@pytest.fixture(scope="module")
def bounded() -> Iterator[Callable[[Callable[[], object], type[Exception]], None]]:
    """Run one case: only ``allowed`` may escape, and its peak RSS stays within the bound."""
    with pytest.MonkeyPatch.context() as mp:
        # Limits lowered so a bomb the checks let through would show in the RSS bound.
        mp.setattr(images, "MAX_PIXELS", 4_000_000)
        mp.setattr(images, "MAX_DECODE_BYTES", 64 << 20)
        mp.setattr(project, "MAX_PIXELS", 4_000_000)
        mp.setattr(project, "MAX_DOCUMENT_BYTES", 64 << 20)
        for seed in image_seeds().values():  # warm up: imports and plugin set-up are not the case's
            load_image_bytes(seed)
        project_members()
        rss = _PeakRss()
        base = rss.start()

        def run(case: Callable[[], object], allowed: type[Exception]) -> None:
            start = rss.start() if rss.per_case else base
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # Pillow warns about odd metadata; not our concern here
                try:
                    case()
                except allowed as exc:
                    assert str(exc), "an error without a message"
            grown = rss.grown_since(start)
            assert grown <= RSS_GROWTH_LIMIT, f"peak RSS grew by {grown >> 20} MiB"

        yield run


def _image_property(bounded: Callable, case: tuple[str, bytes]) -> None:
    _, data = case
    bounded(lambda: load_image_bytes(data, "fuzz"), ImageLoadError)


def _mask_property(bounded: Callable, folder: Path, case: tuple[str, bytes]) -> None:
    path = folder / "mask.png"
    path.write_bytes(case[1])

    def check() -> None:
        mask = load_mask(path)
        assert mask.dtype == np.uint8 and mask.ndim == 2 and set(np.unique(mask)) <= {0, 255}

    bounded(check, ImageLoadError)


def _project_property(bounded: Callable, folder: Path, data: bytes) -> None:
    path = folder / "fuzz.lamapaint"
    path.write_bytes(data)
    bounded(lambda: load_project(path), ProjectError)


@lru_cache(maxsize=None)
def export_seeds() -> dict[str, bytes]:
    """JPEGs large enough (160x128) to leave pixels more than two MCUs from the edit."""
    rgb = _picture(128, 160)
    exif = Image.Exif()
    exif[0x0112] = 6
    return {
        **{name: crafted(name, rgb) for name in CRAFTED},
        "baseline-420": pillow_jpeg(rgb),
        "baseline-444-rotated": pillow_jpeg(rgb, subsampling=0, exif=exif.tobytes()),
        "progressive-422": pillow_jpeg(rgb, subsampling=1, progressive=True),
    }


@st.composite
def export_case(draw: st.DrawFn) -> tuple[str, bytes]:
    """A third of the cases are the seeds as they are: most mutations stop the file at load."""
    pool = export_seeds()
    name = draw(st.sampled_from(sorted(pool)))
    if draw(st.integers(0, 2)) == 0:
        return name, pool[name]
    return name, draw(mutated(pool[name], tuple(pool.values())))


_EDIT = (slice(8, 16), slice(8, 16))
_MARGIN = 32
"""Re-encoded MCUs reach 15 px past the edit, and the decode check spares one MCU more."""


def _export_property(bounded: Callable, folder: Path, case: tuple[str, bytes]) -> None:
    from hypothesis import event

    from lamapaint.io.export import ExportError, ExportOptions, export_image

    _, data = case
    try:
        src = load_image_bytes(data, "fuzz.jpg")
    except ImageLoadError:
        event("refused at load")
        return
    rgb = src.rgb.copy()
    touched = np.zeros(rgb.shape[:2], bool)
    touched[_EDIT] = True
    rgb[touched] = 255 - rgb[touched]
    dest = folder / "export.jpg"

    def check() -> None:
        try:
            report = export_image(dest, rgb, src, ExportOptions(overwrite=True), touched)
        except ExportError:
            event("export: refused (ExportError)")
            raise
        event(f"export: {report.method}")
        if "crashed" in report.pixels:
            event("export: jpeglib's child process crashed (re-encoded)")
        if report.blockwise:
            with Image.open(dest) as im:
                stored = np.asarray(im.convert("RGB"))
            upright = images.apply_orientation(stored, src.orientation)
            far = np.ones(rgb.shape[:2], bool)
            far[: _EDIT[0].stop + _MARGIN, : _EDIT[1].stop + _MARGIN] = False
            assert upright.shape == rgb.shape and np.array_equal(upright[far], rgb[far]), "wrong pixels called exact"

    bounded(check, ExportError)


@pytest.fixture(scope="module")
def folder() -> Iterator[Path]:
    with tempfile.TemporaryDirectory() as name:
        yield Path(name)


# --- quick profile (CI) ------------------------------------------------------------------------


@QUICK
@given(case=image_case(image_seeds))
def test_image_loader_quick(bounded: Callable, case: tuple[str, bytes]) -> None:
    _image_property(bounded, case)


@QUICK
@given(case=image_case(mask_seeds))
def test_mask_loader_quick(bounded: Callable, folder: Path, case: tuple[str, bytes]) -> None:
    _mask_property(bounded, folder, case)


@QUICK
@given(data=project_case())
def test_project_loader_quick(bounded: Callable, folder: Path, data: bytes) -> None:
    _project_property(bounded, folder, data)


@settings(QUICK, max_examples=60)
@given(data=raw_project_case())
def test_project_loader_raw_bytes_quick(bounded: Callable, folder: Path, data: bytes) -> None:
    _project_property(bounded, folder, data)


@settings(QUICK, max_examples=40, deadline=timedelta(seconds=20))
@given(case=export_case())
def test_jpeg_export_quick(bounded: Callable, folder: Path, case: tuple[str, bytes]) -> None:
    _export_property(bounded, folder, case)


def test_too_many_scans_is_refused() -> None:
    progressive = image_seeds()["jpeg-progressive"]
    with pytest.raises(ImageLoadError, match="scans"):
        load_image_bytes(repeated_scans(progressive, images.MAX_JPEG_SCANS), "scans.jpg")


def test_seeds_load_unharmed(folder: Path) -> None:
    """The fuzzing starts from files that load: the mutations, not the seeds, make the damage."""
    for data in [*image_seeds().values(), *export_seeds().values()]:
        load_image_bytes(data)
    for name, data in mask_seeds().items():
        (folder / name).write_bytes(data)
        assert load_mask(folder / name).any()
    (folder / "seed.lamapaint").write_bytes(project_seed())
    assert len(load_project(folder / "seed.lamapaint").layers) == 2


# --- heavy profile (by hand: see the module docstring) -----------------------------------------


@pytest.mark.fuzz_heavy
@pytest.mark.timeout(3600)
@pytest.mark.skipif(not HEAVY, reason="heavy fuzzing: set LAMAPAINT_FUZZ_HEAVY=1 and run with -m fuzz_heavy")
@HEAVY_SETTINGS
@given(case=image_case(image_seeds))
def test_image_loader_heavy(bounded: Callable, case: tuple[str, bytes]) -> None:
    _image_property(bounded, case)


@pytest.mark.fuzz_heavy
@pytest.mark.timeout(3600)
@pytest.mark.skipif(not HEAVY, reason="heavy fuzzing: set LAMAPAINT_FUZZ_HEAVY=1 and run with -m fuzz_heavy")
@HEAVY_SETTINGS
@given(case=image_case(mask_seeds))
def test_mask_loader_heavy(bounded: Callable, folder: Path, case: tuple[str, bytes]) -> None:
    _mask_property(bounded, folder, case)


@pytest.mark.fuzz_heavy
@pytest.mark.timeout(3600)
@pytest.mark.skipif(not HEAVY, reason="heavy fuzzing: set LAMAPAINT_FUZZ_HEAVY=1 and run with -m fuzz_heavy")
@HEAVY_SETTINGS
@given(data=project_case())
def test_project_loader_heavy(bounded: Callable, folder: Path, data: bytes) -> None:
    _project_property(bounded, folder, data)


@pytest.mark.fuzz_heavy
@pytest.mark.timeout(3600)
@pytest.mark.skipif(not HEAVY, reason="heavy fuzzing: set LAMAPAINT_FUZZ_HEAVY=1 and run with -m fuzz_heavy")
@HEAVY_SETTINGS
@given(data=raw_project_case())
def test_project_loader_raw_bytes_heavy(bounded: Callable, folder: Path, data: bytes) -> None:
    _project_property(bounded, folder, data)


# --- issue 17 (files): damaged PNG pixels, huge zip directories, files that are not files ---------
# Each class found a broken promise: a PNG whose IDAT was damaged behind a valid CRC loaded with black
# rows; a zip of tiny entries cost gigabytes before its entry count was checked; a FIFO hung the
# loaders that opened it.


@st.composite
def damaged_png_case(draw: st.DrawFn) -> bytes:
    """A PNG seed with bytes of its pixel data (IDAT) changed and every CRC made valid again."""
    pool = {name: data for name, data in image_seeds().items() if data.startswith(_PNG_SIGNATURE)}
    out = bytearray(pool[draw(st.sampled_from(sorted(pool)))])
    idats, pos = [], len(_PNG_SIGNATURE)
    while pos + 12 <= len(out):
        (length,) = struct.unpack(">I", out[pos : pos + 4])
        if out[pos + 4 : pos + 8] == b"IDAT" and length:
            idats.append((pos + 8, length))
        pos += 12 + length
    start, length = draw(st.sampled_from(idats))
    for _ in range(draw(st.integers(1, 3))):
        at = start + draw(st.integers(0, length - 1))
        out[at] ^= draw(st.integers(1, 255))
    _fix_png_crcs(out)
    return bytes(out)


def _damaged_png_property(bounded: Callable, data: bytes) -> None:
    """All or nothing: what Pillow cannot decode whole is refused, never loaded with damaged rows."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(io.BytesIO(data)) as im:
                im.load()
        decodes = True
    except Exception:  # noqa: BLE001 - any decoder error means the pixels are damaged
        decodes = False
    outcome: list[object] = []
    bounded(lambda: outcome.append(load_image_bytes(data, "fuzz.png")), ImageLoadError)
    assert decodes or not outcome, "a PNG whose pixels do not decode was loaded"


_EOCD_FIELDS = {"entries_here": 8, "entries": 10, "directory_size": 12, "directory_offset": 16}


@st.composite
def huge_directory_case(draw: st.DrawFn) -> bytes:
    """A project whose zip directory is big or claims to be: many real entries, or the end records'
    counts, sizes and offsets replaced with extreme values (plain and zip64)."""
    seed = project_seed()
    kind = draw(st.sampled_from(("many entries", "end record", "zip64 record")))
    if kind == "many entries":
        buf = io.BytesIO(seed)
        count = draw(st.sampled_from((project.MAX_ENTRIES - 10, project.MAX_ENTRIES + 1, 20_000)))
        with zipfile.ZipFile(buf, "a") as zf:
            for i in range(count):
                zf.writestr(f"x/{i}", b"")
        return buf.getvalue()
    out = bytearray(seed)
    end = out.rfind(b"PK\5\6")
    if kind == "zip64 record":
        record = struct.pack("<4sQ2H2L4Q", b"PK\6\6", 44, 45, 45, 0, 0, 0, 0, 0, 0)
        locator = struct.pack("<4sLQL", b"PK\6\7", 0, end, 1)
        out[end:end] = record + locator
        at, fields = end + 24, (0, 8, 16, 24)  # entries here, entries, size, offset (8 bytes each)
        for offset in draw(st.lists(st.sampled_from(fields), min_size=1, max_size=4, unique=True)):
            value = draw(st.sampled_from((0, 1, 3004, 3005, 2**31, 2**40, 2**63 - 1, 2**64 - 1)))
            struct.pack_into("<Q", out, at + offset, value)
        return bytes(out)
    for name in draw(st.lists(st.sampled_from(sorted(_EOCD_FIELDS)), min_size=1, max_size=4, unique=True)):
        width = 2 if name.startswith("entries") else 4
        value = draw(st.sampled_from(_FIELD_VALUES)) & ((1 << 8 * width) - 1)
        out[end + _EOCD_FIELDS[name] : end + _EOCD_FIELDS[name] + width] = value.to_bytes(width, "little")
    return bytes(out)


def _huge_directory_property(bounded: Callable, folder: Path, data: bytes) -> None:
    _project_property(bounded, folder, data)


@QUICK
@given(data=damaged_png_case())
def test_damaged_png_pixels_quick(bounded: Callable, data: bytes) -> None:
    _damaged_png_property(bounded, data)


@settings(QUICK, max_examples=40)
@given(data=huge_directory_case())
def test_huge_zip_directory_quick(bounded: Callable, folder: Path, data: bytes) -> None:
    _huge_directory_property(bounded, folder, data)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
@pytest.mark.timeout(60)
@pytest.mark.parametrize("name", ["photo.jpg", "mask.png", "trip.lamapaint", "model.safetensors"])
def test_a_fifo_is_refused_by_every_loader_without_blocking(tmp_path: Path, name: str) -> None:
    """Nobody ever writes to these FIFOs: a blocking open would hang until the timeout."""
    path = tmp_path / name
    os.mkfifo(path)
    if name == "photo.jpg":
        with pytest.raises(ImageLoadError, match="not a regular file"):
            images.load_image(path)
    elif name == "mask.png":
        with pytest.raises(ImageLoadError, match="not a regular file"):
            load_mask(path)
    elif name == "trip.lamapaint":
        with pytest.raises(ProjectError, match="not a regular file"):
            load_project(path)
    else:
        from lamapaint.inpaint.types import WeightsError
        from lamapaint.inpaint.weights.model_store import read_header

        with pytest.raises(WeightsError, match="not a regular file"):
            read_header(path)


@pytest.mark.fuzz_heavy
@pytest.mark.timeout(3600)
@pytest.mark.skipif(not HEAVY, reason="heavy fuzzing: set LAMAPAINT_FUZZ_HEAVY=1 and run with -m fuzz_heavy")
@HEAVY_SETTINGS
@given(data=damaged_png_case())
def test_damaged_png_pixels_heavy(bounded: Callable, data: bytes) -> None:
    _damaged_png_property(bounded, data)


@pytest.mark.fuzz_heavy
@pytest.mark.timeout(3600)
@pytest.mark.skipif(not HEAVY, reason="heavy fuzzing: set LAMAPAINT_FUZZ_HEAVY=1 and run with -m fuzz_heavy")
@settings(HEAVY_SETTINGS, max_examples=max(1, HEAVY_SETTINGS.max_examples // 10))
@given(data=huge_directory_case())
def test_huge_zip_directory_heavy(bounded: Callable, folder: Path, data: bytes) -> None:
    _huge_directory_property(bounded, folder, data)
@pytest.mark.fuzz_heavy
@pytest.mark.timeout(3600)
@pytest.mark.skipif(not HEAVY, reason="heavy fuzzing: set LAMAPAINT_FUZZ_HEAVY=1 and run with -m fuzz_heavy")
@settings(HEAVY_SETTINGS, max_examples=int(os.environ.get("LAMAPAINT_FUZZ_EXPORT_EXAMPLES", "2000")), deadline=timedelta(seconds=30))
@given(case=export_case())
def test_jpeg_export_heavy(bounded: Callable, folder: Path, case: tuple[str, bytes]) -> None:
    _export_property(bounded, folder, case)
