"""``lamapaint-cli select`` and ``remove --point``: masks at the photo's upright size, errors with their exit codes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from lamapaint.cli import EXIT_EXISTS, EXIT_INPUT, EXIT_MODEL, EXIT_OK, EXIT_USAGE, main
from lamapaint.select.selector import FALLBACK_REASON
from tests.select.scenes import ellipse_scene, iou, object_box


@pytest.fixture
def scene(tmp_path: Path) -> tuple[Path, np.ndarray]:
    rgb, truth = ellipse_scene()
    photo = tmp_path / "photo.png"
    Image.fromarray(rgb).save(photo)
    return photo, truth


def _mask(path: Path) -> np.ndarray:
    with Image.open(path) as im:
        assert im.mode == "L"
        return np.asarray(im) == 255


def _box_arg(box: tuple[int, int, int, int]) -> str:
    return ",".join(map(str, box))


def test_classical_select_from_a_box_and_from_a_point(scene, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    photo, truth = scene
    out = tmp_path / "mask.png"
    assert main(["select", str(photo), "--box", _box_arg(object_box(truth, 15)), "-o", str(out)]) == EXIT_OK
    assert iou(_mask(out), truth) > 0.93
    err = capsys.readouterr().err
    assert err.count(FALLBACK_REASON) == 1 and "mask.png: 15." in err
    assert main(["select", str(photo), "--point", "144,120", "--exclude", "5,5", "-o", str(out), "--overwrite", "-q"]) == EXIT_OK
    assert iou(_mask(out), truth) > 0.95
    assert capsys.readouterr().err == ""


def test_grow_widens_the_mask(scene, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    photo, truth = scene
    plain, grown = tmp_path / "plain.png", tmp_path / "grown.png"
    assert main(["select", str(photo), "--point", "144,120", "-o", str(plain), "-q"]) == EXIT_OK
    assert main(["select", str(photo), "--point", "144,120", "--grow", "6", "-o", str(grown), "-q"]) == EXIT_OK
    a, b = _mask(plain), _mask(grown)
    assert (a & ~b).sum() == 0 and b.sum() > a.sum() + 6 * 300  # grown all round (the ellipse's perimeter is ~440 px)


def test_coordinates_are_on_the_upright_photo(tmp_path: Path) -> None:
    rgb, truth = ellipse_scene()
    stored = np.ascontiguousarray(np.rot90(rgb, 1))  # orientation 6: shown rotated 90 degrees clockwise
    exif = Image.Exif()
    exif[0x0112] = 6
    photo = tmp_path / "rotated.png"
    Image.fromarray(stored).save(photo, exif=exif.tobytes())
    out = tmp_path / "mask.png"
    assert main(["select", str(photo), "--box", _box_arg(object_box(truth, 15)), "-o", str(out), "-q"]) == EXIT_OK
    mask = _mask(out)
    assert mask.shape == truth.shape  # the upright size, 320 wide
    assert iou(mask, truth) > 0.93


def test_select_with_a_sam_weights_file(scene, tmp_path: Path, mobile_sam_file: Path, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    """Deterministic weights segment nonsense; this proves the plumbing (the file, the predictor, the size)."""
    photo, truth = scene
    out = tmp_path / "mask.png"
    args = ["select", str(photo), "--weights", str(mobile_sam_file), "--point", "144,120", "--precision", "fp32", "-o", str(out)]
    assert main(args) == EXIT_OK
    mask = _mask(out)
    assert mask.shape == truth.shape and 0 < mask.sum() < mask.size
    err = capsys.readouterr().err
    assert "selecting with mobile_sam (vit_t)" in err and FALLBACK_REASON not in err


@pytest.mark.parametrize(
    ("extra", "code", "message"),
    [
        (["--point", "320,10"], EXIT_USAGE, "point (320, 10) is outside the 320x240 photo"),
        (["--box", "100,50,100,90"], EXIT_USAGE, "is empty or inverted"),
        (["--box", "200,50,100,90"], EXIT_USAGE, "is empty or inverted"),
        (["--box", "0,0,330,90"], EXIT_USAGE, "reaches outside the 320x240 photo"),
        ([], EXIT_USAGE, "nothing to select"),
        (["--exclude", "5,5"], EXIT_USAGE, "at least one point on the object"),
        (["--point", "144,120", "--model", "sam-vit-b"], EXIT_MODEL, "`lamapaint-cli models download sam-vit-b`"),
    ],
)
def test_bad_prompts_exit_with_one_line_and_write_nothing(
    extra: list[str], code: int, message: str, scene, tmp_path: Path, capsys: pytest.CaptureFixture[str]  # type: ignore[no-untyped-def]
) -> None:
    photo, _ = scene
    out = tmp_path / "mask.png"
    assert main(["select", str(photo), *extra, "-o", str(out)]) == code
    last = capsys.readouterr().err.splitlines()[-1]  # (after the classical select's one note, where it is used)
    assert last.startswith("lamapaint-cli: error: ") and message in last
    assert not out.exists()


def test_malformed_coordinates_are_usage_errors(scene, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    photo, _ = scene
    with pytest.raises(SystemExit) as exited:
        main(["select", str(photo), "--point", "1,2,3", "-o", str(tmp_path / "mask.png")])
    assert exited.value.code == EXIT_USAGE
    assert "expected X,Y (numbers separated by commas), got '1,2,3'" in capsys.readouterr().err


def test_small_photo_wrong_weights_and_existing_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    tiny = tmp_path / "tiny.png"
    Image.fromarray(np.zeros((12, 40, 3), np.uint8)).save(tiny)
    out = tmp_path / "mask.png"
    assert main(["select", str(tiny), "--point", "5,5", "-o", str(out)]) == EXIT_INPUT
    assert "40x12 pixels; selecting needs at least 16" in capsys.readouterr().err
    photo = tmp_path / "photo.png"
    Image.fromarray(ellipse_scene()[0]).save(photo)
    junk = tmp_path / "junk.pth"
    junk.write_bytes(b"not a checkpoint")
    assert main(["select", str(photo), "--point", "5,5", "--weights", str(junk), "-o", str(out)]) == EXIT_MODEL
    err = capsys.readouterr().err
    assert str(junk) in err and err.count("\n") == 1
    assert not out.exists()
    out.write_bytes(b"keep")
    assert main(["select", str(photo), "--point", "5,5", "-o", str(out)]) == EXIT_EXISTS
    assert out.read_bytes() == b"keep"
    assert main(["select", str(photo), "--point", "5,5", "-o", str(tmp_path / "mask.jpg")]) == EXIT_USAGE
    assert main(["select", str(tmp_path / "missing.png"), "--point", "5,5", "-o", str(tmp_path / "m2.png")]) == EXIT_INPUT


def test_remove_selects_then_fills(scene, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    photo, truth = scene
    out = tmp_path / "out.png"
    assert main(["remove", str(photo), "--point", "144,120", "--model", "opencv-telea", "-o", str(out)]) == EXIT_OK
    assert capsys.readouterr().err.count(FALLBACK_REASON) == 1
    before = np.asarray(Image.open(photo)).astype(int)
    after = np.asarray(Image.open(out)).astype(int)
    red = (after[..., 0] > 150) & (after[..., 1] < 90)
    assert red[truth].mean() < 0.02  # the red object is gone, halo included (grown by the default step)
    x0, y0, x1, y1 = object_box(truth, 30)
    far = np.ones(truth.shape, bool)
    far[y0:y1, x0:x1] = False
    assert np.array_equal(before[far], after[far])


def test_remove_takes_a_mask_or_prompts_not_both(scene, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    photo, _ = scene
    out = tmp_path / "out.png"
    mask = tmp_path / "m.png"
    Image.fromarray(np.zeros((240, 320), np.uint8)).save(mask)
    assert main(["remove", str(photo), "--mask", str(mask), "--point", "5,5", "-o", str(out)]) == EXIT_USAGE
    assert main(["remove", str(photo), "-o", str(out)]) == EXIT_USAGE
    assert main(["remove", str(tmp_path), "--box", "1,1,9,9", "-o", str(tmp_path / "outdir")]) == EXIT_USAGE
    assert "give --mask MASK, or select" in capsys.readouterr().err
    assert not out.exists()
