"""What made a result layer: the engine's record of one fill, as plain data.

It lives in the core, not the engine, because a layer carries it typed (``Layer.run``) and the
project file writes and reads it without loading the engine. The engine fills it in
(``lamapaint.inpaint.types`` re-exports both classes); the panels read its fields, never a dict.

In a project file a layer's info is the record under ``"run"``, with a few headline fields beside
it that older versions showed. ``backend`` means one thing: the family ("lama" or "opencv"); the
file's headline names the model as ``"model"`` (files written before 0.3 also named it
``"backend"``, which readers ignore: the record under ``"run"`` is what is read).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any, Mapping

from lamapaint.core.geometry import Rect


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
    """What one fill did; returned with its image, carried by the layer it became."""

    backend: str  # the family: "lama" or "opencv"
    model: str  # what ran: "big-lama", "opencv-telea", ...
    device: str
    precision: str
    requested_strategy: str
    strategy: str  # what was done: "full", "crop", "resize", or kinds joined by "+"
    scale: float  # the smallest region scale (1.0 = everything at native resolution)
    work_pixels: int  # the per-forward budget that was in force
    network_pixels: int  # sum over regions, after padding
    seconds: float  # the fill itself (every region)
    regions: tuple[RegionInfo, ...] = field(default_factory=tuple)
    load_seconds: float = 0.0  # loading the model for this run (0 when it was already loaded)
    total_seconds: float = 0.0  # what the person waited, load included; 0 when not measured (the CLI)

    @property
    def whole_seconds(self) -> float:
        """The whole time the run took: measured end to end where it was, else load plus fill."""
        return max(self.total_seconds, self.seconds + self.load_seconds)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able (the record under a layer info's "run")."""
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
                load_seconds=float(data.get("load_seconds", 0.0)),  # absent in older projects
                total_seconds=float(data.get("total_seconds", 0.0)),
            )
        except (KeyError, TypeError, ValueError, IndexError):
            return None
        finite = all(math.isfinite(x) for x in (info.seconds, info.scale, info.load_seconds, info.total_seconds))
        return info if finite else None

    def to_layer_info(self) -> dict[str, Any]:
        """A result layer's info in a project file: headline fields, the whole record under "run"."""
        return {
            "model": self.model,
            "device": self.device,
            "precision": self.precision,
            "strategy": self.strategy,
            "scale": self.scale,
            "seconds": round(self.seconds, 3),
            "run": self.to_dict(),
        }
