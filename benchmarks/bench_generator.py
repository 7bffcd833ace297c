"""Generator speed: fp32 NCHW vs channels_last vs BatchNorm-folded vs half precision (and compiled).

Runs big-lama with deterministic weights on a real photo crop with its hole mask, reports seconds,
GFLOP/s against a plain matmul measured in the same run, output differences against the fp32
reference, model start-up time, and PASS/FAIL against the performance issue's targets:

  4a  the fp32 path (BN folded + channels_last, eager) at >= 85 % of the fp32 matmul GFLOP/s
  4b  the half-precision path at >= 1.8x the fp32 eager (official-style) speed
  4c  half-precision uint8 output within 2 levels of fp32 on >= 99.9 % of hole pixels
  6   load_generator (installed .safetensors) + prepare_generator in <= 0.3 x t512 (t512: fp32 path at 512^2)

Usage: python benchmarks/bench_generator.py [--quick] [--sizes 512,1024] [--device cpu|cuda|mps|auto]
       [--threads N] [--repeats N] [--compile] [--stat median|min]

On a machine shared with other work, ``--stat min`` (the fastest of the timed runs, for the matmul peak
as for the generator) estimates what the hardware does; the median is the default.
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from lamapaint.models.device import (  # noqa: E402
    configure_threads,
    cpu_has_native_bf16,
    select_device,
    select_precision,
)
from lamapaint.inpaint.lama import build_generator  # noqa: E402
from lamapaint.inpaint.optimize import PreparedGenerator, prepare_generator  # noqa: E402
from lamapaint.inpaint.weights import deterministic_state_dict  # noqa: E402

BENCH = Path(__file__).resolve().parent.parent.parent / "shared" / "bench"
GFLOP_512 = 439.8  # big-lama convolutions per 512^2 forward
PHOTO, MASK = "images/kde-kite.jpg", "masks/kde-kite__object.png"
CONTEXT = 1.25  # crop side = this x the hole's bounding box, as a crop-around-the-mask strategy would


@dataclass(frozen=True)
class Variant:
    name: str
    precision: str
    fold: bool
    channels_last: bool
    compile: bool = False
    autocast: bool = False


@dataclass
class Result:
    variant: Variant
    size: int
    seconds: float  # the chosen statistic (--stat) of the timed runs
    median: float
    best: float
    first_call: float
    max_abs: float
    max_levels: int
    within_2: float  # share of hole pixels within 2 uint8 levels of the reference


def main() -> int:
    args = _parse_args()
    device = select_device(args.device)
    threads = configure_threads(args.threads) if device.type == "cpu" else torch.get_num_threads()
    if device.type == "cuda":  # fp32 must mean fp32, for the convolutions and the matmul peak alike
        torch.backends.cudnn.allow_tf32 = False
        torch.backends.cuda.matmul.allow_tf32 = False
    half = select_precision("auto", device) if device.type != "cpu" else "bf16"
    sizes = [512] if args.quick else args.sizes
    repeats = 3 if args.quick else args.repeats
    print(f"device {device} ({_device_name(device)}), threads {threads}, torch {torch.__version__}")
    if device.type == "cpu":
        print(f"CPU native bf16: {cpu_has_native_bf16()}; precision auto -> {select_precision('auto', device)}")

    stat = min if args.stat == "min" else statistics.median
    matmul_times: dict[str, list[float]] = {p: _matmul_times(device, p) for p in ("fp32", half)}
    peaks = {p: _gflops_of_matmul(device, times, stat) for p, times in matmul_times.items()}
    for precision, gflops in peaks.items():
        print(f"matmul peak {precision}: {gflops:.1f} GFLOP/s")

    variants = [
        Variant("fp32 NCHW (official-style)", "fp32", fold=False, channels_last=False),
        Variant("fp32 channels_last", "fp32", fold=False, channels_last=True),
        Variant("fp32 BN-folded + CL  [fp32 path]", "fp32", fold=True, channels_last=True),
        Variant(f"{half} BN-folded + CL  [{half} path]", half, fold=True, channels_last=True),
        Variant(f"{half} autocast, fp32 weights", "fp32", fold=True, channels_last=True, autocast=True),
    ]
    if args.compile:
        variants += [
            Variant("fp32 BN-folded + CL compiled", "fp32", fold=True, channels_last=True, compile=True),
            Variant(f"{half} BN-folded + CL compiled", half, fold=True, channels_last=True, compile=True),
        ]

    results: list[Result] = []
    for size in sizes:
        net_in, hole = _photo_input(size)
        reference: torch.Tensor | None = None
        for variant in variants:
            result, output = _run(variant, net_in, hole, reference, device, half, repeats, stat)
            if reference is None:
                reference = output
            results.append(result)
            print(_row(result, peaks, half), flush=True)
            del output
            gc.collect()

    startup = _startup_seconds(device)
    # The peak is measured before and after the model runs, so that a busy spell on a shared machine
    # at one of the two moments does not decide it alone.
    for precision, times in matmul_times.items():
        times += _matmul_times(device, precision)
        peaks[precision] = _gflops_of_matmul(device, times, stat)
        print(f"matmul peak {precision} (all {len(times)} runs): {peaks[precision]:.1f} GFLOP/s")
    _print_table(results, peaks, half, args.stat)
    return _verdict(results, peaks, half, startup)


def _parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="512^2 only, 1 warm-up + 3 timed runs")
    parser.add_argument("--sizes", type=lambda s: [int(v) for v in s.split(",")], default=[512, 1024])
    parser.add_argument("--device", default="cpu", help="auto | cpu | cuda | cuda:N | mps")
    parser.add_argument("--threads", type=int, default=0, help="CPU threads (0 = cores available)")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per variant (after 1 warm-up)")
    parser.add_argument("--compile", action="store_true", help="also time torch.compile (slow to compile)")
    parser.add_argument("--stat", choices=("median", "min"), default="median", help="statistic of the timed runs")
    return parser.parse_args()


def _photo_input(size: int) -> tuple[torch.Tensor, np.ndarray]:
    """A square crop around a real object mask, scaled to ``size`` and built as the pipeline does."""
    image = Image.open(BENCH / PHOTO).convert("RGB")
    mask = Image.open(BENCH / MASK).convert("L")
    bbox = mask.getbbox()
    if bbox is None:
        raise SystemExit(f"{MASK} has no hole")
    side = min(max(size, int(CONTEXT * max(bbox[2] - bbox[0], bbox[3] - bbox[1]))), *image.size)
    cx, cy = (bbox[0] + bbox[2]) // 2, (bbox[1] + bbox[3]) // 2
    left = min(max(0, cx - side // 2), image.width - side)
    top = min(max(0, cy - side // 2), image.height - side)
    box = (left, top, left + side, top + side)
    rgb = np.asarray(image.crop(box).resize((size, size), Image.Resampling.BOX))
    hole = np.asarray(mask.crop(box).resize((size, size), Image.Resampling.BOX)) > 0
    padded = -(-size // 8) * 8  # multiple of 8, symmetric padding at the bottom/right like the pipeline
    pad = ((0, padded - size), (0, padded - size))
    rgb = np.pad(rgb, (*pad, (0, 0)), mode="symmetric")
    hole_padded = np.pad(hole, pad, mode="symmetric")
    img = torch.from_numpy(np.ascontiguousarray(rgb)).permute(2, 0, 1)[None].float().div_(255)
    hole_t = torch.from_numpy(hole_padded.astype(np.float32))[None, None]
    return torch.cat([img * (1 - hole_t), hole_t], dim=1), hole_padded


def _run(
    variant: Variant,
    net_in: torch.Tensor,
    hole: np.ndarray,
    reference: torch.Tensor | None,
    device: torch.device,
    half: str,
    repeats: int,
    stat: Callable[[list[float]], float],
) -> tuple[Result, torch.Tensor]:
    model = build_generator("big-lama")
    model.load_state_dict(deterministic_state_dict("big-lama"), strict=True)
    prepared = prepare_generator(
        model, device, variant.precision, fold=variant.fold, channels_last=variant.channels_last, compile=variant.compile
    )
    forward = _forward(prepared, device, half if variant.autocast else None)
    times = []
    first = 0.0
    output = torch.empty(0)
    for index in range(1 + repeats):
        started = time.perf_counter()
        output = forward(net_in)
        _sync(device)
        elapsed = time.perf_counter() - started
        if index == 0:
            first = elapsed
        else:
            times.append(elapsed)
    output = output.cpu()
    del prepared, forward
    if reference is None:
        reference = output
    max_abs = (output - reference).abs().max().item()
    levels = np.abs(_to_u8(output).astype(np.int16) - _to_u8(reference).astype(np.int16)).max(axis=2)
    in_hole = levels[hole]
    size = net_in.shape[-1]
    seconds = (stat(times), statistics.median(times), min(times), first)
    result = Result(variant, size, *seconds, max_abs, int(in_hole.max()), float((in_hole <= 2).mean()))
    return result, output


def _forward(
    prepared: PreparedGenerator, device: torch.device, autocast: str | None
) -> Callable[[torch.Tensor], torch.Tensor]:
    dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(autocast or "")

    def run(x: torch.Tensor) -> torch.Tensor:
        with torch.inference_mode(), torch.autocast(device.type, dtype=dtype, enabled=dtype is not None):
            return prepared(x)

    return run


def _to_u8(pred: torch.Tensor) -> np.ndarray:
    """The pipeline's conversion (official predict.py): clip(x * 255).astype(uint8), truncating."""
    return np.clip(pred[0].permute(1, 2, 0).numpy() * 255, 0, 255).astype(np.uint8)


def _matmul_side(device: torch.device) -> int:
    return 4096 if device.type == "cpu" else 8192


def _gflops_of_matmul(device: torch.device, times: list[float], stat: Callable[[list[float]], float]) -> float:
    return 2 * _matmul_side(device) ** 3 / stat(times) / 1e9


def _matmul_times(device: torch.device, precision: str) -> list[float]:
    """Timings of a plain square matmul: its rate is the practical peak the convolutions are compared with."""
    n = _matmul_side(device)
    dtype = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}[precision]
    a = torch.randn(n, n, device=device).to(dtype)
    b = torch.randn(n, n, device=device).to(dtype)
    runs = 5 if device.type == "cpu" else 20
    torch.mm(a, b)
    _sync(device)
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        torch.mm(a, b)
        _sync(device)
        times.append(time.perf_counter() - started)
    return times


def _startup_seconds(device: torch.device) -> tuple[float, str]:
    """Target 6: an installed (converted) .safetensors to a prepared generator, as every start does."""
    from safetensors.torch import save_file

    from lamapaint.inpaint.weights import import_model, load_generator

    with tempfile.TemporaryDirectory() as home:
        os.environ["LAMAPAINT_HOME"] = home  # never touch the user's models folder
        plain = Path(home) / "download.safetensors"
        save_file(deterministic_state_dict("big-lama"), str(plain))
        import_model(plain, name="big-lama")
        started = time.perf_counter()
        model, _info = load_generator()
        loaded_at = time.perf_counter()
        prepare_generator(model, device, "fp32")
        _sync(device)
        done = time.perf_counter()
        return done - started, f"load_generator {loaded_at - started:.3f} s + prepare_generator {done - loaded_at:.3f} s"


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device.type == "mps":
        torch.mps.synchronize()


def _device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    if device.type == "cpu":
        for line in Path("/proc/cpuinfo").read_text().splitlines() if Path("/proc/cpuinfo").exists() else []:
            if line.startswith("model name"):
                return line.partition(":")[2].strip()
    return device.type


def _gflops(result: Result) -> float:
    return GFLOP_512 * (result.size / 512) ** 2 / result.seconds


def _compute_precision(variant: Variant, half: str) -> str:
    return half if variant.autocast else variant.precision


def _row(result: Result, peaks: dict[str, float], half: str) -> str:
    peak = peaks[_compute_precision(result.variant, half)]
    return (
        f"| {result.variant.name:<34} | {result.size:>5} | {result.median:7.3f} | {result.best:7.3f} | {result.first_call:7.2f} "
        f"| {_gflops(result):7.1f} | {100 * _gflops(result) / peak:5.1f} % | {result.max_abs:.2e} "
        f"| {result.max_levels:>3} | {100 * result.within_2:7.3f} % |"
    )


def _print_table(results: list[Result], peaks: dict[str, float], half: str, stat_name: str) -> None:
    print()
    print(
        f"| {'variant':<34} | {'size':>5} | {'s (med)':>7} | {'s (min)':>7} | {'1st s':>7} | {'GFLOP/s':>7} | {'% peak':>7} "
        f"| {'max abs':>8} | {'lvl':>3} | {'hole<=2lv':>9} |"
    )
    print(f"|{'-' * 36}|{'-' * 7}|{'-' * 9}|{'-' * 9}|{'-' * 9}|{'-' * 9}|{'-' * 9}|{'-' * 10}|{'-' * 5}|{'-' * 11}|")
    for result in results:
        print(_row(result, peaks, half))
    print(f"(GFLOP/s and % peak from the {stat_name}, against the matmul peak of the variant's compute precision;")
    print(" differences are against fp32 NCHW at the same size;")
    print(" lvl: largest uint8 difference in the hole; 1st s: first call, includes compilation where compiled)")


def _verdict(results: list[Result], peaks: dict[str, float], half: str, startup: tuple[float, str]) -> int:
    print()
    failed = False

    def report(name: str, ok: bool, detail: str) -> None:
        nonlocal failed
        failed |= not ok
        print(f"{'PASS' if ok else 'FAIL'}  {name}: {detail}")

    by_key = {(r.variant.name, r.size): r for r in results}
    eager_name = next(r.variant.name for r in results if "official-style" in r.variant.name)
    fp32_name = next(r.variant.name for r in results if "[fp32 path]" in r.variant.name)
    half_name = next(r.variant.name for r in results if f"[{half} path]" in r.variant.name)
    t512 = by_key[(fp32_name, 512)].seconds if (fp32_name, 512) in by_key else None
    for size in sorted({r.size for r in results}):
        fp32, low = by_key[(fp32_name, size)], by_key[(half_name, size)]
        share = _gflops(fp32) / peaks["fp32"]
        report(f"4a fp32 path {size}^2", share >= 0.85, f"{100 * share:.1f} % of fp32 matmul (target >= 85 %)")
        eager = by_key[(eager_name, size)]
        speedup = eager.seconds / low.seconds
        report(
            f"4b {half} path {size}^2",
            speedup >= 1.8,
            f"{speedup:.2f}x the fp32 eager speed (target >= 1.8x); {fp32.seconds / low.seconds:.2f}x the folded fp32 path",
        )
        report(
            f"4c {half} error {size}^2",
            low.within_2 >= 0.999,
            f"{100 * low.within_2:.3f} % of hole pixels within 2 levels, max {low.max_levels} (target >= 99.9 %)",
        )
    if t512 is None:
        print("n/a   6 start-up: needs a 512^2 run")
    else:
        seconds, how = startup
        detail = f"{seconds:.3f} s = {seconds / t512:.2f} x t512 ({how}; target <= 0.3)"
        report("6 start-up", seconds <= 0.3 * t512, detail)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
