"""How fast removals run on this machine: the estimates behind the progress bar's "time left".

A small JSON file in the cache folder keeps, per model/device/precision, a running estimate of the
seconds the network needs per megapixel of its input (padded network pixels, what the planner
counts) and of the seconds a model load takes. Each finished run nudges the estimates; before the
first run, rough figures measured on a 2-thread desktop CPU and a mid-range GPU stand in. Losing the
file only costs a less accurate bar, so every read or write failure is logged and ignored.
"""

from __future__ import annotations

import json
import logging
import math
import threading
from pathlib import Path
from typing import Any

from lamapaint.inpaint.types import OPENCV_MODELS, InpaintOptions, RunInfo
from lamapaint.io.atomic import atomic_write_bytes
from lamapaint.settings import app_paths

log = logging.getLogger(__name__)

SPEED_FILE = "speed.json"
VERSION = 1
#: Weight of the newest run in the running estimate (the rest is the estimate so far).
NEW_RUN_WEIGHT = 0.5
#: One run moves an estimate by at most this factor either way: a run slowed by a busy machine (or
#: a first forward's warm-up) should not make the next bar wait for a 20x slower run.
MAX_STEP = 4.0
#: Runs smaller than this say more about fixed costs than about speed: they do not update the rate.
MIN_MEASURED_PIXELS = 256 * 256
#: Seconds per network megapixel before anything was measured (docs: big-lama fp32 on 2 cores of a
#: Zen 4 CPU runs 1024^2 in ~12 s; bf16 halves it; a GPU is ~50x faster; OpenCV's cost is small).
DEFAULT_SECONDS_PER_MP = {"cpu": 12.0, "cuda": 0.25, "mps": 2.0, "opencv": 0.3}
#: Seconds a LaMa load takes before one was measured (torch import, ~200 MB of weights, preparing).
DEFAULT_LOAD_SECONDS = 8.0


def speed_file() -> Path:
    return app_paths().cache_dir / SPEED_FILE


def fill_key(model: str, device: str, precision: str) -> str:
    return f"{model}|{device}|{precision}"


def options_key(options: InpaintOptions) -> str:
    """What the person asked for ("auto" included): the load is measured per request."""
    return fill_key(options.model, options.device, options.precision)


class SpeedBook:
    """Running estimates of fill and load speed; thread-safe, saved after each recorded run."""

    def __init__(self, path: Path | None = None, data: dict[str, Any] | None = None) -> None:
        self.path = path
        self._lock = threading.Lock()
        data = data if isinstance(data, dict) else {}
        self._fill: dict[str, dict[str, float]] = _numbers(data.get("fill"))
        self._load: dict[str, dict[str, Any]] = _entries(data.get("load"))

    @classmethod
    def load(cls, path: Path | None = None) -> "SpeedBook":
        """The book at ``path`` (the cache folder's by default); an empty one when it is missing or unreadable."""
        path = path or speed_file()
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            data = None
        except (OSError, ValueError) as exc:
            log.warning("Ignoring unreadable speed estimates %s: %s", path, exc)
            data = None
        if isinstance(data, dict) and data.get("version") != VERSION:
            data = None
        return cls(path, data)

    def seconds_per_mp(self, model: str, device: str, precision: str) -> float:
        """The estimate for a loaded backend: measured here, else the device's default."""
        with self._lock:
            entry = self._fill.get(fill_key(model, device, precision))
        if entry is not None:
            return entry["seconds_per_mp"]
        return _default_rate(model, device, precision)

    def expected(self, options: InpaintOptions) -> tuple[float, float]:
        """(load seconds, fill seconds per MP) for a request whose backend is not loaded yet."""
        with self._lock:
            load = self._load.get(options_key(options))
        if load is None:
            rate = _default_rate(options.model, "cpu" if options.device == "auto" else options.device, options.precision)
            return (0.0 if options.model in OPENCV_MODELS else DEFAULT_LOAD_SECONDS), rate
        model, device, precision = str(load["runs_as"]).split("|", 2)
        return float(load["seconds"]), self.seconds_per_mp(model, device, precision)

    def record(self, options: InpaintOptions, run: RunInfo) -> None:
        """Fold one finished run into the estimates and save them (failures are logged)."""
        key = fill_key(run.model, run.device, run.precision)
        fill_seconds = sum(r.seconds for r in run.regions)
        with self._lock:
            if run.network_pixels >= MIN_MEASURED_PIXELS and fill_seconds > 0:
                old = self._fill.get(key)
                before = old["seconds_per_mp"] if old is not None else _default_rate(run.model, run.device, run.precision)
                measured = _within_step(fill_seconds / (run.network_pixels / 1e6), before)
                rate = measured if old is None else (1 - NEW_RUN_WEIGHT) * before + NEW_RUN_WEIGHT * measured
                self._fill[key] = {"seconds_per_mp": rate, "runs": (old or {}).get("runs", 0) + 1}
            if run.backend == "lama" and run.load_seconds > 0:  # a fallback's instant "load" says nothing of LaMa's
                old_load = self._load.get(options_key(options))
                if old_load is None:
                    seconds = _within_step(run.load_seconds, DEFAULT_LOAD_SECONDS)
                else:
                    before_load = float(old_load["seconds"])
                    seconds = (1 - NEW_RUN_WEIGHT) * before_load + NEW_RUN_WEIGHT * _within_step(run.load_seconds, before_load)
                self._load[options_key(options)] = {"seconds": seconds, "runs_as": key}
            data = {"version": VERSION, "fill": dict(self._fill), "load": dict(self._load)}
        self._save(data)

    def _save(self, data: dict[str, Any]) -> None:
        if self.path is None:
            return
        try:
            atomic_write_bytes(self.path, json.dumps(data, indent=1, sort_keys=True).encode("utf-8"))
        except OSError as exc:
            log.warning("Could not save the speed estimates to %s: %s", self.path, exc)


def _within_step(measured: float, before: float) -> float:
    """``measured``, kept within ``MAX_STEP`` of the estimate ``before`` (either way)."""
    if before <= 0:
        return measured
    return min(max(measured, before / MAX_STEP), before * MAX_STEP)


def _default_rate(model: str, device: str, precision: str) -> float:
    if model in OPENCV_MODELS:
        return DEFAULT_SECONDS_PER_MP["opencv"]
    rate = DEFAULT_SECONDS_PER_MP.get(device.split(":", 1)[0], DEFAULT_SECONDS_PER_MP["cpu"])
    return rate / 2 if precision in ("bf16", "fp16") else rate


def _numbers(raw: object) -> dict[str, dict[str, float]]:
    """The fill entries of a file, keeping only well-formed, finite, positive rates."""
    out: dict[str, dict[str, float]] = {}
    for key, entry in (raw.items() if isinstance(raw, dict) else ()):
        try:
            rate = float(entry["seconds_per_mp"])
            runs = int(entry.get("runs", 1))
        except (KeyError, TypeError, ValueError, AttributeError):
            continue
        if isinstance(key, str) and math.isfinite(rate) and rate > 0:
            out[key] = {"seconds_per_mp": rate, "runs": runs}
    return out


def _entries(raw: object) -> dict[str, dict[str, Any]]:
    """The load entries of a file, keeping only well-formed ones."""
    out: dict[str, dict[str, Any]] = {}
    for key, entry in (raw.items() if isinstance(raw, dict) else ()):
        try:
            seconds = float(entry["seconds"])
            runs_as = str(entry["runs_as"])
        except (KeyError, TypeError, ValueError, AttributeError):
            continue
        if isinstance(key, str) and math.isfinite(seconds) and seconds >= 0 and runs_as.count("|") == 2:
            out[key] = {"seconds": seconds, "runs_as": runs_as}
    return out
