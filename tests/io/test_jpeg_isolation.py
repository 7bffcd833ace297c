"""Issue 17: jpeglib crashes and misreadings never cost the work, and "kept exactly" is verified.

Crafted files (``tests/io/crafted_jpeg.py``) that Pillow loads but libjpeg 6b (inside jpeglib)
either crashes on or reads differently; and a child process that dies by a signal.
"""

from __future__ import annotations

import gc
import os
import signal
import tempfile
from pathlib import Path

import numpy as np
import pytest

from lamapaint.io import jpeg_blocks, jpeg_structure
from lamapaint.io.export import ExportOptions, ExportReport, export_image, read_block_source
from lamapaint.io.images import LoadedImage, load_image
from tests.io.crafted_jpeg import crafted, picture, pillow_jpeg

MISREAD = ("dqt-after-scan", "duplicate-component-ids", "truncated-progressive")
_real_serve = getattr(jpeg_blocks, "_serve_coefficients", None)


@pytest.fixture(autouse=True)
def private_tmpdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The save's temporary folders go here, so a test can see that none is left behind."""
    folder = tmp_path / "TMPDIR"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


def _left_behind(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.glob("lamapaint-jpeg-*"))


def _load(tmp_path: Path, data: bytes) -> LoadedImage:
    path = tmp_path / "original.jpg"
    path.write_bytes(data)
    return load_image(path)


def _edit(src: LoadedImage) -> tuple[np.ndarray, np.ndarray]:
    rgb = src.rgb.copy()
    touched = np.zeros(rgb.shape[:2], bool)
    touched[40:52, 40:62] = True
    rgb[touched] = (250, 10, 10)
    return rgb, touched


def _export(tmp_path: Path, src: LoadedImage, **kw: object) -> tuple[ExportReport, np.ndarray]:
    from PIL import Image

    rgb, touched = _edit(src)
    dest = tmp_path / "edited.jpg"
    dest.unlink(missing_ok=True)
    report = export_image(dest, rgb, src, ExportOptions(**kw), touched)
    return report, np.asarray(Image.open(dest).convert("RGB"))


def _far_from_the_edit(shape: tuple[int, ...]) -> np.ndarray:
    """Pixels more than one 16-px MCU away from the edit in ``_edit``."""
    far = np.ones(shape[:2], bool)
    far[16:80, 16:80] = False
    return far


# --- point 1: a crash in jpeglib's C code costs the block-wise save, nothing more ------------


@pytest.mark.parametrize("name", ["empty-com", "empty-app3"])
def test_an_empty_segment_before_metadata_is_saved_block_wise(
    tmp_path: Path, private_tmpdir: Path, name: str
) -> None:
    """jpeglib overflowed its heap on these (SIGSEGV/SIGBUS); it now never sees APPn/COM segments."""
    data = crafted(name)
    src = _load(tmp_path, data)
    report, out = _export(tmp_path, src)
    assert report.method == "lossless-jpeg-blocks", report.notes
    far = _far_from_the_edit(out.shape)
    assert np.array_equal(out[far], src.rgb[far])
    assert _left_behind(private_tmpdir) == []


def test_the_stream_jpeglib_reads_has_no_app_or_com_segment_but_jfif_and_adobe() -> None:
    data = crafted("empty-com", picture())
    stream = jpeg_structure.libjpeg_stream(data, jpeg_structure.walk(data))
    markers = [s.marker for s in jpeg_structure.walk(stream).segments]
    assert 0xFE not in markers and 0xE3 not in markers
    assert markers.count(0xE0) == 1  # Pillow's JFIF header stays
    assert stream.endswith(data[jpeg_structure.walk(data).segments[-1].start :])  # the scan is untouched


def _die_by_sigsegv(conn: object, *args: object) -> None:
    """The block-wise save's child, dying as a C decoder does (runs in the child)."""
    os.kill(os.getpid(), signal.SIGSEGV)


def _die_while_writing(conn: object, *args: object) -> None:
    """Reads the coefficients, then dies when asked to write (runs in the child)."""
    class Dying:
        def send(self, message: object) -> None:
            conn.send(message)  # type: ignore[attr-defined]

        def recv(self) -> object:
            conn.recv()  # type: ignore[attr-defined]
            os.kill(os.getpid(), signal.SIGBUS)
            return None

    _real_serve(Dying(), *args)  # type: ignore[arg-type]


@pytest.mark.parametrize("child", [_die_by_sigsegv, _die_while_writing])
def test_a_decoder_dying_by_a_signal_ends_as_a_whole_reencode(
    tmp_path: Path, private_tmpdir: Path, monkeypatch: pytest.MonkeyPatch, child: object
) -> None:
    monkeypatch.setattr(jpeg_blocks, "_serve_coefficients", child)
    src = _load(tmp_path, pillow_jpeg(picture()))
    report, out = _export(tmp_path, src)
    assert report.method == "re-encode"
    signal_name = "SIGSEGV" if child is _die_by_sigsegv else "SIGBUS"
    assert "libjpeg (through jpeglib) crashed" in report.pixels and signal_name in report.pixels, report.pixels
    assert np.abs(out.astype(int) - _edit(src)[0]).mean() < 3  # the work is in the file
    assert _left_behind(private_tmpdir) == []


def test_the_real_crash_without_the_clean_stream_is_caught(
    tmp_path: Path, private_tmpdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The crafted file handed to jpeglib as it is: the child dies, the export does not."""
    monkeypatch.setattr(jpeg_structure, "libjpeg_stream", lambda data, structure: data)
    src = _load(tmp_path, crafted("empty-com"))
    report, _ = _export(tmp_path, src)
    assert report.method == "re-encode"
    assert "crashed reading the original" in report.pixels, report.pixels
    assert _left_behind(private_tmpdir) == []


def test_a_block_source_read_ahead_and_dropped_leaves_nothing(tmp_path: Path, private_tmpdir: Path) -> None:
    src = _load(tmp_path, pillow_jpeg(picture()))
    ahead = read_block_source(tmp_path / "o.jpg", src, ExportOptions())
    assert ahead is not None
    assert [list(p.iterdir()) for p in private_tmpdir.iterdir()] == [[]]  # the copy goes once it is read
    del ahead  # never used (its photo failed): the child ends and its folder goes
    gc.collect()
    assert _left_behind(private_tmpdir) == []


# --- point 2: nothing is called "kept exactly" that the app would not show ---------------------


@pytest.mark.parametrize("name", MISREAD)
def test_a_file_libjpeg_reads_differently_is_reencoded_with_the_reason(tmp_path: Path, name: str) -> None:
    src = _load(tmp_path, crafted(name))
    report, out = _export(tmp_path, src)
    assert report.method == "re-encode", f"{name} was called exact"
    assert "block-wise save not possible" in report.pixels
    far = _far_from_the_edit(out.shape)
    assert np.abs(out[far].astype(int) - src.rgb[far]).mean() < 3  # the app's pixels, re-compressed


@pytest.mark.parametrize("name", MISREAD)
def test_the_decode_check_alone_catches_each_misreading(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    """With the structural refusals off, comparing the result with the app's decode still catches them."""
    monkeypatch.setattr(jpeg_blocks, "structure_reason", lambda structure: None)
    real = jpeg_blocks.unsupported_reason
    monkeypatch.setattr(
        jpeg_blocks, "unsupported_reason", lambda layout: None if "same id" in (real(layout) or "") else real(layout)
    )
    src = _load(tmp_path, crafted(name))
    report, _ = _export(tmp_path, src)
    assert report.method == "re-encode"
    assert "libjpeg reads the original differently from the app's decoder" in report.pixels, report.pixels


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("dqt-after-scan", "redefines a quantisation table after its first scan"),
        ("duplicate-component-ids", "two colour components the same id"),
    ],
)
def test_structural_oddities_are_refused_up_front(tmp_path: Path, name: str, words: str) -> None:
    src = _load(tmp_path, crafted(name))
    report, _ = _export(tmp_path, src)
    assert words in report.pixels, report.pixels


def test_structure_reasons() -> None:
    good = pillow_jpeg(picture(), progressive=True)
    assert jpeg_blocks.structure_reason(jpeg_structure.walk(good)) is None
    assert "truncated" in (jpeg_blocks.structure_reason(jpeg_structure.walk(good[:-300])) or "")
    stray = good[:-2] + b"\x00\x00\xff\xd9"  # stray bytes after the last scan are the scan's, fine
    assert jpeg_blocks.structure_reason(jpeg_structure.walk(stray)) is None
    sof = [s for s in jpeg_structure.walk(good).segments if s.marker == 0xC2][0]
    two_frames = good[: sof.end] + good[sof.start : sof.end] + good[sof.end :]
    assert "more than one frame header" in (jpeg_blocks.structure_reason(jpeg_structure.walk(two_frames)) or "")


def test_differing_mcus_finds_a_pixel_in_a_partial_edge_mcu() -> None:
    a = picture(37, 53)
    b = a.copy()
    b[36, 52, 2] ^= 1  # the last pixel: in the partial MCU at the bottom-right corner
    b[0, 17, 0] ^= 1
    grid = jpeg_blocks._differing_mcus(a, b, 16, 16)
    assert grid.shape == (3, 4)
    assert sorted(zip(*np.nonzero(grid))) == [(0, 1), (2, 3)]


def slow_serve(conn: object, *args: object) -> None:
    """The block-wise save's child, taking a minute to read (runs in the child; the CLI's SIGINT test)."""
    import time

    time.sleep(60)
    _real_serve(conn, *args)  # type: ignore[misc]
