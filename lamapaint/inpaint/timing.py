"""A removal timed end to end: the model load as a phase of its own, the fill paced by measured speed.

The editor's worker keeps a backend loaded between removals; the first removal (or the first after
the options changed) loads it, which can take longer than the fill. :func:`timed_fill` makes that
load visible ("Loading the LaMa model…" with its own share of the bar and time left), paces the fill
from the planned network pixels and the speed this machine showed before, returns a ``RunInfo``
that carries the load and the whole time, and folds the run into the speed estimates.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Callable

import numpy as np

from lamapaint.inpaint import regions as planner
from lamapaint.inpaint.hole import HoleMask
from lamapaint.inpaint.progress import Clock, Paced, ProgressMeter
from lamapaint.inpaint.speed import SpeedBook
from lamapaint.inpaint.types import OPENCV_MODELS, Backend, ImageSource, InpaintOptions, RunInfo
from lamapaint.jobs import CancelToken, ProgressCallback

LOADING_LABEL = "Loading the LaMa model…"


def planned_network_pixels(hole: HoleMask, options: InpaintOptions) -> int:
    """The network pixels a fill will likely take, planned before any model is loaded.

    It uses the option's (or the default) budget; the loaded backend may lower it to fit free
    memory, so this is an estimate for the progress bar, never a plan to run.
    """
    budget = options.work_pixels or planner.DEFAULT_WORK_PIXELS
    strategy = "crop" if options.model in OPENCV_MODELS and options.strategy in ("auto", "resize") else options.strategy
    return sum(r.network_pixels for r in planner.plan_regions(hole, strategy, budget))


def timed_fill(
    backend_for: Callable[[InpaintOptions], Backend],
    needs_load: bool,
    source: ImageSource,
    hole: HoleMask,
    options: InpaintOptions,
    progress: ProgressCallback,
    cancel: CancelToken,
    speeds: SpeedBook,
    clock: Clock = time.monotonic,
) -> tuple[np.ndarray, RunInfo]:
    """Get the backend (``needs_load``: it loads now), fill ``hole``, and time both.

    Progress is one rising fraction: the load's share is its expected time over the whole
    expected time, the fill takes the rest. The RunInfo's ``load_seconds`` is the load (0 when the
    backend was already loaded) and ``total_seconds`` everything from the call to the result.
    """
    started = clock()
    meter = ProgressMeter(progress, clock)
    fill_from, load_seconds = 0.0, 0.0
    if needs_load and options.model not in OPENCV_MODELS:
        load_expected, rate = speeds.expected(options)
        fill_expected = planned_network_pixels(hole, options) / 1e6 * rate
        fill_from = load_expected / (load_expected + fill_expected) if load_expected + fill_expected > 0 else 0.0
        with meter.phase(0.0, fill_from, load_expected, LOADING_LABEL, fill_expected):
            backend = backend_for(options)
        load_seconds = clock() - started
    else:
        backend = backend_for(options)
    cancel.raise_if_cancelled()
    paced = Paced(meter.scaled(fill_from, 1.0), speeds.seconds_per_mp(backend.name, backend.device, backend.precision))
    patch, run = backend.fill_hole(source, hole, options, paced, cancel)
    run = dataclasses.replace(run, load_seconds=load_seconds, total_seconds=clock() - started)
    speeds.record(options, run)
    return patch, run
