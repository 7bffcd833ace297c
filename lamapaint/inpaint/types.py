"""The engine's shared vocabulary: option names, the options type, run records, the errors.

Torch-free on purpose (numpy and the core's ``Rect`` only): the CLI parses its flags with these
names, the editor builds its menus and worker requests from them and recognises engine errors by
class, all before torch is imported; the engine itself imports the same definitions.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Mapping, Protocol

import numpy as np

from lamapaint.core.geometry import Rect
from lamapaint.jobs import CancelToken, ProgressCallback
# The model-file errors live with what both model families share; the engine names them from here too.
from lamapaint.models.errors import ChecksumError, DownloadError, NoWeightsError, UnsafePickleError, WeightsError  # noqa: F401 - re-exported
from lamapaint.models.types import DEVICES as DEVICES  # re-exported: the CLI and the editor read it here
from lamapaint.models.types import PRECISIONS, EngineError
from lamapaint.models.types import DeviceError as ModelDeviceError

if TYPE_CHECKING:
    from lamapaint.inpaint.hole import HoleMask

#: The LaMa generator configurations this engine builds (lamapaint.inpaint.lama.CONFIGS).
LAMA_MODELS = ("big-lama", "lama-fourier")
#: The classical fallbacks (cv2.inpaint methods).
OPENCV_MODELS = ("opencv-telea", "opencv-ns")
MODELS = ("auto", *LAMA_MODELS, *OPENCV_MODELS)
#: How a large photo is split into forward passes (docs/PIPELINE.md).
STRATEGIES = ("auto", "full", "crop", "resize")


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


@dataclass(frozen=True)
class RegionInfo:
    """What one forward pass did: stored with a layer so the user can see at what scale it was made."""

    rect: Rect
    hole: Rect
    kind: str
    scale: float
    work_size: tuple[int, int]
    network_pixels: int
    seconds: float


@dataclass(frozen=True)
class RunInfo:
    """What one ``inpaint`` call did; returned with its image, kept in the layer's info."""

    backend: str  # "lama" or "opencv"
    model: str
    device: str
    precision: str
    requested_strategy: str
    strategy: str  # what was done: "full", "crop", "resize", or kinds joined by "+"
    scale: float  # the smallest region scale (1.0 = everything at native resolution)
    work_pixels: int  # the per-forward budget that was in force
    network_pixels: int  # sum over regions, after padding
    seconds: float
    regions: tuple[RegionInfo, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able (a layer's info in a project file)."""
        data = asdict(self)
        data["regions"] = [
            {**asdict(r), "rect": r.rect.as_list(), "hole": r.hole.as_list(), "work_size": list(r.work_size)}
            for r in self.regions
        ]
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "RunInfo | None":
        """Read back ``to_dict`` or ``to_layer_info`` output (projects keep it); None when it is not one."""
        if isinstance(data.get("run"), Mapping):
            data = data["run"]
        try:
            regions = tuple(
                RegionInfo(
                    Rect(*r["rect"]), Rect(*r["hole"]), str(r["kind"]), float(r["scale"]),
                    (int(r["work_size"][0]), int(r["work_size"][1])), int(r["network_pixels"]), float(r["seconds"]),
                )
                for r in data.get("regions", ())
            )
            info = cls(
                backend=str(data["backend"]),
                model=str(data["model"]),
                device=str(data["device"]),
                precision=str(data["precision"]),
                requested_strategy=str(data.get("requested_strategy", data.get("strategy", "auto"))),
                strategy=str(data["strategy"]),
                scale=float(data["scale"]),
                work_pixels=int(data.get("work_pixels", 0)),
                network_pixels=int(data.get("network_pixels", 0)),
                seconds=float(data["seconds"]),
                regions=regions,
            )
        except (KeyError, TypeError, ValueError, IndexError):
            return None
        return info if math.isfinite(info.seconds) and math.isfinite(info.scale) else None

    def to_layer_info(self) -> dict[str, Any]:
        """A result layer's info: the headline fields at the top (as in 0.1 projects), the record under "run"."""
        return {
            "backend": self.model,
            "model": self.model,
            "device": self.device,
            "precision": self.precision,
            "strategy": self.strategy,
            "scale": self.scale,
            "seconds": round(self.seconds, 3),
            "run": self.to_dict(),
        }


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
    """One plain line for the status bar: "Removed in 2.2 s with LaMa"."""
    return f"Removed in {info.seconds:.1f} s with {method_name(info)}"


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
        f"Time: {info.seconds:.2f} s",
    ]
    return "\n".join(lines)
