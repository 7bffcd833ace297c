"""Segment Anything speed on this machine: embedding, a click -> masks, peak memory, ratios to t512.

Measured with the deterministic weights (speed does not depend on the values) on a 12-24 MP photo
of ../shared/bench. t512 (our big-lama generator's fp32 512^2 forward) is measured in a helper
process in the same run, so this process' peak RSS is SAM's alone. Goals (selection issue, §5):

  embedding  vit_t <= 0.3 x t512 at ``auto``; vit_b <= 1.5 x t512
  click      one click -> the three masks at full size <= 0.03 x t512

A click is timed three ways: ``full, seeded busy masks`` (Predictor.predict: decoder + three
full-size masks, as the seeded weights answer), ``preview`` (``return_full=False``: masks at the
photo's size scaled to 1024, what a GUI draws), and
``full, object-like`` (the same call, with the decoder's logits swapped for three nested blobs: the
seeded weights give busy masks with edges everywhere, which take the slower plain-upsampling path;
real masks, one object each, take the edges-only one). The goal is judged on the object-like row.
Also printed: how many pixels of the three masks ``auto`` and ``fp32`` agree on for the same click.

Usage: python benchmarks/bench_select.py [--quick] [--vit-b] [--photo PATH] [--threads N] [--repeats N]
``--quick``: one timed run of each after a warm-up (about a minute on 2 shared cores).
On a machine shared with other work the fastest run (--stat min, the default) is the best estimate.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._common import BENCH, measure_t512_child, table  # noqa: E402

if TYPE_CHECKING:
    import torch

    from lamapaint.select.sam.model import Sam

DEFAULT_PHOTO = BENCH / "images" / "lomiri-seeding.jpg"  # 5312x2988, 15.9 MP


def main() -> int:
    args = _parse_args()
    import torch

    from lamapaint.models.device import configure_threads, cpu_has_native_bf16, select_precision
    from lamapaint.select.sam import Predictor, build_model, deterministic_state_dict

    threads = configure_threads(args.threads)
    repeats = 1 if args.quick else args.repeats
    stat = min if args.stat == "min" else statistics.median
    photo = np.asarray(Image.open(args.photo).convert("RGB"))
    height, width = photo.shape[:2]
    auto = select_precision("auto", torch.device("cpu"))
    print(f"torch {torch.__version__}, threads {threads}, CPU native bf16 {cpu_has_native_bf16()}, auto -> {auto}")
    print(f"photo {args.photo.name} {width}x{height} ({width * height / 1e6:.1f} MP), {repeats} timed run(s) after a warm-up, stat {args.stat}")
    t512 = measure_t512_child(args.threads, max(repeats, 2), fastest=args.stat == "min")  # the same statistic as the rows
    print(f"t512 {t512:.3f} s")

    def timed(fn: Callable[[], object]) -> float:
        fn()
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            fn()
            times.append(time.perf_counter() - start)
        return stat(times)

    rows: list[list[str]] = []

    def row(what: str, seconds: float, goal: float | None = None) -> None:
        ratio = seconds / t512
        verdict = "" if goal is None else ("PASS" if ratio <= goal else "FAIL") + f" (<= {goal})"
        rows.append([what, f"{seconds:.3f}", f"{ratio:.3f}", verdict])
        print(f"  {what}: {seconds:.3f} s = {ratio:.3f} x t512 {verdict}", flush=True)

    click = {"points": np.array([[width / 2, height / 2]]), "labels": np.array([1]), "multimask": True}
    names = ["vit_t", "vit_b"] if args.vit_b else ["vit_t"]
    for name in names:
        model = build_model(name)
        model.load_state_dict(deterministic_state_dict(name))
        answers = {}
        for precision in dict.fromkeys(["fp32", auto]):
            predictor = Predictor(model, precision=precision)
            goal = {"vit_t": 0.3, "vit_b": 1.5}[name] if precision == auto else None
            row(f"{name} embedding {precision}", timed(lambda p=predictor: p.set_image(photo)), goal)
            answers[precision] = predictor.predict(**click)[0]
        agree = (answers["fp32"] == answers[auto]).mean()
        print(f"  {name} click masks {auto} vs fp32: {agree * 100:.3f} % of pixels agree")
        if name == "vit_t":
            row("click -> 3 masks, full, seeded busy masks", timed(lambda p=predictor: p.predict(**click)))
            row("click -> 3 masks, preview", timed(lambda p=predictor: p.predict(**click, return_full=False)))
            with _object_like_logits(model, height, width):
                row("click -> 3 masks, full, object-like", timed(lambda p=predictor: p.predict(**click)), 0.03)
        del model, predictor
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / (1024 * 1024 if sys.platform == "darwin" else 1024)
    print()
    print(table(rows, ["what", "seconds", "x t512", "goal"]))
    t512_end = measure_t512_child(args.threads, max(repeats, 2), fastest=args.stat == "min")
    print(f"\nt512 {t512:.3f} s (again at the end: {t512_end:.3f} s, {100 * (t512_end / t512 - 1):+.1f} %, how much the machine drifted)")
    print(f"peak RSS of this process (SAM only; t512 ran in a helper): {peak:.0f} MiB")
    return 0


@contextmanager
def _object_like_logits(model: Sam, height: int, width: int) -> Iterator[None]:
    """The decoder runs as usual, then its logits are swapped for object-like ones (one blob each,
    the three candidates nested, as a real model gives for a click), so the full-size step takes the
    path real masks take; the seeded weights' own masks are busy, with edges everywhere."""
    import torch

    yy, xx = torch.meshgrid(torch.linspace(-1, 1, 256), torch.linspace(-1, 1, 256), indexing="ij")
    wobble = 0.08 * torch.sin(7 * torch.atan2(yy, xx))
    radius = torch.sqrt(xx**2 + yy**2) + wobble
    logits = torch.stack([(r - radius) * 40 for r in (0.6, 0.4, 0.2)])[None]
    decode = model.decode

    def decode_object_like(*args: object, **kwargs: object) -> tuple[torch.Tensor, torch.Tensor]:
        low_res, iou = decode(*args, **kwargs)
        return logits[:, : low_res.shape[1]].clone(), iou

    model.decode = decode_object_like  # type: ignore[method-assign]
    try:
        yield
    finally:
        del model.decode


def _parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one timed run of each after a warm-up")
    parser.add_argument("--vit-b", action="store_true", help="also SAM ViT-B (about 4x the time of vit_t)")
    parser.add_argument("--photo", type=Path, default=DEFAULT_PHOTO, help="a 12-24 MP photo (default: lomiri-seeding.jpg)")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: the cores available)")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs of each after a warm-up")
    parser.add_argument("--stat", choices=("min", "median"), default="min", help="statistic over the timed runs")
    return parser.parse_args()


if __name__ == "__main__":
    raise SystemExit(main())
