"""Progress a person can trust: one rising fraction with a time left, from planned work and measured speed.

A forward pass gives no progress of its own: a one-region removal would sit at 0 until it is done.
So a long step runs as a *phase* with an expected duration (planned network pixels times this
machine's measured seconds per megapixel, or a measured load time); a small ticker thread reports
the elapsed share of it while the step blocks. The fraction only ever rises: past its estimate a
phase creeps on toward its end without reaching it, and the next phase starts where the last ended.
Plain Python (threads, no Qt, no torch), so the CLI, the API and the editor's worker can share it.
"""

from __future__ import annotations

import math
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Callable, Iterator

from lamapaint.jobs import ProgressCallback, no_progress

Clock = Callable[[], float]

#: How often a phase reports while its step blocks.
TICK_SECONDS = 0.25
#: Within a phase the bar follows the elapsed share of the expected time up to here, then creeps.
LINEAR_UNTIL = 0.9
#: ... and never shows more than this share of itself before it really ends.
MAX_SHARE = 0.98
#: A phase this far past its estimate says so instead of promising an end.
OVERDUE_FACTOR = 1.25


def eased(x: float) -> float:
    """The share of a phase shown after ``x`` of its expected time: linear, then approaching 1, never there."""
    if x <= LINEAR_UNTIL:
        return max(0.0, x)
    rest = 1 - LINEAR_UNTIL
    return min(MAX_SHARE, 1 - rest * math.exp(-(x - LINEAR_UNTIL) / rest))


def time_left_words(left: float, overdue: bool) -> str:
    """"about 12 s left", "about 3 min left", "almost done"; "taking longer than usual" past the estimate."""
    if overdue:
        return "taking longer than usual"
    if left < 1.5:
        return "almost done"
    if left < 90:
        return f"about {round(left)} s left"
    return f"about {round(left / 60)} min left"


@dataclass(frozen=True)
class Paced:
    """A progress callback that also carries this machine's speed, so a fill can tell its time left."""

    report: ProgressCallback
    seconds_per_mp: float

    def __call__(self, fraction: float, message: str) -> None:
        self.report(fraction, message)


@dataclass(frozen=True)
class _Phase:
    start: float
    end: float
    expected: float
    began: float
    label: str
    after: float  # seconds expected for the work after this phase


class ProgressMeter:
    """Reports a never-falling fraction to ``report``; phases tick on their own thread while they run."""

    def __init__(self, report: ProgressCallback | None = None, clock: Clock = time.monotonic, tick_seconds: float = TICK_SECONDS) -> None:
        self._report = report or no_progress
        self._clock = clock
        self._tick_seconds = tick_seconds
        self._lock = threading.RLock()
        self._fraction = 0.0
        self._phase: _Phase | None = None

    @property
    def fraction(self) -> float:
        return self._fraction

    def report(self, fraction: float, message: str) -> None:
        with self._lock:
            self._fraction = max(self._fraction, min(1.0, float(fraction)))
            self._report(self._fraction, message)

    def scaled(self, start: float, end: float) -> ProgressCallback:
        """A callback whose [0, 1] is this meter's [start, end]: a later step's own progress."""
        return lambda fraction, message: self.report(start + (end - start) * fraction, message)

    @contextmanager
    def phase(self, start: float, end: float, expected_seconds: float, label: str, after_seconds: float = 0.0) -> Iterator[None]:
        """While the body runs the bar moves from ``start`` toward ``end`` with the elapsed share of
        ``expected_seconds``; its message is ``label`` and the time left (``after_seconds`` included)."""
        with self._lock:
            self._phase = _Phase(start, end, max(0.0, expected_seconds), self._clock(), label, max(0.0, after_seconds))
        self.tick()
        stop = threading.Event()
        ticker = None
        if self._tick_seconds > 0:
            ticker = threading.Thread(target=self._ticking, args=(stop,), name="lamapaint-progress", daemon=True)
            ticker.start()
        try:
            yield
        finally:
            stop.set()
            if ticker is not None:
                ticker.join()
            with self._lock:
                self._phase = None

    def tick(self) -> None:
        """Report the running phase's estimate now (the ticker calls this; tests call it with a fake clock)."""
        with self._lock:
            phase = self._phase
            if phase is None:
                return
            elapsed = self._clock() - phase.began
            x = elapsed / phase.expected if phase.expected > 0 else 1.0
            left = max(0.0, phase.expected - elapsed) + phase.after
            overdue = elapsed > OVERDUE_FACTOR * phase.expected + 1.0
            self.report(phase.start + (phase.end - phase.start) * eased(x), f"{phase.label} · {time_left_words(left, overdue)}")

    def _ticking(self, stop: threading.Event) -> None:
        while not stop.wait(self._tick_seconds):
            self.tick()


def region_label(index: int, count: int) -> str:
    """"Removing" for one region, "Region 2 of 3" for several (regions done = index)."""
    return "Removing" if count == 1 else f"Region {index + 1} of {count}"


class RegionProgress:
    """A fill's planned regions as phases of one meter, each as long as its share of the network pixels.

    With a :class:`Paced` callback every region is timed from the pixels and the speed (the speed
    measured on this run's finished regions once there are some); with a plain callback the bar
    moves at region boundaries only.
    """

    def __init__(self, progress: ProgressCallback | None, pixels: list[int], clock: Clock = time.monotonic) -> None:
        self._rate = progress.seconds_per_mp if isinstance(progress, Paced) else None
        self._meter = ProgressMeter(progress, clock, TICK_SECONDS if self._rate is not None else 0.0)
        self._pixels = pixels
        self._total = sum(pixels) or 1
        self._clock = clock
        self._done_pixels = 0
        self._done_seconds = 0.0

    @contextmanager
    def region(self, index: int) -> Iterator[None]:
        pixels = self._pixels[index]
        start = self._done_pixels / self._total
        end = (self._done_pixels + pixels) / self._total
        label = region_label(index, len(self._pixels))
        began = self._clock()
        if self._rate is None:
            self._meter.report(start, label)
            yield
        else:
            rate = self._done_seconds / (self._done_pixels / 1e6) if self._done_pixels and self._done_seconds > 0 else self._rate
            rest = sum(self._pixels[index + 1 :])
            with self._meter.phase(start, end, pixels / 1e6 * rate, label, rest / 1e6 * rate):
                yield
        self._done_pixels += pixels
        self._done_seconds += self._clock() - began

    def finish(self) -> None:
        self._meter.report(1.0, "Done")
