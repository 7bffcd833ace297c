"""Fuzzing the photo, mask and project loaders from real seed files.

Every case must end in a result or in the loader's documented error (``ImageLoadError``,
``ProjectError``), within a time bound (hypothesis' deadline) and a memory bound (the peak RSS
of each case may grow by at most ``RSS_GROWTH_LIMIT``, with the loaders' limits lowered so that
bound is tight). Seeds are made here: small JPEG (baseline and progressive), PNG (8-bit,
16-bit RGBA, palette with transparency), two-page TIFF, rotated 16-bit TIFF, WebP, GIF and BMP
files, masks, and a project saved by ``save_project``. Mutations: bit flips, byte and header-field
overwrites with extreme values, truncation, deletion, insertion and splices between seeds; for
projects also manifest values replaced and members damaged with their hashes fixed up, so the
damage reaches the decoders rather than stopping at a checksum.

The quick profile (fixed seed, runs in CI) is the default. The heavy profile::

    LAMAPAINT_FUZZ_HEAVY=1 .venv/bin/python -m pytest -m fuzz_heavy tests/io/test_fuzz_loaders.py \\
        --hypothesis-show-statistics

``LAMAPAINT_FUZZ_EXAMPLES`` (default 3000) sets the heavy profile's cases per loader.
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
    return {
        "jpeg": _pillow(im, "JPEG", quality=85, exif=exif.tobytes()),
        "jpeg-progressive": _pillow(im, "JPEG", quality=80, progressive=True),
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


def test_seeds_load_unharmed(folder: Path) -> None:
    """The fuzzing starts from files that load: the mutations, not the seeds, make the damage."""
    for data in image_seeds().values():
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
