"""The engine's shared vocabulary: option names, the options type, run records, the errors.

The run records (``RunInfo``, ``RegionInfo``) are defined in ``lamapaint.core.run_record`` (a layer
carries them) and re-exported here with the words that describe them.

Torch-free on purpose (numpy and the core's ``Rect`` only): the CLI parses its flags with these
names, the editor builds its menus and worker requests from them and recognises engine errors by
class, all before torch is imported; the engine itself imports the same definitions.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Protocol

import numpy as np

from lamapaint.core.geometry import Rect
from lamapaint.core.run_record import RegionInfo as RegionInfo  # re-exported: the engine's callers import it here
from lamapaint.core.run_record import RunInfo
from lamapaint.jobs import CancelToken, ProgressCallback
from lamapaint.option_names import DEVICES as DEVICES  # re-exported: the engine's callers import them here
from lamapaint.option_names import LAMA_MODELS as LAMA_MODELS
from lamapaint.option_names import MODELS, PRECISIONS, STRATEGIES
from lamapaint.option_names import OPENCV_MODELS as OPENCV_MODELS
# The model-file errors live with what both model families share; the engine names them from here too.
from lamapaint.models.errors import ChecksumError, DownloadError, NoWeightsError, UnsafePickleError, WeightsError  # noqa: F401 - re-exported
from lamapaint.models.types import DeviceError as ModelDeviceError
from lamapaint.models.types import EngineError

if TYPE_CHECKING:
    from lamapaint.inpaint.hole import HoleMask


class InpaintError(EngineError):
    """A fill could not be made (out of memory with a suggestion, bad input, bad option, ...)."""


class DeviceError(InpaintError, ModelDeviceError):
    """A device or precision that is unknown or not available here, met while preparing a fill.

    ``lamapaint.models.device`` raises the engine-agnostic ``ModelDeviceError``; the inpainting
    backend re-raises it as this class so that callers catching ``InpaintError`` still see it.
    """


@dataclass(frozen=True)
class InpaintOptions:
    """How to fill. Frozen and hashable: the editor's worker keys its loaded backend on it."""

    model: str = "auto"  # one of MODELS
    weights: Path | None = None  # a weights file for this run; overrides the installed models
    strategy: str = "auto"  # one of STRATEGIES
    device: str = "auto"  # one of DEVICES, or cuda:N
    precision: str = "auto"  # one of PRECISIONS
    threads: int = 0  # 0 = from the cores available
    work_pixels: int = 0  # pixels per forward pass under auto/resize; 0 = default, capped by free memory

    def __post_init__(self) -> None:
        if self.weights is not None and not isinstance(self.weights, Path):
            object.__setattr__(self, "weights", Path(self.weights))
        if self.model not in MODELS:
            raise InpaintError(f"unknown model {self.model!r}; expected one of {', '.join(MODELS)}")
        if self.strategy not in STRATEGIES:
            raise InpaintError(f"unknown strategy {self.strategy!r}; expected one of {', '.join(STRATEGIES)}")
        if self.precision not in PRECISIONS:
            raise InpaintError(f"unknown precision {self.precision!r}; expected one of {', '.join(PRECISIONS)}")
        if self.threads < 0:
            raise InpaintError(f"the thread count must be 0 (automatic) or more, not {self.threads}")
        if self.work_pixels < 0:
            raise InpaintError(f"the work budget must be 0 (automatic) or more pixels, not {self.work_pixels}")


#: The pixels of a rectangle of the photo, (h, w, 3) uint8: a fresh array (the editor's composite)
#: or a view (of a photo array). The engine reads regions through it and never writes to a view.
ImageSource = Callable[[Rect], np.ndarray]


class Backend(Protocol):
    """LaMa or OpenCV, loaded once, called many times."""

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
        """Fill a whole photo: a new (H, W, 3) image, every pixel outside the mask unchanged."""
        ...

    def fill_hole(
        self,
        source: ImageSource,
        hole: "HoleMask",
        options: InpaintOptions | None = None,
        progress: ProgressCallback | None = None,
        cancel: CancelToken | None = None,
    ) -> tuple[np.ndarray, RunInfo]:
        """Fill ``hole``, reading the photo through ``source``: the hole's box, filled (the editor's layer)."""
        ...


def method_name(info: RunInfo) -> str:
    """What a photographer calls the method: "LaMa" or "the basic fill"."""
    return "LaMa" if info.backend == "lama" else "the basic fill"


def run_summary(info: RunInfo) -> str:
    """One plain line for the status bar: "Removed in 2.2 s with LaMa", the whole time, model load included."""
    line = f"Removed in {info.whole_seconds:.1f} s with {method_name(info)}"
    said = info.backend == "lama" and info.load_seconds >= 0.05
    return f"{line} (loading the model took {info.load_seconds:.1f} s)" if said else line


def run_brief(info: RunInfo) -> str:
    """The technical details on one line, for a log or the CLI's per-photo line (benchmarks parse it)."""
    return (
        f"{info.model} ({info.device}, {info.precision}) strategy {info.strategy} "
        f"(scale {info.scale:.2f}, {len(info.regions)} region(s), {info.network_pixels} network px)"
    )


def run_details(info: RunInfo) -> str:
    """The technical details, for a tooltip or a layer's details."""
    where = "at full resolution" if info.scale >= 1.0 else f"at {info.scale:.0%} of full resolution"
    lines = [
        f"Model: {info.model} ({info.backend})",
        f"Device: {info.device}, precision {info.precision}",
        f"Strategy: {info.strategy} (asked: {info.requested_strategy}), {where}",
        f"Passes: {len(info.regions)}, {info.network_pixels / 1e6:.2f} MP through the network",
        f"Time: {info.whole_seconds:.2f} s in all"
        + (f" (model load {info.load_seconds:.2f} s, fill {info.seconds:.2f} s)" if info.load_seconds > 0 else f" (fill {info.seconds:.2f} s)"),
    ]
    return "\n".join(lines)
