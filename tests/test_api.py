"""The Python API: ``from lamapaint import remove, Remover``; what goes in comes back, same pixels as
the CLI and the backend, masks of several kinds, the engine's errors, and a cheap import."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from lamapaint import Remover, remove
from lamapaint.inpaint.types import InpaintError, RunInfo
from tests.shared_data import REPO_ROOT


def _photo(h: int = 90, w: int = 120) -> tuple[np.ndarray, np.ndarray]:
    yy, xx = np.mgrid[0:h, 0:w]
    rgb = np.stack([xx * 2, yy * 2, np.full_like(xx, 128)], axis=-1).astype(np.uint8)
    rgb[30:50, 50:70] = (250, 10, 10)
    mask = np.zeros((h, w), np.uint8)
    mask[28:52, 48:72] = 255
    return rgb, mask


@pytest.fixture(scope="module")
def opencv() -> Remover:
    return Remover(model="opencv-telea")


def test_numpy_in_numpy_out(opencv: Remover) -> None:
    rgb, mask = _photo()
    out = opencv(rgb, mask)
    assert isinstance(out, np.ndarray) and out.shape == rgb.shape and out.dtype == np.uint8
    assert np.array_equal(out[mask == 0], rgb[mask == 0]) and out[40, 60, 0] < 200  # the red is gone
    assert np.array_equal(rgb[40, 60], (250, 10, 10))  # the input is untouched


def test_pil_in_pil_out_and_alpha_kept(opencv: Remover) -> None:
    rgb, mask = _photo()
    expected = opencv(rgb, mask)
    out = opencv(Image.fromarray(rgb), Image.fromarray(mask))
    assert isinstance(out, Image.Image) and out.mode == "RGB" and out.size == (120, 90)
    np.testing.assert_array_equal(np.asarray(out), expected)
    alpha = np.random.default_rng(1).integers(0, 256, mask.shape, dtype=np.uint8)
    rgba = Image.fromarray(np.dstack([rgb, alpha]))
    out = opencv(rgba, mask)
    assert out.mode == "RGBA"
    np.testing.assert_array_equal(np.asarray(out)[..., 3], alpha)
    np.testing.assert_array_equal(np.asarray(out)[..., :3], expected)
    grey = opencv(Image.fromarray(rgb).convert("L"), mask)
    assert grey.mode == "RGB" and grey.size == (120, 90)


def test_masks_of_several_kinds_mean_the_same_hole(opencv: Remover) -> None:
    rgb, mask = _photo()
    expected = opencv(rgb, mask)
    coloured = np.zeros((*mask.shape, 3), np.uint8)
    coloured[..., 1] = mask  # a hole in one channel only
    kinds = [
        mask != 0,
        (mask != 0).astype(np.float32) * 0.5,
        coloured,
        Image.fromarray(mask).convert("1"),
        Image.fromarray(coloured),
        Image.fromarray(mask).convert("P"),
    ]
    for kind in kinds:
        np.testing.assert_array_equal(opencv(rgb, kind), expected)


@pytest.mark.slow  # a real network three times: the API, the backend and the CLI (~8 s)
def test_same_pixels_as_the_backend_and_the_cli(tmp_path: Path) -> None:
    from safetensors.torch import save_file

    from lamapaint.cli import EXIT_OK, main
    from lamapaint.inpaint.weights import deterministic_state_dict

    weights = tmp_path / "lama-fourier.safetensors"
    save_file(deterministic_state_dict("lama-fourier"), str(weights))
    rgb, mask = _photo(160, 200)
    remover = Remover(weights=weights, device="cpu", precision="fp32")
    out, run = remover.run(rgb, mask)
    assert isinstance(run, RunInfo) and run.backend == "lama" and remover.fallback_reason is None
    assert remover._backend is not None  # the engine's own Backend, called once more directly
    np.testing.assert_array_equal(out, remover._backend.inpaint(rgb, mask, remover.options)[0])
    Image.fromarray(rgb).save(tmp_path / "in.png")
    Image.fromarray(mask).save(tmp_path / "mask.png")
    argv = ["remove", str(tmp_path / "in.png"), "--mask", str(tmp_path / "mask.png"), "-o", str(tmp_path / "out.png"),
            "--weights", str(weights), "--device", "cpu", "--precision", "fp32", "-q"]
    assert main(argv) == EXIT_OK
    np.testing.assert_array_equal(out, np.asarray(Image.open(tmp_path / "out.png")))


def test_auto_without_weights_falls_back_with_a_warning(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                        caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))  # no IOPaint cache either
    rgb, mask = _photo()
    remover = Remover(device="cpu")
    with caplog.at_level("WARNING", logger="lamapaint.api"):
        out = remover(rgb, mask)
    assert remover.fallback_reason is not None and "OpenCV" in remover.fallback_reason
    assert any("OpenCV" in r.getMessage() for r in caplog.records)
    np.testing.assert_array_equal(out, Remover(model="opencv-telea")(rgb, mask))


def test_remove_reuses_one_remover_per_option_set() -> None:
    from lamapaint import api

    rgb, mask = _photo()
    api._cached_remover.cache_clear()
    first = remove(rgb, mask, model="opencv-ns")
    remove(Image.fromarray(rgb), mask, model="opencv-ns")
    assert api._cached_remover.cache_info().misses == 1 and api._cached_remover.cache_info().hits == 1
    np.testing.assert_array_equal(first, Remover(model="opencv-ns")(rgb, mask))


@pytest.mark.parametrize(
    ("image", "mask", "message"),
    [
        (np.zeros((10, 10, 3), np.float32), np.zeros((10, 10)), "uint8"),
        (np.zeros((10, 10), np.uint8), np.zeros((10, 10)), r"\(H, W, 3\)"),
        (np.zeros((10, 10, 3), np.uint8), np.zeros((10, 12)), "12x10 but the image is 10x10"),
        (np.zeros((10, 10, 3), np.uint8), np.zeros((10, 10, 3, 1)), "mask"),
        ([[0]], np.zeros((10, 10)), "list"),
        (np.zeros((10, 10, 3), np.uint8), "mask.png", "str"),
    ],
)
def test_bad_inputs_are_inpaint_errors(opencv: Remover, image: object, mask: object, message: str) -> None:
    with pytest.raises(InpaintError, match=message):
        opencv(image, mask)  # type: ignore[type-var]


def test_bad_options_are_inpaint_errors() -> None:
    with pytest.raises(InpaintError, match="unknown model"):
        Remover(model="sd-xl")
    with pytest.raises(InpaintError, match="unknown strategy"):
        remove(*_photo(), strategy="tiles")
    with pytest.raises(InpaintError, match="tpu"):
        Remover(device="tpu")(*_photo())


def test_import_is_cheap_until_the_first_call() -> None:
    code = (
        "import sys\n"
        "import lamapaint\n"
        "from lamapaint import remove, Remover\n"
        "assert 'torch' not in sys.modules, 'torch imported by the import'\n"
        "import numpy as np\n"
        "img = np.zeros((20, 20, 3), np.uint8); mask = np.zeros((20, 20), np.uint8); mask[5:9, 5:9] = 1\n"
        "out = remove(img, mask, model='opencv-telea')\n"
        "assert out.shape == (20, 20, 3) and 'torch' not in sys.modules, 'the basic fill needs no torch'\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr


def test_every_pil_mode_is_used_or_an_inpaint_error(opencv: Remover) -> None:
    """Issue 17.10: mode "La" (premultiplied grey + alpha) raised ValueError from Pillow."""
    rgb, mask = _photo()
    grey = Image.fromarray(rgb).convert("L")
    la = Image.merge("La", (grey, Image.new("L", grey.size, 255)))
    out = opencv(la, Image.merge("La", (Image.fromarray(mask), Image.new("L", grey.size, 255))))
    assert out.mode == "RGBA" and out.size == (120, 90)
    np.testing.assert_array_equal(np.asarray(out)[..., 3], 255)
    np.testing.assert_array_equal(np.asarray(out)[..., 0][mask == 0], np.asarray(grey)[mask == 0])
    buf = io.BytesIO()
    grey.save(buf, "PNG")
    cut = buf.getvalue()[: len(buf.getvalue()) // 2]  # opened lazily: the damage shows on conversion
    with pytest.raises(InpaintError, match="cannot read the PIL image's pixels"):
        opencv(rgb, Image.open(io.BytesIO(cut)))
    with pytest.raises(InpaintError, match="cannot read the PIL image's pixels"):
        opencv(Image.open(io.BytesIO(cut)), mask)


def test_a_mode_pillow_cannot_convert_is_an_inpaint_error(opencv: Remover, monkeypatch: pytest.MonkeyPatch) -> None:
    rgb, mask = _photo()
    cmyk = Image.fromarray(rgb).convert("CMYK")

    def unsupported(self: Image.Image, mode: str | None = None, *args: object, **kwargs: object) -> Image.Image:
        raise ValueError(f"conversion from {self.mode} to {mode} not supported")  # as older Pillows say for LAB

    monkeypatch.setattr(Image.Image, "convert", unsupported)
    with pytest.raises(InpaintError, match="cannot use a PIL image in mode 'CMYK'"):
        opencv(cmyk, mask)
    with pytest.raises(InpaintError, match="cannot use a PIL image in mode 'CMYK'"):
        opencv(rgb, cmyk)
