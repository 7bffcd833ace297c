"""The inference engine per strategy: wall time, peak RSS and network pixels for full/crop/resize/auto
and the OpenCV fallback, each a fresh ``lamapaint-cli remove`` process with big-lama deterministic
weights (saved once to a .safetensors file).

Reports the ratio auto / full on photos where full fits (<= 4 MP), and the generator's GFLOP/s at
512^2 (big-lama = 439.8 GFLOP per fp32 512^2 forward, convolutions only).

Usage: python benchmarks/bench_engine.py [--quick | --all] [--precision auto|fp32|bf16] [--threads N]
``--quick`` (default, ~10 min on 2 cores): two small photos x object/thick with every strategy, and
one 6 MP photo's object mask without ``full``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._common import GFLOP_512, Case, ChildResult, cases, prepare, run_child, table  # noqa: E402

STRATEGIES = ("full", "crop", "resize", "auto")
FULL_MAX_MP = 4.0
QUICK = {("skimage-coffee", "object"), ("skimage-coffee", "thick"), ("sklearn-china", "object"),
         ("sklearn-china", "thick"), ("lomiri-free", "object")}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--quick", action="store_true", help="the small default set")
    group.add_argument("--all", action="store_true", help="every photo x object/thick/small_object")
    parser.add_argument("--precision", default="auto")
    parser.add_argument("--threads", type=int, default=0)
    args = parser.parse_args()

    selected = [c for c in cases(("object", "thick", "small_object")) if args.all or (c.name, c.kind) in QUICK]
    results: list[tuple[Case, str, ChildResult]] = []
    with tempfile.TemporaryDirectory(prefix="lamapaint-engine-") as tmp:
        weights, t512 = prepare(Path(tmp), args.threads)
        print(f"t512 = {t512:.2f} s; {len(selected)} cases", file=sys.stderr)
        for case in selected:
            runs = [s for s in STRATEGIES if s != "full" or case.megapixels <= FULL_MAX_MP] + ["opencv-telea"]
            for run in runs:
                model = ["--model", "opencv-telea"] if run.startswith("opencv") else ["--weights", str(weights), "--strategy", run]
                argv = [sys.executable, "-m", "lamapaint.cli", "remove", str(case.photo), "--mask", str(case.mask),
                        "-o", str(Path(tmp) / f"{case.name}.{run}{case.photo.suffix}"), "--overwrite",
                        "--precision", args.precision, "--threads", str(args.threads), *model]
                res = run_child(argv)
                print(f"{case.name} {case.kind} {run}: rc {res.returncode}, {res.wall_s:.1f} s, {res.peak_rss_mib:.0f} MiB", file=sys.stderr)
                if res.returncode != 0:
                    print(res.stderr[-2000:], file=sys.stderr)
                results.append((case, run, res))
    print(report(results, t512, args.precision))
    return 0


def report(results: list[tuple[Case, str, ChildResult]], t512: float, precision: str) -> str:
    full = {(c.name, c.kind): r.wall_s for c, m, r in results if m == "full" and r.returncode == 0}
    rows = []
    for case, run, res in results:
        strategy, pixels = res.cli_stats()
        f = full.get((case.name, case.kind))
        rows.append([
            case.name, f"{case.megapixels:.1f}", case.kind, f"{100 * case.hole_fraction:.1f}", run,
            strategy if res.returncode == 0 else f"rc {res.returncode}", f"{res.wall_s:.1f}",
            f"{res.peak_rss_mib:.0f}", f"{pixels / 1e6:.2f}", f"{res.wall_s / f:.2f}" if f and run == "auto" else "",
        ])
    return "\n".join([
        f"big-lama, precision {precision}; t512 (fp32) = {t512:.2f} s = {GFLOP_512 / t512:.0f} GFLOP/s at 512^2",
        "",
        table(rows, ["photo", "MP", "mask", "hole %", "run", "strategy", "wall s", "peak RSS MiB", "network MP", "auto / full"]),
    ])


if __name__ == "__main__":
    sys.exit(main())
