"""Project files: bit-exact round trips, atomic saves, and refusal of damaged or hostile files."""

from __future__ import annotations

import hashlib
import io
import json
import struct
import warnings
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from lamapaint.core.document import Document
from lamapaint.core.geometry import Rect
from lamapaint.core.layers import Layer
from lamapaint.io import project
from lamapaint.io.images import load_image_bytes
from lamapaint.io.project import ProjectError, load_project, save_project
from lamapaint.jobs import CancelToken, Cancelled


def _jpeg_bytes(rgb: np.ndarray, orientation: int = 1) -> bytes:
    buf = io.BytesIO()
    exif = Image.Exif()
    exif[0x0112] = orientation
    Image.fromarray(rgb).save(buf, "JPEG", quality=90, exif=exif.tobytes())
    return buf.getvalue()


def _document(with_source: bool = True, orientation: int = 1) -> Document:
    rng = np.random.default_rng(5)
    rgb = rng.integers(0, 256, (60, 90, 3), dtype=np.uint8)
    if with_source:
        source = load_image_bytes(_jpeg_bytes(rgb, orientation), "photo.jpg")
        doc = Document(source.rgb, source=source, name="photo.jpg")
    else:
        doc = Document(rgb, name="generated")
    h, w = doc.height, doc.width
    doc.fill_polygon([(5, 5), (40, 8), (20, 30)])
    layer = Layer.from_result("Remove object", np.ascontiguousarray(255 - doc.original), doc.mask, info={"backend": "opencv-telea", "seconds": 0.25})
    assert layer is not None
    doc.add_layer(layer)
    soft_rect = Rect(w // 3, h // 4, w - 2, h - 3)
    soft = Layer.create(
        "Feathered",
        soft_rect,
        rng.integers(0, 256, (soft_rect.height, soft_rect.width, 3), dtype=np.uint8),
        rng.integers(0, 256, (soft_rect.height, soft_rect.width), dtype=np.uint8),
        source_mask=np.full((soft_rect.height, soft_rect.width), 255, np.uint8),
        info={"backend": "big-lama", "scale": [1, 2]},
    )
    doc.add_layer(soft, clear_mask=False)
    hidden = Layer.create("Hidden", Rect(0, 0, 10, 10), np.zeros((10, 10, 3), np.uint8), np.full((10, 10), 255, np.uint8))
    doc.add_layer(hidden, clear_mask=False)
    doc.set_layer_visible(hidden.id, False)
    doc.rename_layer(layer.id, "Sky fix")
    doc.move_layer(hidden.id, 0)
    doc.fill_rect(Rect(50, 40, 70, 55))  # a mask in progress
    return doc


def _layer_meta(doc: Document) -> list[tuple]:
    return [(layer.id, layer.name, layer.rect, layer.visible, layer.info) for layer in doc.layers]


@pytest.mark.parametrize("with_source", [True, False])
def test_round_trip_is_bit_exact(tmp_path: Path, with_source: bool) -> None:
    doc = _document(with_source)
    path = tmp_path / "edit.lamapaint"
    save_project(path, doc.snapshot())
    loaded = load_project(path)
    assert np.array_equal(loaded.composite(), doc.composite())
    assert np.array_equal(loaded.original, doc.original)
    assert np.array_equal(loaded.mask, doc.mask)
    assert _layer_meta(loaded) == _layer_meta(doc)
    for a, b in zip(loaded.layers, doc.layers):
        assert np.array_equal(a.rgb, b.rgb) and np.array_equal(a.coverage, b.coverage)
        assert np.array_equal(a.source_mask, b.source_mask)
    assert np.array_equal(loaded.touched(), doc.touched())
    assert loaded.is_clean and loaded.project_path == path and loaded.name == doc.name
    assert not loaded.history.can_undo
    with zipfile.ZipFile(path) as zf:
        names = zf.namelist()
        if with_source:
            assert zf.read("original.jpg") == doc.source.source_bytes  # the photo verbatim
            assert loaded.source is not None and loaded.source.format == "JPEG"
        else:
            assert "original.png" in names and loaded.source is None


def test_rotated_jpeg_round_trips_upright(tmp_path: Path) -> None:
    doc = _document(orientation=6)
    assert doc.width == 60 and doc.height == 90  # EXIF rotation applied
    save_project(tmp_path / "r.lamapaint", doc.snapshot())
    loaded = load_project(tmp_path / "r.lamapaint")
    assert np.array_equal(loaded.composite(), doc.composite())


def test_progress_is_reported_and_cancel_leaves_no_file(tmp_path: Path) -> None:
    doc = _document()
    seen: list[float] = []
    save_project(tmp_path / "p.lamapaint", doc.snapshot(), progress=lambda f, m: seen.append(f))
    assert seen[0] == 0.0 and seen[-1] == 1.0
    token = CancelToken()
    token.cancel()
    with pytest.raises(Cancelled):
        save_project(tmp_path / "c.lamapaint", doc.snapshot(), cancel=token)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.lamapaint"]


def test_failed_save_keeps_the_previous_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "keep.lamapaint"
    doc = _document()
    save_project(path, doc.snapshot())
    before = path.read_bytes()
    doc.clear_mask()
    calls = {"n": 0}
    real = project._encode_png

    def flaky(arr: np.ndarray) -> bytes:
        calls["n"] += 1
        if calls["n"] == 4:  # half way through the layers
            raise OSError("disk full")
        return real(arr)

    monkeypatch.setattr(project, "_encode_png", flaky)
    with pytest.raises(ProjectError, match="keep.lamapaint"):
        save_project(path, doc.snapshot())
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["keep.lamapaint"]
    assert np.array_equal(load_project(path).composite(), _document().composite())


def test_truncated_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "t.lamapaint"
    save_project(path, _document().snapshot())
    data = path.read_bytes()
    for cut in (len(data) // 2, len(data) - 30, 10):
        bad = tmp_path / f"cut{cut}.lamapaint"
        bad.write_bytes(data[:cut])
        with pytest.raises(ProjectError, match=bad.name):
            load_project(bad)


# --- hostile and damaged files ----------------------------------------------------------------


def _members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as zf:
        return {name: zf.read(name) for name in zf.namelist()}


def _write(path: Path, entries: list[tuple[str, bytes]], compress: int = zipfile.ZIP_STORED) -> Path:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns about duplicate names
        with zipfile.ZipFile(path, "w", compression=compress) as zf:
            for name, data in entries:
                zf.writestr(name, data)
    return path


def _rebuild(tmp_path: Path, edit, rehash: bool = True, name: str = "bad.lamapaint") -> Path:
    """A copy of a good project with ``edit(manifest, members)`` applied (hashes fixed up)."""
    good = tmp_path / "good.lamapaint"
    if not good.exists():
        save_project(good, _document().snapshot())
    members = _members(good)
    manifest = json.loads(members.pop("manifest.json"))
    edit(manifest, members)
    if rehash:
        manifest["members"] = {
            n: {"size": len(d), "sha256": hashlib.sha256(d).hexdigest()} for n, d in members.items()
        }
    entries = list(members.items()) + [("manifest.json", json.dumps(manifest).encode())]
    return _write(tmp_path / name, entries)


def _refused(path: Path, match: str) -> None:
    with pytest.raises(ProjectError, match=match) as info:
        load_project(path)
    assert path.name in str(info.value)


def test_tampered_member_fails_its_checksum(tmp_path: Path) -> None:
    def edit(manifest: dict, members: dict) -> None:
        data = bytearray(members["mask.png"])
        data[-20] ^= 0xFF
        members["mask.png"] = bytes(data)

    _refused(_rebuild(tmp_path, edit, rehash=False), "checksum")


def test_unknown_and_newer_versions_are_refused(tmp_path: Path) -> None:
    _refused(_rebuild(tmp_path, lambda m, _: m.update(version=2), name="v2.lamapaint"), "newer")
    _refused(_rebuild(tmp_path, lambda m, _: m.update(version=0), name="v0.lamapaint"), "version")
    _refused(_rebuild(tmp_path, lambda m, _: m.update(format="other"), name="fmt.lamapaint"), "not a lamapaint")


def test_not_a_zip_and_missing_file(tmp_path: Path) -> None:
    junk = tmp_path / "junk.lamapaint"
    junk.write_bytes(b"hello" * 100)
    _refused(junk, "damaged")
    with pytest.raises(ProjectError, match="does not exist"):
        load_project(tmp_path / "absent.lamapaint")
    _refused(_write(tmp_path / "empty.lamapaint", []), "no manifest")
    _refused(_write(tmp_path / "json.lamapaint", [("manifest.json", b"{not json")]), "JSON")


@pytest.mark.parametrize("bad_name", ["../evil.png", "/abs.png", "a/../../b.png", "c:\\x.png", "a//b.png", "./x"])
def test_path_traversal_names_are_refused(tmp_path: Path, bad_name: str) -> None:
    def edit(manifest: dict, members: dict) -> None:
        members[bad_name] = b"x"

    _refused(_rebuild(tmp_path, edit), "unsafe entry name")


def test_duplicate_and_extra_entries_are_refused(tmp_path: Path) -> None:
    good = _rebuild(tmp_path, lambda m, _: None, name="ok.lamapaint")
    load_project(good)
    entries = list(_members(good).items())
    _refused(_write(tmp_path / "dup.lamapaint", entries + [entries[0]]), "twice")

    def extra(manifest: dict, members: dict) -> None:
        members["extra.bin"] = b"surprise"

    ok = _rebuild(tmp_path, extra, name="extra_listed.lamapaint")
    load_project(ok)  # listed in the manifest: harmless
    listed = _members(ok)
    listed["unlisted.bin"] = b"?"
    _refused(_write(tmp_path / "extra.lamapaint", list(listed.items())), "do not match the manifest")


def test_zip_bomb_is_read_with_a_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bomb = b"\0" * (50 << 20)  # 50 MB of zeros deflate to ~50 kB

    def edit(manifest: dict, members: dict) -> None:
        manifest["members"]["mask.png"]["size"] = 100  # the manifest claims a tiny member

    path = _rebuild(tmp_path, edit, rehash=False, name="bomb.lamapaint")
    members = _members(path)
    members["mask.png"] = bomb
    _write(path, list(members.items()), compress=zipfile.ZIP_DEFLATED)
    assert path.stat().st_size < 1 << 20
    _refused(path, "larger than expected|declared size")
    monkeypatch.setattr(project, "MAX_MEMBER_BYTES", 1 << 20)
    _refused(path, "above the limit")
    monkeypatch.setattr(project, "MAX_MEMBER_BYTES", 2 << 30)
    monkeypatch.setattr(project, "MAX_TOTAL_BYTES", 10 << 20)
    _refused(path, "in all, above the limit")


def test_png_header_with_absurd_size_is_refused_before_decoding(tmp_path: Path) -> None:
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    def edit(manifest: dict, members: dict) -> None:
        # The header of a 400 MP grey PNG whose zeros would deflate to a few hundred kB.
        ihdr = struct.pack(">IIBBBBB", 20000, 20000, 8, 0, 0, 0, 0)
        idat = zlib.compress(b"\0" * 20001 * 64)
        members["mask.png"] = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")

    _refused(_rebuild(tmp_path, edit), "20000x20000")


@pytest.mark.parametrize(
    "edit, match",
    [
        (lambda m: m.update(width=10**6, height=10**6), "absurd"),
        (lambda m: m.update(width=-3), "size"),
        (lambda m: m["layers"][0].update(rect=[80, 50, 200, 60]), "not inside the image"),
        (lambda m: m["layers"][0].update(rect=[5, 5, 5, 9]), "not inside the image"),
        (lambda m: m["layers"][0].update(rect=[0, 0, "a", 1]), "malformed box"),
        (lambda m: m["layers"][1].update(id=m["layers"][0]["id"]), "repeats the id"),
        (lambda m: m["layers"][0].update(id="../x"), "bad id"),
        (lambda m: m["layers"][0].update(visible="yes"), "visibility"),
        (lambda m: m["layers"][0].update(rgb="missing.png"), "does not describe"),
        (lambda m: m.update(layers={"a": 1}), "layer list"),
        (lambda m: m["layers"][0].update(coverage=m["layers"][0]["rgb"]), "colour type"),
    ],
)
def test_bad_manifest_values_are_refused(tmp_path: Path, edit, match: str) -> None:
    _refused(_rebuild(tmp_path, lambda m, _: edit(m)), match)


def test_wrong_embedded_photo_size_is_refused(tmp_path: Path) -> None:
    def edit(manifest: dict, members: dict) -> None:
        members["original.jpg"] = _jpeg_bytes(np.zeros((10, 10, 3), np.uint8))

    _refused(_rebuild(tmp_path, edit), "embedded photo is 10x10")
