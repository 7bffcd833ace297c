"""Backends: OpenCV fallback, model selection, out-of-memory reporting, memory budget, run records."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from lamapaint.inpaint import backends
from lamapaint.inpaint.backends import (
    FALLBACK_REASON,
    InpaintError,
    InpaintOptions,
    LamaBackend,
    OpenCVBackend,
    create_backend,
    opencv_radius,
    work_pixel_budget,
)
from lamapaint.inpaint.regions import DEFAULT_WORK_PIXELS, MIN_WORK_PIXELS

CPU = torch.device("cpu")


def _grey_with_red_square() -> tuple[np.ndarray, np.ndarray]:
    image = np.full((120, 160, 3), 128, np.uint8)
    image[40:80, 60:100] = (255, 0, 0)
    mask = np.zeros((120, 160), np.uint8)
    mask[38:82, 58:102] = 255
    return image, mask


@pytest.mark.parametrize("name", ["opencv-telea", "opencv-ns"])
def test_opencv_fills_the_hole_and_keeps_the_rest(name: str) -> None:
    image, mask = _grey_with_red_square()
    backend = create_backend(InpaintOptions(model=name))
    assert isinstance(backend, OpenCVBackend) and backend.fallback_reason is None
    out, run = backend.inpaint(image, mask)
    assert np.array_equal(out[mask == 0], image[mask == 0])
    assert np.abs(out[mask != 0].astype(int) - 128).max() <= 2  # the red is gone, grey diffused in
    assert run is not None and run.model == name and run.strategy == "crop" and len(run.regions) == 1
    assert run.regions[0].rect.area < 120 * 160


def test_fill_hole_is_inpaint_cut_to_the_hole_box() -> None:
    from lamapaint.inpaint.hole import HoleMask

    image, mask = _grey_with_red_square()
    backend = OpenCVBackend()
    whole, _ = backend.inpaint(image, mask)
    hole = HoleMask.from_mask(mask)
    read: list = []
    patch, run = backend.fill_hole(lambda rect: read.append(rect) or image[rect.slices].copy(), hole)
    np.testing.assert_array_equal(patch, whole[hole.box.slices])
    assert all(rect.area < image.shape[0] * image.shape[1] for rect in read) and run.regions


def test_opencv_radius_grows_with_the_photo() -> None:
    assert opencv_radius(400, 600) == 3
    assert opencv_radius(4000, 6000) == 12
    assert opencv_radius(20000, 30000) == 15


def test_mask_of_another_size_is_a_clear_error() -> None:
    image, _ = _grey_with_red_square()
    with pytest.raises(InpaintError, match="160x120"):
        OpenCVBackend().inpaint(image, np.zeros((100, 100), np.uint8))


def test_unknown_model_is_refused() -> None:
    with pytest.raises(InpaintError, match="unknown model"):
        create_backend(InpaintOptions(model="sd-xl"))


@pytest.fixture
def no_weights_anywhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """LAMAPAINT_HOME is already empty; also hide IOPaint's torch hub cache on a developer's machine."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))


@pytest.mark.usefixtures("no_weights_anywhere")
def test_auto_without_weights_falls_back_to_opencv() -> None:
    backend = create_backend(InpaintOptions(model="auto", device="cpu"))
    assert backend.name == "opencv-telea"
    assert backend.fallback_reason == FALLBACK_REASON


@pytest.mark.usefixtures("no_weights_anywhere")
def test_named_model_without_weights_is_an_error() -> None:
    with pytest.raises(InpaintError):
        create_backend(InpaintOptions(model="big-lama", device="cpu"))


def test_a_device_that_is_not_there_is_an_inpaint_error(monkeypatch: pytest.MonkeyPatch) -> None:
    """lamapaint.models.device raises its engine-agnostic DeviceError; the CLI catches InpaintError."""
    from lamapaint.inpaint.types import DeviceError

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(DeviceError, match="CUDA was requested") as caught:
        create_backend(InpaintOptions(model="big-lama", device="cuda"))
    assert isinstance(caught.value, InpaintError)


@pytest.mark.parametrize(
    "error",
    [
        torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB"),
        RuntimeError("CUDA error: out of memory"),
        RuntimeError("[enforce fail at alloc_cpu.cpp:117] DefaultCPUAllocator: can't allocate memory"),
    ],
)
def test_out_of_memory_becomes_an_inpaint_error_with_a_suggestion(error: Exception) -> None:
    def forward(x: torch.Tensor) -> torch.Tensor:
        raise error

    image, mask = _grey_with_red_square()
    with pytest.raises(InpaintError, match="resize") as info:
        LamaBackend(forward, "big-lama", CPU, "fp32").inpaint(image, mask)
    assert "CPU" in str(info.value)


def test_other_runtime_errors_are_not_disguised() -> None:
    def forward(x: torch.Tensor) -> torch.Tensor:
        raise RuntimeError("shape mismatch")

    image, mask = _grey_with_red_square()
    with pytest.raises(RuntimeError, match="shape mismatch"):
        LamaBackend(forward, "big-lama", CPU, "fp32").inpaint(image, mask)


def test_backend_reuses_its_model_and_records_each_run() -> None:
    calls: list[tuple[int, ...]] = []

    def forward(x: torch.Tensor) -> torch.Tensor:
        calls.append(tuple(x.shape))
        return torch.zeros(x.shape[0], 3, x.shape[2], x.shape[3])

    backend = LamaBackend(forward, "big-lama", CPU, "fp32")
    image, mask = _grey_with_red_square()
    _, run = backend.inpaint(image, mask, InpaintOptions(strategy="full"))
    assert run.strategy == "full"
    _, run = backend.inpaint(image, mask, InpaintOptions(strategy="crop"))
    assert len(calls) == 2 and calls[0] == (1, 4, 120, 160)
    assert run.strategy == "crop" and run.requested_strategy == "crop" and run.network_pixels < 120 * 160


def test_budget_option_and_memory_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    assert work_pixel_budget(InpaintOptions(work_pixels=500_000), CPU, "fp32") == 500_000
    assert work_pixel_budget(InpaintOptions(work_pixels=5), CPU, "fp32") == MIN_WORK_PIXELS
    monkeypatch.setattr(backends, "free_memory_bytes", lambda device: 64 << 30)
    assert work_pixel_budget(InpaintOptions(), CPU, "fp32") == DEFAULT_WORK_PIXELS
    monkeypatch.setattr(backends, "free_memory_bytes", lambda device: 400 << 20)
    fp32 = work_pixel_budget(InpaintOptions(), CPU, "fp32")
    assert MIN_WORK_PIXELS <= fp32 < DEFAULT_WORK_PIXELS
    assert work_pixel_budget(InpaintOptions(), CPU, "bf16") > fp32


def test_small_hole_on_a_large_photo_is_filled_at_scale_one_on_a_small_crop() -> None:
    """Quality guard end to end: native resolution, and the network sees a tiny part of the photo."""
    seen: list[tuple[int, ...]] = []

    def forward(x: torch.Tensor) -> torch.Tensor:
        seen.append(tuple(x.shape))
        return torch.full((x.shape[0], 3, x.shape[2], x.shape[3]), 0.5)

    image = np.zeros((3000, 4000, 3), np.uint8)
    mask = np.zeros((3000, 4000), np.uint8)
    mask[1400:1520, 2000:2090] = 255
    backend = LamaBackend(forward, "big-lama", CPU, "fp32")
    out, run = backend.inpaint(image, mask, InpaintOptions(strategy="auto"))
    assert run is not None and run.scale == 1.0 and run.strategy == "crop"
    assert run.network_pixels == seen[0][2] * seen[0][3] < 3000 * 4000 / 200
    assert (out[mask != 0] == 127).all() and not out[mask == 0].any()
