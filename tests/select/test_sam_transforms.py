"""Pre/post-processing: the fast full-size masks equal plain bilinear upsampling, and sizes round as SAM's."""

from __future__ import annotations

import functools

import numpy as np
import pytest
import torch
from PIL import Image

from lamapaint.select.sam import transforms
from lamapaint.select.sam.transforms import full_size_masks, preview_logits, resized_shape, upscale_logits


def _smooth_logits(seed: int) -> torch.Tensor:
    """(1,3,256,256) logits with object-like regions: a few blobs of each sign."""
    g = torch.Generator().manual_seed(seed)
    coarse = torch.randn(1, 3, 8, 8, generator=g) * 10
    return torch.nn.functional.interpolate(coarse, (256, 256), mode="bicubic", align_corners=False)


@pytest.mark.parametrize(("height", "width"), [(1200, 1600), (600, 400), (480, 640), (2000, 1333), (17, 16), (700, 1024)])
@pytest.mark.parametrize("busy", [False, True])
def test_full_size_masks_equal_upsampling(height: int, width: int, busy: bool) -> None:
    g = torch.Generator().manual_seed(height * width)
    low = torch.randn(1, 3, 256, 256, generator=g) * 3 if busy else _smooth_logits(height)
    expected = (upscale_logits(low, (height, width))[0] > 0).numpy()
    ours = full_size_masks(preview_logits(low, (height, width))[0], (height, width))
    assert ours.shape == (3, height, width) and ours.dtype == bool
    assert (ours != expected).sum() <= 2  # float rounding at logits within ~1e-6 of 0
    assert 0.05 < expected.mean() < 0.95


def test_smooth_masks_take_the_sparse_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """Object-like masks interpolate only their edges (the speed-up); full upsampling is not called."""
    low = _smooth_logits(7)
    expected = (upscale_logits(low, (1500, 2000))[0] > 0).numpy()
    preview = preview_logits(low, (1500, 2000))[0]

    def refuse(*_args: object, **_kwargs: object) -> torch.Tensor:
        raise AssertionError("full upsampling used for a smooth mask")

    monkeypatch.setattr(torch.nn.functional, "interpolate", refuse)
    np.testing.assert_array_equal(full_size_masks(preview, (1500, 2000)), expected)


def _pillow_resize(rgb: np.ndarray) -> np.ndarray:
    h, w = resized_shape(*rgb.shape[:2])
    return np.asarray(Image.fromarray(rgb).resize((w, h), Image.BILINEAR))


# Both pass orders of Pillow 13: the columns' pass first where the height shrinks by more than twice the width.
@pytest.mark.parametrize(("height", "width"), [(2988, 5312), (3001, 2000), (480, 640), (17, 16), (700, 1024), (1024, 576), (37, 2000), (2000, 37), (2600, 900)])
@pytest.mark.parametrize("threads", [1, 2, 3])
def test_photo_resized_in_bands_is_one_pillow_resize(height: int, width: int, threads: int, monkeypatch: pytest.MonkeyPatch) -> None:
    rgb = np.random.default_rng(height * width).integers(0, 256, (height, width, 3), dtype=np.uint8)
    monkeypatch.setattr(torch, "get_num_threads", lambda: threads)
    resized = transforms.resize_photo(rgb)
    np.testing.assert_array_equal(resized, _pillow_resize(rgb))
    assert resized.flags.writeable


def test_the_installed_pillows_pass_order_is_known() -> None:
    """Else every photo is resized in one piece: correct, but the speed-up is lost unnoticed."""
    assert transforms._pillow_pass_order() is not None


def test_a_pillow_in_an_unknown_order_gets_one_plain_resize(monkeypatch: pytest.MonkeyPatch) -> None:
    rgb = np.random.default_rng(7).integers(0, 256, (2000, 37, 3), dtype=np.uint8)
    monkeypatch.setattr(transforms, "_PASS_ORDERS", (lambda *size: True,))  # columns first, always: wrong for some probe
    monkeypatch.setattr(transforms, "_pillow_pass_order", functools.cache(transforms._pillow_pass_order.__wrapped__))
    assert transforms._pillow_pass_order() is None
    np.testing.assert_array_equal(transforms.resize_photo(rgb), _pillow_resize(rgb))


@pytest.mark.parametrize(("size", "expected"), [((480, 640), (768, 1024)), ((600, 400), (1024, 683)), ((512, 768), (683, 1024)), ((3000, 4000), (768, 1024))])
def test_resized_shape_rounds_half_up(size: tuple[int, int], expected: tuple[int, int]) -> None:
    assert resized_shape(*size) == expected


def test_encoder_input_pads_zeros_after_normalising() -> None:
    resized = np.full((683, 1024, 3), 255, np.uint8)
    x = transforms.encoder_input(resized, torch.device("cpu"))
    assert x.shape == (1, 3, 1024, 1024)
    assert torch.all(x[:, :, 683:] == 0)
    expected = (255 - torch.tensor(transforms.PIXEL_MEAN)) / torch.tensor(transforms.PIXEL_STD)
    torch.testing.assert_close(x[0, :, 0, 0], expected)
