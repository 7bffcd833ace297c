"""``lamapaint-cli remove``: parity with the official path, errors and exit codes, folder mode, no Qt."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from safetensors.torch import save_file

from lamapaint.cli import EXIT_EXISTS, EXIT_INPUT, EXIT_MODEL, EXIT_OK, EXIT_OUTPUT, EXIT_PARTIAL, EXIT_USAGE, main
from lamapaint.cli.remove import find_mask
from lamapaint.inpaint.weights import deterministic_state_dict
from tests.shared_data import LAMA_REFERENCE, REPO_ROOT, require_shared


def _write_pair(folder: Path, stem: str = "photo", size: tuple[int, int] = (120, 160)) -> tuple[Path, Path]:
    h, w = size
    image = np.full((h, w, 3), 128, np.uint8)
    image[40:80, 60:100] = (255, 0, 0)
    mask = np.zeros((h, w), np.uint8)
    mask[38:82, 58:102] = 255
    photo = folder / f"{stem}.png"
    Image.fromarray(image).save(photo)
    mask_path = folder / f"{stem}_mask.png"
    Image.fromarray(mask).save(mask_path)
    return photo, mask_path


@pytest.mark.slow
def test_full_fp32_equals_official_predict(tmp_path: Path) -> None:
    case = np.load(require_shared(LAMA_REFERENCE / "parity_big-lama_200x328.npz"))
    weights = tmp_path / "big-lama.safetensors"
    save_file(deterministic_state_dict("big-lama"), str(weights))
    Image.fromarray(case["image_u8"]).save(tmp_path / "in.png")
    Image.fromarray((case["mask"][0, 0] * 255).astype(np.uint8)).save(tmp_path / "mask.png")
    out = tmp_path / "out.png"
    argv = ["remove", str(tmp_path / "in.png"), "--mask", str(tmp_path / "mask.png"), "-o", str(out),
            "--weights", str(weights), "--strategy", "full", "--precision", "fp32", "--device", "cpu", "-q"]
    assert main(argv) == EXIT_OK
    result = np.asarray(Image.open(out).convert("RGB")).astype(int)
    expected = np.clip(case["blended"][0].transpose(1, 2, 0) * 255, 0, 255).astype(np.uint8)
    diff = np.abs(result - expected)
    assert diff.max() <= 1 and (diff == 0).mean() >= 0.99


def test_opencv_single_file_and_overwrite_rule(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    photo, mask = _write_pair(tmp_path)
    out = tmp_path / "out.png"
    argv = ["remove", str(photo), "--mask", str(mask), "-o", str(out), "--model", "opencv-telea"]
    assert main(argv) == EXIT_OK
    assert "opencv-telea" in capsys.readouterr().err
    result = np.asarray(Image.open(out))
    assert np.abs(result[45:75, 65:95].astype(int) - 128).max() <= 2
    assert main(argv) == EXIT_EXISTS
    assert "--overwrite" in capsys.readouterr().err
    assert main([*argv, "--overwrite", "--quiet"]) == EXIT_OK
    assert capsys.readouterr().err == ""


def test_coefficients_are_read_ahead_only_for_a_jpeg_output(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A JPEG photo written as PNG needs no DCT coefficients (a 20 MP original's cost 60 MB and a second)."""
    import lamapaint.io.jpeg_blocks as jpeg_blocks

    photo, mask = _write_pair(tmp_path)
    jpeg = tmp_path / "photo.jpg"
    Image.open(photo).save(jpeg, quality=90)
    reads: list[bytes] = []
    real = jpeg_blocks.read_block_source
    monkeypatch.setattr(jpeg_blocks, "read_block_source", lambda data: reads.append(data) or real(data))
    base = ["remove", str(jpeg), "--mask", str(mask), "--model", "opencv-telea", "-q"]
    assert main([*base, "-o", str(tmp_path / "out.png")]) == EXIT_OK
    assert reads == []
    assert main([*base, "-o", str(tmp_path / "out.jpg")]) == EXIT_OK
    assert len(reads) == 1


def test_mask_size_mismatch_names_both_sizes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    photo, _ = _write_pair(tmp_path)
    Image.fromarray(np.zeros((50, 70), np.uint8)).save(tmp_path / "small.png")
    code = main(["remove", str(photo), "--mask", str(tmp_path / "small.png"), "-o", str(tmp_path / "o.png"), "--model", "opencv-ns"])
    err = capsys.readouterr().err
    assert code == EXIT_INPUT
    assert "70x50" in err and "160x120" in err and "Traceback" not in err
    assert err.count("\n") == 1


def test_missing_weights_is_a_model_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    photo, mask = _write_pair(tmp_path)
    code = main(["remove", str(photo), "--mask", str(mask), "-o", str(tmp_path / "o.png"), "--weights", str(tmp_path / "none.ckpt")])
    assert code == EXIT_MODEL
    assert "none.ckpt" in capsys.readouterr().err


def test_auto_without_weights_says_it_falls_back(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))  # no IOPaint cache either
    photo, mask = _write_pair(tmp_path)
    assert main(["remove", str(photo), "--mask", str(mask), "-o", str(tmp_path / "o.png"), "--device", "cpu"]) == EXIT_OK
    assert "models download big-lama" in capsys.readouterr().err


def test_folder_mode(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    photos, masks, out = tmp_path / "photos", tmp_path / "masks", tmp_path / "out"
    photos.mkdir(), masks.mkdir()
    a, a_mask = _write_pair(photos, "a")
    a_mask.rename(masks / "a_mask.png")
    b, b_mask = _write_pair(photos, "b")
    b_mask.rename(masks / "b__object.png")
    c, c_mask = _write_pair(photos, "c")
    Image.fromarray(np.zeros((10, 10), np.uint8)).save(masks / "c.png")  # wrong size: fails alone
    c_mask.unlink()
    _write_pair(photos, "d")[1].unlink()  # no mask at all: skipped with a note
    (photos / "e.png").write_bytes(b"not a PNG")  # undecodable: fails alone, in the reader thread
    Image.fromarray(np.zeros((120, 160), np.uint8)).save(masks / "e_mask.png")
    f, f_mask = _write_pair(photos, "f")  # after two failures, still done
    f_mask.rename(masks / "f_mask.png")
    code = main(["remove", str(photos), "--mask", str(masks), "-o", str(out), "--model", "opencv-telea"])
    err = capsys.readouterr().err
    assert code == EXIT_PARTIAL
    assert sorted(p.name for p in out.iterdir()) == ["a.png", "b.png", "f.png"]
    assert "d.png" in err and "c.png: mask" in err and "e.png: " in err and "2 of 5" in err


def test_find_mask_naming_rule(tmp_path: Path) -> None:
    photo = tmp_path / "x.jpg"
    photo.touch()
    assert find_mask(photo, tmp_path) is None
    (tmp_path / "x__box.png").touch()
    assert find_mask(photo, tmp_path) == tmp_path / "x__box.png"
    (tmp_path / "x__thick.png").touch()
    assert find_mask(photo, tmp_path) is None  # ambiguous
    (tmp_path / "x.png").touch()
    assert find_mask(photo, tmp_path) == tmp_path / "x.png"
    (tmp_path / "x_mask.png").touch()
    assert find_mask(photo, tmp_path) == tmp_path / "x_mask.png"
    png_photo = tmp_path / "y.png"
    png_photo.touch()
    assert find_mask(png_photo, tmp_path) is None  # never the photo itself


def test_keeps_exif_and_icc_and_honours_quality(tmp_path: Path) -> None:
    image = np.random.default_rng(1).integers(0, 256, (64, 96, 3), dtype=np.uint8)
    exif = Image.Exif()
    exif[0x010F] = "TestCam"
    icc = Image.new("RGB", (1, 1)).info.get("icc_profile") or _srgb_icc()
    photo = tmp_path / "p.png"  # a PNG source: the JPEG output is fully encoded at --quality
    Image.fromarray(image).save(photo, exif=exif.tobytes(), icc_profile=icc)
    mask = np.zeros((64, 96), np.uint8)
    mask[20:40, 30:60] = 255
    Image.fromarray(mask).save(tmp_path / "m.png")
    sizes = {}
    for q in (30, 95):
        out = tmp_path / f"o{q}.jpg"
        assert main(["remove", str(photo), "--mask", str(tmp_path / "m.png"), "-o", str(out), "--model", "opencv-telea", "--quality", str(q), "-q"]) == 0
        with Image.open(out) as im:
            assert im.getexif().get(0x010F) == "TestCam"
            assert im.info.get("icc_profile") == icc
        sizes[q] = out.stat().st_size
    assert sizes[30] < sizes[95]


def _srgb_icc() -> bytes:
    from PIL import ImageCms

    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def test_remove_imports_no_qt(tmp_path: Path) -> None:
    photo, mask = _write_pair(tmp_path)
    code = (
        "import sys\n"
        "from lamapaint.cli import main\n"
        f"rc = main(['remove', {str(photo)!r}, '--mask', {str(mask)!r}, '-o', {str(tmp_path / 'o.png')!r}, '--model', 'opencv-telea', '-q'])\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('PySide6', 'shiboken6', 'pyqtgraph')]\n"
        "assert rc == 0 and not bad, (rc, bad)\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO_ROOT, timeout=120)


# ---- issue 12: every per-photo failure is one line, no failure after inference for a predictable reason


def _png_header_only(path: Path, width: int, height: int) -> Path:
    """A PNG whose header claims ``width`` x ``height`` (no pixel data): a decompression bomb to Pillow."""
    import struct
    import zlib

    def chunk(kind: bytes, payload: bytes) -> bytes:
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b""))
    return path


def _folder(tmp_path: Path, stems: list[str]) -> tuple[Path, Path, Path]:
    photos, masks, out = tmp_path / "photos", tmp_path / "masks", tmp_path / "out"
    photos.mkdir(), masks.mkdir()
    for stem in stems:
        _, mask = _write_pair(photos, stem)
        mask.rename(masks / mask.name)
    return photos, masks, out


def test_folder_run_survives_a_mask_that_is_a_decompression_bomb(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    photos, masks, out = _folder(tmp_path, ["a", "b", "c"])
    _png_header_only(masks / "b_mask.png", 30_000, 20_000)  # 600 MP claimed
    code = main(["remove", str(photos), "--mask", str(masks), "-o", str(out), "--model", "opencv-telea"])
    err = capsys.readouterr().err
    assert code == EXIT_PARTIAL
    assert sorted(p.name for p in out.iterdir()) == ["a.png", "c.png"]
    assert "Traceback" not in err
    [line] = [line for line in err.splitlines() if line.startswith("lamapaint-cli: b.png")]
    assert "mask" in line and "1 of 3" in err


def test_single_file_bomb_mask_is_a_one_line_input_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    photo, _ = _write_pair(tmp_path)
    mask = _png_header_only(tmp_path / "bomb.png", 30_000, 20_000)
    code = main(["remove", str(photo), "--mask", str(mask), "-o", str(tmp_path / "o.png"), "--model", "opencv-telea"])
    err = capsys.readouterr().err
    assert code == EXIT_INPUT and err.count("\n") == 1 and "bomb.png" in err


def test_any_unexpected_per_photo_failure_is_that_photos_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from lamapaint.inpaint import backends

    photos, masks, out = _folder(tmp_path, ["a", "b", "c"])
    real = backends.OpenCVBackend.inpaint
    calls = []

    def flaky(self, image, mask, options=None, progress=None, cancel=None):  # type: ignore[no-untyped-def]
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("simulated engine bug")
        return real(self, image, mask, options, progress, cancel)

    monkeypatch.setattr(backends.OpenCVBackend, "inpaint", flaky)
    code = main(["remove", str(photos), "--mask", str(masks), "-o", str(out), "--model", "opencv-telea"])
    err = capsys.readouterr().err
    assert code == EXIT_PARTIAL and sorted(p.name for p in out.iterdir()) == ["a.png", "c.png"]
    assert "b.png: simulated engine bug" in err and "Traceback" not in err


def test_folder_mode_writes_unwritable_formats_as_png(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    photos, masks, out = _folder(tmp_path, ["a"])
    Image.open(photos / "a.png").save(photos / "b.bmp")
    (photos / "a.png").unlink()
    (masks / "a_mask.png").rename(masks / "b_mask.png")
    code = main(["remove", str(photos), "--mask", str(masks), "-o", str(out), "--model", "opencv-telea"])
    assert code == EXIT_OK, capsys.readouterr().err
    assert [p.name for p in out.iterdir()] == ["b.png"]


def test_folder_mode_refuses_two_photos_with_one_output_before_inference(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    photos, masks, out = _folder(tmp_path, ["a"])
    Image.open(photos / "a.png").save(photos / "a.bmp")  # a.bmp -> a.png, which a.png writes too
    code = main(["remove", str(photos), "--mask", str(masks), "-o", str(out), "--model", "opencv-telea"])
    err = capsys.readouterr().err
    assert code == EXIT_PARTIAL
    assert [p.name for p in out.iterdir()] == ["a.png"]
    assert "a.bmp" in err and "a.png" in err


def test_single_file_output_suffix_is_checked_before_inference(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from lamapaint.inpaint import backends

    def no_model(options: object) -> None:
        raise AssertionError("the model must not be loaded for an output that cannot be written")

    monkeypatch.setattr(backends, "create_backend", no_model)
    photo, mask = _write_pair(tmp_path)
    code = main(["remove", str(photo), "--mask", str(mask), "-o", str(tmp_path / "out.bmp"), "--model", "opencv-telea"])
    err = capsys.readouterr().err
    assert code == EXIT_USAGE and "out.bmp" in err and ".png" in err


@pytest.mark.parametrize(("errno_code", "wording"), [("ENOSPC", "The disk is full"), ("EACCES", "No permission to write")])
def test_an_output_that_cannot_be_written_has_its_own_exit_code(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, errno_code: str, wording: str
) -> None:
    import errno
    import os

    from lamapaint.io import export

    def fail(*args: object, **kwargs: object) -> None:
        code = getattr(errno, errno_code)
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(export, "atomic_write_bytes", fail)
    photo, mask = _write_pair(tmp_path)
    code = main(["remove", str(photo), "--mask", str(mask), "-o", str(tmp_path / "o.png"), "--model", "opencv-telea"])
    err = capsys.readouterr().err
    assert code == EXIT_OUTPUT == 7
    # The words are io.write_errors' (the editor's too), no longer a table of the CLI's own.
    assert "o.png could not be written" in err and wording in err and "bad input" not in err and err.count("\n") == 1


def test_one_mask_file_for_a_whole_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Sensor dust or a watermark: one mask for every photo of that size; another size fails alone."""
    photos, out = tmp_path / "photos", tmp_path / "out"
    photos.mkdir()
    _write_pair(photos, "a")[1].unlink()
    _write_pair(photos, "b")[1].unlink()
    _write_pair(photos, "tall", size=(160, 120))[1].unlink()  # the mask's size turned: fails with its line
    _, mask = _write_pair(photos, "dust")
    (photos / "dust.png").unlink()
    mask = mask.rename(photos / "dust-mask.png")  # kept beside the photos: not taken for a photo
    code = main(["remove", str(photos), "--mask", str(mask), "-o", str(out), "--model", "opencv-telea"])
    err = capsys.readouterr().err
    assert code == EXIT_PARTIAL
    assert sorted(p.name for p in out.iterdir()) == ["a.png", "b.png"]
    for name in ("a.png", "b.png"):
        result = np.asarray(Image.open(out / name).convert("RGB"))
        assert result[60, 80, 0] < 200 and tuple(result[5, 5]) == (128, 128, 128)  # the red is gone, the rest kept
    lines = [line for line in err.splitlines() if line.startswith("lamapaint-cli: ")]
    assert any("tall.png: mask dust-mask.png is 160x120 but photo tall.png is 120x160" in line for line in lines)
    assert "1 of 3 photos failed" in err and "without a mask" not in err


def test_folder_with_a_mask_that_is_neither_file_nor_folder_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    photos = tmp_path / "photos"
    photos.mkdir()
    _write_pair(photos, "a")
    code = main(["remove", str(photos), "--mask", str(tmp_path / "nowhere.png"), "-o", str(tmp_path / "out"), "--model", "opencv-telea"])
    assert code == EXIT_USAGE and "one mask file" in capsys.readouterr().err


@pytest.mark.parametrize("verbose", [False, True])
def test_warnings_are_one_line_without_verbose(tmp_path: Path, verbose: bool) -> None:
    """Issue 17.10: library warnings logged with their traceback (an unreadable EXIF block) printed
    the whole traceback without --verbose; so did Python warnings (two lines each)."""
    photo, mask = _write_pair(tmp_path)
    code = (
        "import sys, warnings\n"
        "from PIL import Image\n"
        "def broken(self):\n"
        "    warnings.warn('Corrupt EXIF data.  Expecting to read 2 bytes but only got 0.', UserWarning)\n"
        "    raise SyntaxError('not a TIFF file')\n"
        "Image.Image.getexif = broken  # what a damaged EXIF block does\n"
        "from lamapaint.cli import main\n"
        "sys.exit(main(sys.argv[1:]))\n"
    )
    argv = ["remove", str(photo), "--mask", str(mask), "-o", str(tmp_path / "o.png"), "--model", "opencv-telea", "-q"]
    cmd = [sys.executable, "-c", code, *(["-v"] if verbose else []), *argv]
    done = subprocess.run(cmd, cwd=REPO_ROOT, timeout=120, capture_output=True, text=True)
    assert done.returncode == EXIT_OK, done.stderr
    lines = done.stderr.splitlines()
    warned = [line for line in lines if line.startswith("WARNING")]
    assert any("ignoring unreadable EXIF data (SyntaxError: not a TIFF file)" in line for line in warned) or verbose
    assert any("UserWarning: Corrupt EXIF data." in line for line in warned)
    if verbose:
        assert "Traceback" in done.stderr
    else:
        assert "Traceback" not in done.stderr
        assert all(line.startswith(("WARNING", "ERROR")) for line in lines), lines  # nothing spills onto a second line


# ---- issue 17: Ctrl+C never waits for a decode; a crash in jpeglib costs one photo's block-wise save


_SLOW_READER = """
import sys, time
import lamapaint.cli.remove as remove
real = remove._load_inputs
def slow(job, args):
    if job.photo.stem == "b":
        print("reading b", file=sys.stderr, flush=True)
        time.sleep(60)  # a decode in C, which no signal interrupts
    return real(job, args)
remove._load_inputs = slow
from lamapaint.cli import console_main
sys.exit(console_main())
"""


def test_ctrl_c_does_not_wait_for_the_reader(tmp_path: Path) -> None:
    """Issue 17.5: the reader thread took 34 s to let a Ctrl+C'd run exit."""
    import signal
    import time

    photos, masks, out = _folder(tmp_path, ["a", "b"])
    argv = ["remove", str(photos), "--mask", str(masks), "-o", str(out), "--model", "opencv-telea"]
    proc = subprocess.Popen(
        [sys.executable, "-c", _SLOW_READER, *argv], cwd=REPO_ROOT, stderr=subprocess.PIPE, text=True
    )
    assert proc.stderr is not None
    try:
        for line in proc.stderr:
            if "reading b" in line:
                break
        time.sleep(0.3)  # a's result being written, b's inputs awaited
        sent = time.perf_counter()
        proc.send_signal(signal.SIGINT)
        code = proc.wait(timeout=30)
        took = time.perf_counter() - sent
    finally:
        proc.kill()
    assert code == 130
    assert took < 1.0, f"exit took {took:.1f} s after Ctrl+C"
    assert (out / "a.png").is_file()


def test_a_folder_run_goes_on_when_jpeglib_crashes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 17.1: the crafted photo's block-wise save crashed the run (exit 139, nothing written)."""
    from lamapaint.io import jpeg_structure
    from tests.io.crafted_jpeg import empty_com_then_metadata

    import tempfile

    monkeypatch.setattr(jpeg_structure, "libjpeg_stream", lambda data, structure: data)  # jpeglib sees the file as it is
    tmpdir = tmp_path / "TMPDIR"
    tmpdir.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmpdir))
    photos, masks, out = _folder(tmp_path, ["a", "b"])
    for stem in ("a", "b"):
        png = photos / f"{stem}.png"
        data = io.BytesIO()
        Image.open(png).save(data, "JPEG", quality=90)
        (photos / f"{stem}.jpg").write_bytes(empty_com_then_metadata(data.getvalue()) if stem == "a" else data.getvalue())
        png.unlink()
    code = main(["remove", str(photos), "--mask", str(masks), "-o", str(out), "--model", "opencv-telea"])
    assert code == EXIT_OK, capsys.readouterr().err
    assert (out / "a.jpg").is_file() and (out / "b.jpg").is_file()
    single = main(["remove", str(photos / "a.jpg"), "--mask", str(masks / "a_mask.png"), "-o", str(tmp_path / "one.jpg"),
                   "--model", "opencv-telea"])
    err = capsys.readouterr().err
    assert single == EXIT_OK
    assert "block-wise save not possible: libjpeg (through jpeglib) crashed reading the original" in err, err
    assert list(tmpdir.iterdir()) == []  # no copy of the photo left behind


_SLOW_JPEG_CHILD = """
import sys
import lamapaint.io.jpeg_blocks as jpeg_blocks
from tests.io.test_jpeg_isolation import slow_serve
jpeg_blocks._serve_coefficients = slow_serve
from lamapaint.cli import console_main
sys.exit(console_main())
"""


def test_ctrl_c_while_the_coefficients_are_read_leaves_no_copy_of_the_photo(tmp_path: Path) -> None:
    """Issue 17.10: each interrupted run left the photo under $TMPDIR/lamapaint-jpeg-*."""
    import os
    import signal
    import time

    photos, masks, out = _folder(tmp_path, ["a", "b"])
    Image.open(photos / "b.png").save(photos / "b.jpg", quality=90)  # a is done first, then b's read-ahead
    (photos / "b.png").unlink()
    tmpdir = tmp_path / "TMPDIR"
    tmpdir.mkdir()
    argv = ["remove", str(photos), "--mask", str(masks), "-o", str(out), "--model", "opencv-telea"]
    proc = subprocess.Popen(
        [sys.executable, "-c", _SLOW_JPEG_CHILD, *argv], cwd=REPO_ROOT, env={**os.environ, "TMPDIR": str(tmpdir)}
    )
    try:
        deadline = time.monotonic() + 60
        while not list(tmpdir.glob("lamapaint-jpeg-*/source.jpg")) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert list(tmpdir.glob("lamapaint-jpeg-*/source.jpg")), "the coefficients were never read"
        time.sleep(0.5)  # the child started and is reading
        sent = time.perf_counter()
        proc.send_signal(signal.SIGINT)
        code = proc.wait(timeout=30)
        took = time.perf_counter() - sent
    finally:
        proc.kill()
    assert code == 130
    assert took < 1.0, f"exit took {took:.1f} s after Ctrl+C"
    assert (out / "a.png").is_file()
    assert list(tmpdir.iterdir()) == []


def test_reads_never_overlap_even_when_a_result_is_never_taken(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """a's output exists, so a's read is never taken; b's read must still wait for it (one photo in memory)."""
    import threading
    import time

    import lamapaint.cli.remove as remove

    photos, masks, out = _folder(tmp_path, ["a", "b", "c"])
    out.mkdir()
    (out / "a.png").write_bytes(b"already there")
    active, most = [0], [0]
    lock = threading.Lock()
    real = remove._load_inputs

    def counted(job: object, args: object) -> object:
        with lock:
            active[0] += 1
            most[0] = max(most[0], active[0])
        try:
            time.sleep(0.3)
            return real(job, args)  # type: ignore[arg-type]
        finally:
            with lock:
                active[0] -= 1

    monkeypatch.setattr(remove, "_load_inputs", counted)
    code = main(["remove", str(photos), "--mask", str(masks), "-o", str(out), "--model", "opencv-telea", "-q"])
    assert code == EXIT_PARTIAL and "a.png already exists" in capsys.readouterr().err
    assert (out / "b.png").is_file() and (out / "c.png").is_file()
    assert most[0] == 1


@pytest.mark.parametrize("target", ["pano.webp", "n" * 252 + ".png"])
def test_an_output_the_target_cannot_hold_is_refused_in_one_line_before_the_model(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, target: str
) -> None:
    """A 16,384-px-wide panorama to WebP (16,383 at most) and a 256-byte name used to end in tracebacks."""
    from lamapaint.inpaint import backends

    def no_model(options: object) -> None:
        raise AssertionError("the model must not be loaded for an output the target cannot hold")

    monkeypatch.setattr(backends, "create_backend", no_model)
    photo, mask = _write_pair(tmp_path, size=(2, 16_384) if target.endswith(".webp") else (120, 160))
    code = main(["remove", str(photo), "--mask", str(mask), "-o", str(tmp_path / target), "--model", "opencv-telea"])
    err = capsys.readouterr().err
    assert code == EXIT_USAGE and err.count("\n") == 1 and "Traceback" not in err
    assert ("WebP holds at most 16,383 a side" in err) if target.endswith(".webp") else ("256 bytes long" in err)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["photo.png", "photo_mask.png"]
