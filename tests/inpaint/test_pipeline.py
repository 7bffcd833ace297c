"""LaMa pre/post-processing, region filling and cancellation; parity with the official path."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lamapaint.core.geometry import Rect
from lamapaint.inpaint.backends import InpaintOptions, LamaBackend
from lamapaint.inpaint.lama import build_generator
from lamapaint.inpaint.optimize import prepare_generator
from lamapaint.inpaint.hole import HoleMask
from lamapaint.inpaint.pipeline import RegionFill, array_source, fill_hole, lama_fill, paste_hole
from lamapaint.inpaint.regions import plan_regions
from lamapaint.inpaint.weights import deterministic_state_dict
from lamapaint.jobs import Cancelled, CancelToken
from tests.shared_data import LAMA_REFERENCE, require_shared

CPU = torch.device("cpu")


class RecordingForward:
    """Stands in for the generator: remembers its inputs and predicts a constant grey."""

    def __init__(self, value: float = 0.5) -> None:
        self.value = value
        self.inputs: list[torch.Tensor] = []

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        self.inputs.append(x.clone())
        return torch.full((x.shape[0], 3, x.shape[2], x.shape[3]), self.value)


def run_regions(fill: RegionFill, image: np.ndarray, mask: np.ndarray, plan: list, **kwargs: object) -> tuple[np.ndarray, list]:
    """The whole-photo path of ``Backend.inpaint``: the hole's fill pasted into a copy of the photo."""
    hole = HoleMask.from_mask(mask)
    patch, infos = fill_hole(fill, array_source(image), hole, plan, **kwargs)  # type: ignore[arg-type]
    return paste_hole(image, hole, patch), infos


def _photo(h: int, w: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def _real_backend(config: str) -> LamaBackend:
    gen = build_generator(config)
    gen.load_state_dict(deterministic_state_dict(config), strict=True)
    with torch.inference_mode():
        prepared = prepare_generator(gen, CPU, "fp32")
    return LamaBackend(prepared, config, CPU, "fp32")


def test_lama_fill_input_is_the_official_one() -> None:
    image = _photo(21, 30)
    hole = np.zeros((21, 30), bool)
    hole[5:9, 10:20] = True
    fwd = RecordingForward()
    lama_fill(fwd, image, hole)
    (x,) = fwd.inputs
    assert x.shape == (1, 4, 24, 32) and x.dtype == torch.float32
    padded = np.pad(image, ((0, 3), (0, 2), (0, 0)), mode="symmetric").astype(np.float32) / 255
    padded_hole = np.pad(hole, ((0, 3), (0, 2)), mode="symmetric")
    expected_rgb = padded * (1 - padded_hole[..., None])
    assert np.array_equal(x[0, :3].permute(1, 2, 0).numpy(), expected_rgb)
    assert np.array_equal(x[0, 3].numpy(), padded_hole.astype(np.float32))


def test_lama_fill_keeps_outside_pixels_and_truncates_inside() -> None:
    image = _photo(40, 48)
    hole = np.zeros((40, 48), bool)
    hole[10:30, 5:25] = True
    out = lama_fill(RecordingForward(0.999), image, hole)
    assert np.array_equal(out[~hole], image[~hole])
    assert (out[hole] == 254).all()  # 0.999 * 255 = 254.745, truncated like predict.py


def test_scaled_region_pastes_only_hole_pixels() -> None:
    image = _photo(600, 800)
    mask = np.zeros((600, 800), np.uint8)
    mask[100:500, 100:700] = 255
    plan = plan_regions(mask, "resize", work_pixels=256 * 256)
    fwd = RecordingForward(0.5)
    out, infos = run_regions(lambda img, hole: lama_fill(fwd, img, hole), image, mask, plan)
    assert infos[0].scale < 1.0
    assert fwd.inputs[0].shape[2] * fwd.inputs[0].shape[3] <= 264 * 264
    assert np.array_equal(out[mask == 0], image[mask == 0])
    assert (np.abs(out[mask != 0].astype(int) - 127) <= 1).all()


def test_cancel_between_regions_gives_nothing_partial() -> None:
    image = _photo(300, 900)
    mask = np.zeros((300, 900), np.uint8)
    for x in (50, 400, 750):
        mask[100:150, x : x + 50] = 255
    plan = plan_regions(mask, "crop")
    assert len(plan) == 3
    token = CancelToken()
    calls: list[int] = []

    def fill(img: np.ndarray, hole: np.ndarray) -> np.ndarray:
        calls.append(1)
        token.cancel()  # the user cancels while the first region runs
        return lama_fill(RecordingForward(), img, hole)

    with pytest.raises(Cancelled):
        run_regions(fill, image, mask, plan, cancel=token)
    assert len(calls) == 1


def test_progress_reaches_one() -> None:
    seen: list[tuple[float, str]] = []
    mask = np.zeros((100, 100), np.uint8)
    mask[10:20, 10:20] = 255
    run_regions(lambda i, h: i.copy(), _photo(100, 100), mask, plan_regions(mask, "crop"), progress=lambda f, m: seen.append((f, m)))
    assert seen[0][0] == 0.0 and seen[-1][0] == 1.0


def test_fill_hole_returns_the_hole_box_and_never_writes_the_source() -> None:
    image = _photo(300, 900)
    image.flags.writeable = False  # a view of it is what the pipeline reads
    mask = np.zeros((300, 900), np.uint8)
    mask[100:150, 50:100] = 255
    mask[120:160, 700:760] = 255
    hole = HoleMask.from_mask(mask)
    plan = plan_regions(hole, "crop")
    assert len(plan) == 2
    read: list[Rect] = []

    def source(rect: Rect) -> np.ndarray:
        read.append(rect)
        return image[rect.slices]

    patch, infos = fill_hole(lambda img, h: np.where(h[..., None], np.uint8(7), img), source, hole, plan)
    assert hole.box == Rect(50, 100, 760, 160) and patch.shape == (60, 710, 3)
    assert (patch[hole.pixels] == 7).all() and np.array_equal(patch[~hole.pixels], image[hole.box.slices][~hole.pixels])
    assert read == [hole.box, *(r.rect for r in plan)]  # only the regions, never the whole photo
    assert [i.rect for i in infos] == [r.rect for r in plan]


def test_fill_hole_composes_the_photo_once_and_lama_writes_into_that_array() -> None:
    """The editor's source composes a fresh array per call: one region holding the box is composed
    once (the box is cut from it), and LaMa writes its hole pixels into it, copying no region."""
    image = _photo(100, 100)
    mask = np.zeros((100, 100), np.uint8)
    mask[40:60, 40:60] = 255
    hole = HoleMask.from_mask(mask)
    fresh: list[np.ndarray] = []

    def composite(rect: Rect) -> np.ndarray:  # like Document.composite: a new array each time
        fresh.append(image[rect.slices].copy())
        return fresh[-1]

    written: list[bool] = []

    def fill(img: np.ndarray, region_hole: np.ndarray) -> np.ndarray:
        out = lama_fill(RecordingForward(0.0), img, region_hole, out=img)
        written.append(out is img and np.shares_memory(out, fresh[-1]))
        return out

    (region,) = plan_regions(hole, "crop")
    patch, _ = fill_hole(fill, composite, hole, [region])
    assert len(fresh) == 1 and fresh[0].shape[:2] == (region.rect.height, region.rect.width) and written == [True]
    assert not patch[hole.pixels].any() and np.array_equal(patch[~hole.pixels], image[hole.box.slices][~hole.pixels])
    assert patch.flags.c_contiguous and patch.flags.writeable


def test_fill_hole_over_several_regions_reads_the_box_as_well() -> None:
    image = _photo(300, 900)
    mask = np.zeros((300, 900), np.uint8)
    for x in (50, 750):
        mask[100:150, x : x + 50] = 255
    hole = HoleMask.from_mask(mask)
    plan = plan_regions(hole, "crop")
    assert len(plan) == 2
    reads: list[Rect] = []
    patch, _ = fill_hole(lambda img, h: np.zeros_like(img), lambda rect: (reads.append(rect), image[rect.slices])[1], hole, plan)
    assert reads == [hole.box, *(r.rect for r in plan)]
    assert not patch[hole.pixels].any() and np.array_equal(patch[~hole.pixels], image[hole.box.slices][~hole.pixels])
    assert image[100:150, 50:100].any()  # a view of the photo is never written


def test_lama_fill_without_out_leaves_its_input_alone() -> None:
    image = _photo(16, 16)
    hole = np.zeros((16, 16), bool)
    hole[4:8, 4:8] = True
    before = image.copy()
    out = lama_fill(RecordingForward(0.0), image, hole)
    assert out is not image and np.array_equal(image, before) and not out[hole].any()


@pytest.mark.slow
def test_full_fp32_matches_official_predict() -> None:
    case = np.load(require_shared(LAMA_REFERENCE / "parity_big-lama_200x328.npz"))
    image = case["image_u8"]
    mask = (case["mask"][0, 0] * 255).astype(np.uint8)
    backend = _real_backend("big-lama")
    out, run = backend.inpaint(image, mask, InpaintOptions(strategy="full", precision="fp32"))
    expected = np.clip(case["blended"][0].transpose(1, 2, 0) * 255, 0, 255).astype(np.uint8)
    diff = np.abs(out.astype(int) - expected)
    assert diff.max() <= 1 and (diff == 0).mean() >= 0.99
    assert np.array_equal(out[mask == 0], image[mask == 0])
    assert run is not None and run.strategy == "full" and run.network_pixels == 200 * 328


@pytest.mark.slow
def test_real_network_crop_fills_only_the_hole() -> None:
    backend = _real_backend("lama-fourier")
    image = _photo(256, 256, seed=3)
    mask = np.zeros((256, 256), np.uint8)
    mask[100:130, 40:80] = 255
    out, run = backend.inpaint(image, mask, InpaintOptions(strategy="crop"))
    assert np.array_equal(out[mask == 0], image[mask == 0])
    assert np.abs(out[mask != 0].astype(int) - image[mask != 0]).mean() > 10
    assert run is not None and run.strategy == "crop" and run.scale == 1.0
    assert run.network_pixels < 256 * 256 / 2
    (region,) = run.regions
    assert region.rect.contains(Rect(40, 100, 80, 130))
