"""``lamapaint-cli remove``: parity with the official path, errors and exit codes, folder mode, no Qt."""

from __future__ import annotations

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
