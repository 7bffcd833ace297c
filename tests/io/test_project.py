"""Project files: bit-exact round trips, atomic saves, and refusal of damaged or hostile files."""

from __future__ import annotations

import hashlib
import io
import json
import os
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
from tests.layer_helpers import layer_from_result


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
    layer = layer_from_result("Remove object", np.ascontiguousarray(255 - doc.original), doc.mask, info={"backend": "opencv-telea", "seconds": 0.25})
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
        (lambda m: m["layers"][0].update(coverage=m["layers"][0]["rgb"]), "used more than once"),
        (lambda m: m["layers"][0].update(coverage=m["layers"][1]["rgb"]), "used more than once|expected"),
    ],
)
def test_bad_manifest_values_are_refused(tmp_path: Path, edit, match: str) -> None:
    _refused(_rebuild(tmp_path, lambda m, _: edit(m)), match)


def test_wrong_embedded_photo_size_is_refused(tmp_path: Path) -> None:
    def edit(manifest: dict, members: dict) -> None:
        members["original.jpg"] = _jpeg_bytes(np.zeros((10, 10, 3), np.uint8))

    _refused(_rebuild(tmp_path, edit), "embedded photo is 10x10")


# --- amplification: bounded before decoding ------------------------------------------------------


def _png_header_only(width: int, height: int, colour: int) -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, colour, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0")) + chunk(b"IEND", b"")


def _no_decoding(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(project.cv2, "imdecode", lambda *a: pytest.fail("a member was decoded"))
    monkeypatch.setattr(project, "load_image_bytes", lambda *a: pytest.fail("the photo was decoded"))


def test_layers_sharing_one_member_are_refused_before_decoding(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """50 layers naming one member made a 92 KB project cost 1 GiB: each member may be used once."""

    def edit(manifest: dict, members: dict) -> None:
        first = manifest["layers"][1]
        manifest["layers"] = [dict(first, id=f"L{i}") for i in range(50)]

    path = _rebuild(tmp_path, edit)
    _no_decoding(monkeypatch)
    _refused(path, "used more than once")


def test_deflate_bomb_member_is_refused_unread(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A member may be no bigger than its PNG header allows, whatever the zip and manifest claim."""
    import tracemalloc

    bomb = b"\0" * (64 << 20)

    def edit(manifest: dict, members: dict) -> None:
        members["mask.png"] = members["mask.png"] + bomb  # a valid mask header, then 64 MB of zeros

    path = _rebuild(tmp_path, edit)  # hashes and sizes made consistent: only the header gives it away
    members = _members(path)
    _write(path, list(members.items()), compress=zipfile.ZIP_DEFLATED)
    assert path.stat().st_size < 1 << 20
    _no_decoding(monkeypatch)
    tracemalloc.start()
    try:
        _refused(path, "more than its image can take")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8 << 20, f"{peak} bytes allocated before the refusal"


def test_headers_are_checked_before_the_photo_is_decoded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A 14000x14000 embedded photo used to be decoded before the cheap mask-header check."""

    def edit(manifest: dict, members: dict) -> None:
        manifest.update(width=14_000, height=14_000)
        manifest["layers"] = []
        members["original.jpg"] = _jpeg_header_only(14_000, 14_000)
        # the mask keeps its 90x60 header: wrong for a 14000x14000 document

    path = _rebuild(tmp_path, edit)
    _no_decoding(monkeypatch)
    _refused(path, "mask.png.*expected 14000x14000")


def _jpeg_header_only(width: int, height: int) -> bytes:
    """A baseline JPEG whose frame header claims ``width`` x ``height`` (no scan data)."""
    data = bytearray(_jpeg_bytes(np.zeros((8, 8, 3), np.uint8)))
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def test_total_document_memory_is_bounded_before_decoding(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    side = 14_000  # 196 MP: allowed as a photo; ten full-size layers are 9.8 GB of arrays

    def edit(manifest: dict, members: dict) -> None:
        manifest.update(width=side, height=side)
        members.clear()
        members["original.png"] = _png_header_only(side, side, 2)
        members["mask.png"] = _png_header_only(side, side, 0)
        manifest["original"] = {"member": "original.png", "encoding": "png"}
        manifest["layers"] = []
        for i in range(10):
            names = {key: f"layers/{i:04d}/{key}.png" for key in ("rgb", "coverage", "source_mask")}
            members[names["rgb"]] = _png_header_only(side, side, 2)
            members[names["coverage"]] = _png_header_only(side, side, 0)
            members[names["source_mask"]] = _png_header_only(side, side, 0)
            manifest["layers"].append({"id": f"L{i}", "name": "big", "rect": [0, 0, side, side], "visible": True, "info": {}, **names})

    path = _rebuild(tmp_path, edit)
    _no_decoding(monkeypatch)
    _refused(path, r"9\.9 GiB of memory once opened, above the 4 GiB limit")


# --- damaged files: only ProjectError ----------------------------------------------------------


def test_damaged_compressed_manifest_is_a_project_error(tmp_path: Path) -> None:
    path = tmp_path / "z.lamapaint"
    save_project(path, _document().snapshot())  # the manifest is the one deflated member
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo("manifest.json")
    start = info.header_offset + 30 + len(info.filename) + len(info.extra)
    data[start + 5] ^= 0x55
    path.write_bytes(bytes(data))
    _refused(path, "damaged")


def test_damaged_entry_name_is_a_plain_project_error(tmp_path: Path) -> None:
    path = tmp_path / "n.lamapaint"
    save_project(path, _document().snapshot())
    data = bytearray(path.read_bytes())
    for marker, flag_at in ((b"PK\x01\x02", 9), (b"PK\x03\x04", 7)):  # set the UTF-8 name flag
        at = data.find(marker)
        while at >= 0:
            data[at + flag_at] |= 0x08
            at = data.find(marker, at + 4)
    path.write_bytes(bytes(data).replace(b"mask.png", b"mask\xff\xfeng"))
    _refused(path, "damaged .an entry name is not valid text")


def test_nan_in_layer_info_loads_and_saves_again(tmp_path: Path) -> None:
    """A NaN in a layer's info used to load and then make every later save fail."""

    def edit(manifest: dict, members: dict) -> None:
        manifest["layers"][0]["info"] = {"seconds": float("nan"), "scale": [1.0, float("inf")], "nested": {"x": float("-inf"), "ok": 2}}

    path = _rebuild(tmp_path, edit)
    assert b"NaN" in _members(path)["manifest.json"]
    doc = load_project(path)
    assert doc.layers[0].info == {"scale": [1.0, None], "nested": {"ok": 2}}
    save_project(tmp_path / "again.lamapaint", doc.snapshot())
    assert load_project(tmp_path / "again.lamapaint").layers[0].info == doc.layers[0].info


def test_save_never_fails_on_layer_info(tmp_path: Path) -> None:
    doc = _document()
    odd = Layer.create(
        "Odd", Rect(0, 0, 4, 4), np.zeros((4, 4, 3), np.uint8), np.full((4, 4), 255, np.uint8),
        info={"seconds": float("nan"), "size": np.int64(3), "shape": (1, 2), "path": Path("/x"), "r": np.float32("inf")},
    )
    doc.add_layer(odd, clear_mask=False)
    path = tmp_path / "odd.lamapaint"
    save_project(path, doc.snapshot())
    assert load_project(path).layers[-1].info == {"size": 3, "shape": [1, 2], "path": "/x"}


def test_png_member_with_an_oversized_chunk_is_refused_before_opencv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Found by the fuzzing: OpenCV allocates a chunk's declared length first (75 bytes -> 4 GB)."""

    def edit(manifest: dict, members: dict) -> None:
        name = manifest["layers"][0]["coverage"]
        data = bytearray(members[name])
        data[33:37] = struct.pack(">I", 0xFF000012)  # the IDAT chunk's length
        members[name] = bytes(data)

    path = _rebuild(tmp_path, edit)
    real = project.cv2.imdecode

    def imdecode(buf: np.ndarray, flags: int) -> np.ndarray:
        assert struct.pack(">I", 0xFF000012) not in buf.tobytes(), "the damaged PNG was handed to OpenCV"
        return real(buf, flags)

    monkeypatch.setattr(project.cv2, "imdecode", imdecode)
    _refused(path, "chunk runs past")


# --- the zip's own directory, read before zipfile builds it (issue 17.7) ----------------------


def _many_entries(path: Path, count: int) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for i in range(count):
            zf.writestr(f"e{i}", b"")
    return path


def _patch_eocd(data: bytes, **fields: int) -> bytes:
    """``data`` with fields of its end-of-central-directory record replaced."""
    at = data.rfind(b"PK\5\6")
    sig, disk, cd_disk, here, total, size, offset, comment = struct.unpack_from("<4s4H2LH", data, at)
    values = {"here": here, "total": total, "size": size, "offset": offset} | fields
    record = struct.pack("<4s4H2LH", sig, disk, cd_disk, values["here"], values["total"], values["size"], values["offset"], comment)
    return data[:at] + record + data[at + len(record) :]


def _zip64_tail(entries: int, directory: int) -> bytes:
    """A zip64 end record claiming ``entries`` and a ``directory`` of that many bytes, its locator,
    and a plain end record whose fields say "see zip64"."""
    record = struct.pack("<4sQ2H2L4Q", b"PK\6\6", 44, 45, 45, 0, 0, entries, entries, directory, 0)
    locator = struct.pack("<4sLQL", b"PK\6\7", 0, 0, 1)
    plain = struct.pack("<4s4H2LH", b"PK\5\6", 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0)
    return record + locator + plain


@pytest.fixture
def zipfile_calls(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Every zipfile.ZipFile the loader constructs: a refusal must come before the first."""
    calls: list[object] = []
    real = zipfile.ZipFile

    def counting(*args: object, **kwargs: object) -> zipfile.ZipFile:
        calls.append(args[0])
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(zipfile, "ZipFile", counting)
    return calls


def test_too_many_entries_are_refused_before_zipfile_reads_the_directory(tmp_path: Path, zipfile_calls: list) -> None:
    many = _many_entries(tmp_path / "many.lamapaint", project.MAX_ENTRIES + 1)
    zipfile_calls.clear()
    _refused(many, f"it has {project.MAX_ENTRIES + 1} entries, more than a project can hold")
    assert zipfile_calls == []


def test_a_directory_bigger_than_its_declared_count_is_refused_unread(tmp_path: Path, zipfile_calls: list) -> None:
    """zipfile walks the directory by its size, whatever the count says: a count of 1 over
    many thousands of entries must not get through."""
    many = _many_entries(tmp_path / "src.lamapaint", 20_000)
    zipfile_calls.clear()
    lying = tmp_path / "lying.lamapaint"
    lying.write_bytes(_patch_eocd(many.read_bytes(), here=1, total=1))
    _refused(lying, "its table of contents takes")
    assert zipfile_calls == []


def test_zip64_end_records_are_read_too(tmp_path: Path, zipfile_calls: list) -> None:
    huge = tmp_path / "huge.lamapaint"
    huge.write_bytes(b"PK\3\4" + b"\0" * 100 + _zip64_tail(10**12, 1 << 40))
    _refused(huge, f"it has {10**12} entries")
    wide = tmp_path / "wide.lamapaint"
    wide.write_bytes(b"PK\3\4" + b"\0" * 100 + _zip64_tail(3, 1 << 40))
    _refused(wide, "its table of contents takes")
    assert zipfile_calls == []


def test_an_ordinary_project_passes_the_directory_check(tmp_path: Path, zipfile_calls: list) -> None:
    path = tmp_path / "ok.lamapaint"
    doc = _document()
    save_project(path, doc.snapshot())
    zipfile_calls.clear()
    assert len(load_project(path).layers) == len(doc.layers)
    assert len(zipfile_calls) == 1


@pytest.mark.timeout(20)
def test_a_fifo_named_like_a_project_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "trip.lamapaint"
    os.mkfifo(fifo)  # nobody ever writes: a blocking open would hang here for ever
    _refused(fifo, "not a regular file")
    _refused(tmp_path, "it is a folder")
