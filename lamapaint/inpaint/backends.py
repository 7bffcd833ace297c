"""LaMa and the classical OpenCV fallback behind one small interface.

A backend is created once (loading the model is the slow part) and then called many times by the
editor (``fill_hole``: it reads the planned regions of the document's composite and returns the
hole's box) or once per photo by the CLI and the Python API (``inpaint``: a whole photo). ``create_backend`` picks the best installed LaMa weights for
``model="auto"``; with none installed it returns the OpenCV backend with ``fallback_reason`` set.
"""

from __future__ import annotations

import logging
import os
import time
from abc import ABC, abstractmethod

import cv2
import numpy as np
import torch

from lamapaint.inpaint import regions as planner
from lamapaint.inpaint.hole import HoleMask
from lamapaint.inpaint.pipeline import Forward, RegionFill, array_source, fill_hole, lama_fill, paste_hole, summarize_kinds
from lamapaint.inpaint.types import (
    MODELS,
    Backend,
    DeviceError,
    ImageSource,
    InpaintError,
    InpaintOptions,
    NoWeightsError,
    RegionInfo,
    RunInfo,
    WeightsError,
)
from lamapaint.jobs import CancelToken, ProgressCallback
from lamapaint.models.types import DeviceError as ModelDeviceError

log = logging.getLogger(__name__)

_OPENCV_FLAGS = {"opencv-telea": cv2.INPAINT_TELEA, "opencv-ns": cv2.INPAINT_NS}

FALLBACK_REASON = (
    "No LaMa weights installed: using the OpenCV fallback (lower quality). "
    "Get them with `lamapaint-cli models download big-lama`."
)
#: Extra memory one forward pass needs per working pixel in fp32 (reference README: ~0.85 KiB).
BYTES_PER_WORK_PIXEL_FP32 = 900
#: Share of the free memory the automatic budget may plan to use for activations.
MEMORY_SHARE = 0.5


def check_inputs(image: np.ndarray, mask: np.ndarray) -> None:
    """Raise InpaintError unless ``image`` is (H, W, 3) uint8 and ``mask`` an (H, W) of the same size."""
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise InpaintError(f"expected an (H, W, 3) uint8 RGB image, got {image.shape} {image.dtype}")
    if mask.ndim != 2:
        raise InpaintError(f"expected an (H, W) mask, got shape {mask.shape}")
    if mask.shape != image.shape[:2]:
        raise InpaintError(
            f"the mask is {mask.shape[1]}x{mask.shape[0]} but the photo is {image.shape[1]}x{image.shape[0]}; "
            "they must be the same size"
        )


class _RegionBackend(ABC):
    """What both backends share: a whole photo is its hole's fill pasted into a copy of it."""

    name: str
    device: str
    precision: str
    fallback_reason: str | None

    def inpaint(
        self,
        image_rgb_u8: np.ndarray,
        mask_u8: np.ndarray,
        options: InpaintOptions | None = None,
        progress: ProgressCallback | None = None,
        cancel: CancelToken | None = None,
    ) -> tuple[np.ndarray, RunInfo]:
        check_inputs(image_rgb_u8, mask_u8)
        hole = HoleMask.from_mask(mask_u8)
        patch, run = self.fill_hole(array_source(image_rgb_u8), hole, options, progress, cancel)
        return paste_hole(image_rgb_u8, hole, patch), run

    @abstractmethod
    def fill_hole(
        self,
        source: ImageSource,
        hole: HoleMask,
        options: InpaintOptions | None = None,
        progress: ProgressCallback | None = None,
        cancel: CancelToken | None = None,
    ) -> tuple[np.ndarray, RunInfo]:
        """The hole's box with the hole filled, reading only the planned regions from ``source``."""


class LamaBackend(_RegionBackend):
    """The LaMa generator, kept loaded between calls."""

    def __init__(self, forward: Forward, name: str, device: torch.device, precision: str) -> None:
        self._forward = forward
        self.name = name
        self._device = device
        self.device = str(device)
        self.precision = precision
        self.fallback_reason: str | None = None

    def fill_hole(
        self,
        source: ImageSource,
        hole: HoleMask,
        options: InpaintOptions | None = None,
        progress: ProgressCallback | None = None,
        cancel: CancelToken | None = None,
    ) -> tuple[np.ndarray, RunInfo]:
        options = options or InpaintOptions()
        budget = work_pixel_budget(options, self._device, self.precision)
        plan = _plan(hole, options.strategy, budget)
        started = time.perf_counter()

        def fill(img: np.ndarray, region_hole: np.ndarray) -> np.ndarray:
            return lama_fill(self._forward, img, region_hole)

        try:
            with torch.inference_mode():
                patch, infos = fill_hole(fill, source, hole, plan, progress, cancel)
        except (RuntimeError, MemoryError) as exc:
            if not is_out_of_memory(exc):
                raise
            if self._device.type == "cuda":
                torch.cuda.empty_cache()
            biggest = max(plan, key=lambda r: r.network_pixels)
            raise InpaintError(
                f"Out of memory on {self.device} while filling a {biggest.work_size[0]}x{biggest.work_size[1]} area. "
                "Try the 'resize' strategy or a smaller work budget, or run on the CPU."
            ) from exc
        return patch, _run_info(self, options, budget, infos, time.perf_counter() - started)


class OpenCVBackend(_RegionBackend):
    """Telea or Navier-Stokes diffusion (cv2.inpaint): always available, much lower quality than LaMa.

    It never downscales (its cost grows with hole pixels, not with the crop), and runs on a crop
    around each hole region because cv2.inpaint on a whole large photo is slow.
    """

    def __init__(self, name: str = "opencv-telea", fallback_reason: str | None = None) -> None:
        if name not in _OPENCV_FLAGS:
            raise InpaintError(f"unknown OpenCV method {name!r}; expected one of {', '.join(_OPENCV_FLAGS)}")
        self.name = name
        self.device = "cpu"
        self.precision = "uint8"
        self.fallback_reason = fallback_reason

    def fill_hole(
        self,
        source: ImageSource,
        hole: HoleMask,
        options: InpaintOptions | None = None,
        progress: ProgressCallback | None = None,
        cancel: CancelToken | None = None,
    ) -> tuple[np.ndarray, RunInfo]:
        options = options or InpaintOptions()
        strategy = "crop" if options.strategy in ("auto", "resize") else options.strategy
        plan = _plan(hole, strategy, planner.DEFAULT_WORK_PIXELS)
        fill = _opencv_fill(_OPENCV_FLAGS[self.name], opencv_radius(hole.height, hole.width))
        started = time.perf_counter()
        patch, infos = fill_hole(fill, source, hole, plan, progress, cancel)
        return patch, _run_info(self, options, 0, infos, time.perf_counter() - started)


def _opencv_fill(flag: int, radius: int) -> RegionFill:
    def fill(img: np.ndarray, region_hole: np.ndarray) -> np.ndarray:
        bgr = cv2.inpaint(np.ascontiguousarray(img[..., ::-1]), np.ascontiguousarray(region_hole).view(np.uint8), radius, flag)
        return bgr[..., ::-1]

    return fill


def opencv_radius(height: int, width: int) -> int:
    """cv2.inpaint's neighbourhood: 3 px on small photos, growing with the photo to at most 15."""
    return int(np.clip(round(max(height, width) / 500), 3, 15))


def is_out_of_memory(exc: BaseException) -> bool:
    """CUDA/MPS out-of-memory errors and CPU allocation failures, whatever their exact class."""
    if isinstance(exc, (MemoryError, torch.cuda.OutOfMemoryError)):
        return True
    text = str(exc).lower()
    return "out of memory" in text or "can't allocate memory" in text


def work_pixel_budget(options: InpaintOptions, device: torch.device, precision: str) -> int:
    """Pixels per forward pass: the option when set, else the default lowered to fit free memory."""
    if options.work_pixels > 0:
        return max(planner.MIN_WORK_PIXELS, options.work_pixels)
    per_pixel = BYTES_PER_WORK_PIXEL_FP32 if precision == "fp32" else BYTES_PER_WORK_PIXEL_FP32 // 2
    free = free_memory_bytes(device)
    if free is None:
        return planner.DEFAULT_WORK_PIXELS
    fits = int(free * MEMORY_SHARE / per_pixel)
    return max(planner.MIN_WORK_PIXELS, min(planner.DEFAULT_WORK_PIXELS, fits))


def free_memory_bytes(device: torch.device) -> int | None:
    """Memory available for activations on ``device``; None where it cannot be told."""
    if device.type == "cuda":
        free, _total = torch.cuda.mem_get_info(device)
        return int(free)
    if device.type == "cpu":
        try:
            with open("/proc/meminfo", encoding="ascii") as fh:
                for line in fh:
                    if line.startswith("MemAvailable:"):
                        return int(line.split()[1]) * 1024
        except OSError:
            pass
        try:
            return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (ValueError, OSError, AttributeError):
            return None
    return None


def create_backend(options: InpaintOptions) -> Backend:
    """The backend ``options`` ask for; ``auto`` without installed weights gives OpenCV Telea.

    Raises InpaintError for an unknown model, a device that is not there, or weights that cannot be
    loaded (an explicitly requested model that is not installed included).
    """
    model = options.model
    if model in _OPENCV_FLAGS:
        return OpenCVBackend(model)
    if model not in MODELS:
        raise InpaintError(f"unknown model {model!r}; expected one of {', '.join(MODELS)}")
    from lamapaint.models.device import configure_threads, select_device, select_precision
    from lamapaint.inpaint.optimize import prepare_generator
    from lamapaint.inpaint.weights import load_generator

    try:
        device = select_device(options.device)
        precision = select_precision(options.precision, device)
    except ModelDeviceError as exc:
        raise DeviceError(str(exc)) from None
    configure_threads(options.threads)
    try:
        generator, info = load_generator(options.weights, None if model == "auto" else model)
    except NoWeightsError as exc:
        if model == "auto" and options.weights is None:
            # Logged quietly: the CLI and the editor tell the user themselves, once, in their own words.
            log.info(FALLBACK_REASON)
            return OpenCVBackend("opencv-telea", fallback_reason=FALLBACK_REASON)
        raise InpaintError(str(exc)) from exc
    except WeightsError as exc:
        raise InpaintError(str(exc)) from exc
    with torch.inference_mode():
        prepared = prepare_generator(generator, device, precision)
    log.info("LaMa backend: %s from %s on %s, %s", info.name, info.path, device, precision)
    return LamaBackend(prepared, info.name, device, precision)


def _plan(hole: HoleMask, strategy: str, budget: int) -> list[planner.Region]:
    try:
        return planner.plan_regions(hole, strategy, budget)
    except ValueError as exc:
        raise InpaintError(str(exc)) from exc


def _run_info(backend: _RegionBackend, options: InpaintOptions, budget: int, infos: list[RegionInfo], seconds: float) -> RunInfo:
    return RunInfo(
        backend="lama" if isinstance(backend, LamaBackend) else "opencv",
        model=backend.name,
        device=backend.device,
        precision=backend.precision,
        requested_strategy=options.strategy,
        strategy=summarize_kinds(infos),
        scale=min((i.scale for i in infos), default=1.0),
        work_pixels=budget,
        network_pixels=sum(i.network_pixels for i in infos),
        seconds=seconds,
        regions=tuple(infos),
    )
