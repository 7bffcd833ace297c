"""Progress a person can trust: a rising bar with regions and time left, a load phase, the whole time
reported, and speed estimates that learn from each run."""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path

import numpy as np
import pytest

from lamapaint.core.geometry import Rect
from lamapaint.inpaint.hole import HoleMask
from lamapaint.inpaint.pipeline import array_source, fill_hole
from lamapaint.inpaint.progress import Paced, ProgressMeter, eased, time_left_words
from lamapaint.inpaint.regions import plan_regions
from lamapaint.inpaint.speed import DEFAULT_LOAD_SECONDS, DEFAULT_SECONDS_PER_MP, MAX_STEP, SpeedBook, speed_file
from lamapaint.inpaint.timing import LOADING_LABEL, planned_network_pixels, timed_fill
from lamapaint.inpaint.types import InpaintOptions, RegionInfo, RunInfo, run_details, run_summary
from lamapaint.jobs import CancelToken


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _three_holes() -> tuple[np.ndarray, HoleMask]:
    rng = np.random.default_rng(1)
    photo = rng.integers(0, 255, (240, 960, 3), dtype=np.uint8)
    mask = np.zeros((240, 960), np.uint8)  # three holes far apart: three crops, 2^16 network pixels or more in all
    mask[40:140, 40:140] = 255
    mask[100:200, 420:520] = 255
    mask[60:160, 800:900] = 255
    return photo, HoleMask.from_mask(mask)


def _rising(seen: list[tuple[float, str]]) -> bool:
    fractions = [f for f, _ in seen]
    return all(0.0 <= a <= b <= 1.0 for a, b in zip(fractions, fractions[1:]))


def test_the_eased_share_rises_and_never_reaches_the_end_early() -> None:
    xs = np.linspace(0, 20, 400)
    ys = [eased(x) for x in xs]
    assert all(a <= b for a, b in zip(ys, ys[1:]))
    assert eased(0.5) == 0.5 and eased(2.0) < 1.0
    assert time_left_words(12.4, False) == "about 12 s left" and time_left_words(300, False) == "about 5 min left"
    assert time_left_words(0.3, False) == "almost done" and "longer" in time_left_words(1, True)


def test_a_phase_moves_with_time_and_the_meter_never_falls() -> None:
    clock, seen = FakeClock(), []
    meter = ProgressMeter(lambda f, m: seen.append((f, m)), clock, tick_seconds=0)
    with meter.phase(0.2, 0.6, expected_seconds=10, label="Loading", after_seconds=30):
        clock.now += 5
        meter.tick()
        assert seen[-1] == (pytest.approx(0.4), "Loading · about 35 s left")
        clock.now += 100  # far past the estimate: creeps toward the end, says so
        meter.tick()
        assert 0.58 < seen[-1][0] < 0.6 and "longer" in seen[-1][1]
    meter.report(0.1, "late, lower report")
    assert seen[-1][0] == seen[-2][0] and _rising(seen)


def test_regions_report_counts_and_time_left_from_measured_speed() -> None:
    photo, hole = _three_holes()
    plan = plan_regions(hole, "crop")
    assert len(plan) == 3
    seen: list[tuple[float, str]] = []
    fill_hole(lambda img, h: img.copy(), array_source(photo), hole, plan, Paced(lambda f, m: seen.append((f, m)), 10.0))
    messages = [m for _f, m in seen]
    for i in (1, 2, 3):
        assert any(m.startswith(f"Region {i} of 3 · ") for m in messages)
    first = plan[0].network_pixels / 1e6 * 10 + sum(r.network_pixels for r in plan[1:]) / 1e6 * 10
    assert messages[0] == f"Region 1 of 3 · {time_left_words(first, False)}"
    assert seen[-1] == (1.0, "Done") and _rising(seen)


def test_timed_fill_with_a_real_generator_shows_a_load_phase_and_rising_regions(tmp_path: Path) -> None:
    """Deterministic lama-fourier weights, loaded and run for real: load phase, then 3 regions."""
    from safetensors.torch import save_file

    from lamapaint.inpaint.backends import create_backend
    from lamapaint.inpaint.weights import deterministic_state_dict

    weights = tmp_path / "lama-fourier.safetensors"
    save_file(deterministic_state_dict("lama-fourier"), str(weights))
    options = InpaintOptions(model="lama-fourier", weights=weights, strategy="crop", device="cpu", precision="fp32")
    photo, hole = _three_holes()
    seen: list[tuple[float, str]] = []
    speeds = SpeedBook(tmp_path / "speed.json")
    before = time.monotonic()
    patch, run = timed_fill(create_backend, True, array_source(photo), hole, options, lambda f, m: seen.append((f, m)), CancelToken(), speeds)
    waited = time.monotonic() - before
    assert patch.shape == (hole.box.height, hole.box.width, 3)
    assert _rising(seen) and seen[-1] == (1.0, "Done")
    messages = [m for _f, m in seen]
    assert messages[0].startswith(LOADING_LABEL)
    loading = [f for f, m in seen if m.startswith(LOADING_LABEL)]
    assert max(loading) < 1.0
    assert [i for i in (1, 2, 3) if any(m.startswith(f"Region {i} of 3") for m in messages)] == [1, 2, 3]
    # the whole time: load and fill inside it, and inside what the caller measured
    assert run.load_seconds > 0 and run.seconds > 0
    assert run.load_seconds + run.seconds <= run.total_seconds <= waited
    assert run.whole_seconds == run.total_seconds
    # the run taught the book this machine's speed
    load, rate = speeds.expected(options)
    measured = sum(r.seconds for r in run.regions) / (run.network_pixels / 1e6)
    default = DEFAULT_SECONDS_PER_MP["cpu"]
    assert load == pytest.approx(min(max(run.load_seconds, DEFAULT_LOAD_SECONDS / MAX_STEP), DEFAULT_LOAD_SECONDS * MAX_STEP))
    assert rate == pytest.approx(min(max(measured, default / MAX_STEP), default * MAX_STEP))
    assert json.loads((tmp_path / "speed.json").read_text())["version"] == 1


class _ClockedBackend:
    """Takes ``fill_seconds`` of fake time to fill; records the pace it was handed."""

    name, device, precision, fallback_reason = "big-lama", "cpu", "fp32", None

    def __init__(self, clock: FakeClock, fill_seconds: float) -> None:
        self.clock, self.fill_seconds = clock, fill_seconds
        self.paces: list[float] = []

    def fill_hole(self, source, hole, options, progress=None, cancel=None):  # noqa: ANN001, ANN201
        assert isinstance(progress, Paced)
        self.paces.append(progress.seconds_per_mp)
        progress(0.5, "half")
        self.clock.now += self.fill_seconds
        region = RegionInfo(hole.box, hole.box, "crop", 1.0, (1000, 1000), 1_000_000, self.fill_seconds)
        return source(hole.box).copy(), RunInfo("lama", "big-lama", "cpu", "fp32", "auto", "crop", 1.0, 0, 1_000_000, self.fill_seconds, (region,))


def test_the_reported_time_includes_the_load_with_a_fake_clock(tmp_path: Path) -> None:
    clock = FakeClock()
    backend = _ClockedBackend(clock, fill_seconds=3.0)

    def load(_options: InpaintOptions) -> _ClockedBackend:
        clock.now += 21.0
        return backend

    photo, hole = _three_holes()
    speeds = SpeedBook(tmp_path / "speed.json")
    options = InpaintOptions()
    seen: list[tuple[float, str]] = []
    _patch, run = timed_fill(load, True, array_source(photo), hole, options, lambda f, m: seen.append((f, m)), CancelToken(), speeds, clock)
    assert run.load_seconds == 21.0 and run.total_seconds == 24.0 and run.seconds == 3.0
    assert run_summary(run) == "Removed in 24.0 s with LaMa (loading the model took 21.0 s)"
    assert "24.00 s in all (model load 21.00 s, fill 3.00 s)" in run_details(run)
    assert seen[0][1].startswith(LOADING_LABEL) and _rising(seen)
    # the load had its expected share of the bar (default figures), the fill the rest
    load_share = DEFAULT_LOAD_SECONDS / (DEFAULT_LOAD_SECONDS + planned_network_pixels(hole, options) / 1e6 * DEFAULT_SECONDS_PER_MP["cpu"])
    assert [f for f, m in seen if m == "half"] == [pytest.approx(load_share + (1 - load_share) / 2)]
    # the next run is loaded already: no load phase, no load time, and the measured pace (3 s/MP)
    _patch, again = timed_fill(lambda _o: backend, False, array_source(photo), hole, options, lambda f, m: seen.append((f, m)), CancelToken(), speeds, clock)
    assert again.load_seconds == 0.0 and again.total_seconds == 3.0 and backend.paces[-1] == 3.0
    assert run_summary(again) == "Removed in 3.0 s with LaMa"


def test_the_speed_book_survives_a_restart_and_ignores_a_broken_file(tmp_path: Path) -> None:
    path = speed_file()
    book = SpeedBook.load()
    assert book.seconds_per_mp("big-lama", "cpu", "fp32") > book.seconds_per_mp("big-lama", "cpu", "bf16") > book.seconds_per_mp("big-lama", "cuda:0", "fp16")
    region = RegionInfo(Rect(0, 0, 1000, 500), Rect(0, 0, 10, 10), "crop", 1.0, (1000, 500), 500_000, 2.0)
    run = RunInfo("lama", "big-lama", "cpu", "fp32", "auto", "crop", 1.0, 0, 500_000, 2.0, (region,), load_seconds=6.0)
    book.record(InpaintOptions(), run)
    again = SpeedBook.load(path)
    assert again.seconds_per_mp("big-lama", "cpu", "fp32") == 4.0
    assert again.expected(InpaintOptions()) == (6.0, 4.0)
    slower = dataclasses.replace(region, seconds=4.0)
    again.record(InpaintOptions(), RunInfo("lama", "big-lama", "cpu", "fp32", "auto", "crop", 1.0, 0, 500_000, 4.0, (slower,), load_seconds=2.0))
    assert again.seconds_per_mp("big-lama", "cpu", "fp32") == pytest.approx(6.0)  # a running estimate, not the last run
    assert again.expected(InpaintOptions()) == (pytest.approx(4.0), pytest.approx(6.0))
    path.write_text("{not json", encoding="utf-8")
    assert SpeedBook.load(path).expected(InpaintOptions()) == (DEFAULT_LOAD_SECONDS, 12.0)


def test_a_project_keeps_the_load_and_whole_time_and_reads_older_records() -> None:
    region = RegionInfo(Rect(0, 0, 64, 64), Rect(8, 8, 20, 20), "crop", 1.0, (64, 64), 4096, 1.5)
    run = RunInfo("lama", "big-lama", "cpu", "fp32", "auto", "crop", 1.0, 0, 4096, 1.5, (region,), load_seconds=20.0, total_seconds=21.8)
    info = json.loads(json.dumps(run.to_layer_info()))  # as a project file keeps it
    assert RunInfo.from_dict(info) == run and run.whole_seconds == 21.8
    older = {k: v for k, v in info["run"].items() if k not in ("load_seconds", "total_seconds")}
    old = RunInfo.from_dict(older)  # a record written before load and whole times existed
    assert old is not None and old.load_seconds == 0.0 and old.whole_seconds == 1.5
    assert run_summary(old) == "Removed in 1.5 s with LaMa"


def test_one_run_on_a_busy_machine_cannot_throw_the_estimate_far(tmp_path: Path) -> None:
    """Measured under Xvfb on a shared 2-core machine: one first run took 240 s/MP against ~7 s/MP later."""
    book = SpeedBook(tmp_path / "speed.json")
    region = RegionInfo(Rect(0, 0, 1000, 500), Rect(0, 0, 10, 10), "crop", 1.0, (1000, 500), 500_000, 120.0)
    book.record(InpaintOptions(), RunInfo("lama", "big-lama", "cpu", "fp32", "auto", "crop", 1.0, 0, 500_000, 120.0, (region,), load_seconds=600.0))
    assert book.seconds_per_mp("big-lama", "cpu", "fp32") == DEFAULT_SECONDS_PER_MP["cpu"] * MAX_STEP
    assert book.expected(InpaintOptions())[0] == DEFAULT_LOAD_SECONDS * MAX_STEP
