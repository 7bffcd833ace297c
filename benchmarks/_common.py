"""Helpers shared by the removal and engine benchmarks: corpus, weights file, child processes, t512.

Each measured run is a fresh child process; its peak RSS comes from ``os.wait4`` (the resource
usage of that one child, not the sum over all children that RUSAGE_CHILDREN would give).
"""

from __future__ import annotations

import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BENCH = REPO.parent / "shared" / "bench"
GFLOP_512 = 439.8  # big-lama convolutions per 512^2 forward (reference README)
_CLI_LINE = re.compile(
    r"strategy (?P<strategy>\S+) \(scale (?P<scale>[\d.]+), (?P<regions>\d+) region\(s\), (?P<pixels>\d+) network px\)"
)


@dataclass(frozen=True)
class Case:
    photo: Path
    mask: Path
    kind: str
    hole_fraction: float
    width: int
    height: int

    @property
    def name(self) -> str:
        return self.photo.stem

    @property
    def megapixels(self) -> float:
        return self.width * self.height / 1e6


@dataclass(frozen=True)
class ChildResult:
    returncode: int
    wall_s: float
    peak_rss_mib: float
    stderr: str

    def cli_stats(self) -> tuple[str, int]:
        """(strategy chosen, network pixels) from ``lamapaint-cli remove``'s one-line summary."""
        m = _CLI_LINE.search(self.stderr)
        return (m["strategy"], int(m["pixels"])) if m else ("?", 0)


def cases(kinds: tuple[str, ...], hd: bool | None = None) -> list[Case]:
    """The corpus' (photo, mask) pairs of the given kinds, smallest photo first."""
    manifest = json.loads((BENCH / "manifest.json").read_text())
    images = {i["file"]: i for i in manifest["images"]}
    found = [
        Case(BENCH / m["image"], BENCH / m["file"], m["kind"], m["hole_fraction"], m["width"], m["height"])
        for m in manifest["masks"]
        if m["kind"] in kinds and (hd is None or images[m["image"]]["hd"] == hd)
    ]
    return sorted(found, key=lambda c: (c.width * c.height, c.name, kinds.index(c.kind)))


def prepare(folder: Path, threads: int = 0) -> tuple[Path, float]:
    """Write the weights file and measure t512 in a helper process, so this process never imports torch.

    On Linux a child's ``ru_maxrss`` starts from its parent's resident size at fork (the high-water
    mark survives exec), so a parent holding a model would inflate every child's peak RSS.
    Sets ``LAMAPAINT_HOME`` under ``folder`` for this process and its children: the model is
    installed there, never in the user's own models folder.
    """
    os.environ["LAMAPAINT_HOME"] = str(folder / "home")
    env = {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    code = (
        "import sys; from pathlib import Path; from benchmarks._common import write_weights, measure_t512; "
        "print(write_weights(Path(sys.argv[1]))); print(measure_t512(int(sys.argv[2])))"
    )
    done = subprocess.run([sys.executable, "-c", code, str(folder), str(threads)], env=env, cwd=REPO,
                          capture_output=True, text=True, check=True)
    path, t512 = done.stdout.split()
    return Path(path), float(t512)


def measure_t512_child(threads: int = 0, repeats: int = 2, fastest: bool = False) -> float:
    """t512 measured again in a fresh helper process (this process never imports torch)."""
    env = {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    code = "import sys; from benchmarks._common import measure_t512; print(measure_t512(*map(int, sys.argv[1:])))"
    argv = [sys.executable, "-c", code, str(threads), str(repeats), str(int(fastest))]
    done = subprocess.run(argv, env=env, cwd=REPO, capture_output=True, text=True, check=True)
    return float(done.stdout)


def write_weights(folder: Path, config: str = "big-lama") -> Path:
    """big-lama's deterministic weights, installed as a user's model is (speed does not depend on the values).

    The file goes through ``import_model`` into the models folder of ``LAMAPAINT_HOME``, so the
    removal runs load it the way `lamapaint-cli remove` does with its defaults after a download.
    """
    import torch
    from safetensors.torch import save_file

    from lamapaint.inpaint.weights import deterministic_state_dict, import_model

    path = folder / f"{config}.safetensors"
    with torch.no_grad():
        save_file(deterministic_state_dict(config), str(path))
    installed = import_model(path, name=config)
    path.unlink()
    return installed


def run_child(argv: list[str], timeout_s: float = 1800) -> ChildResult:
    """Run ``argv`` with the repository importable; wall time and that child's own peak RSS."""
    env = {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    with tempfile.TemporaryFile("w+") as err:
        started = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=err, env=env, cwd=REPO, text=True)
        timer = threading.Timer(timeout_s, proc.kill)
        timer.start()
        try:
            _pid, status, usage = os.wait4(proc.pid, 0)
        finally:
            timer.cancel()
        wall = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        err.seek(0)
        text = err.read()
    # ru_maxrss is KiB on Linux, bytes on macOS.
    rss_mib = usage.ru_maxrss / (1024 * 1024 if sys.platform == "darwin" else 1024)
    return ChildResult(proc.returncode, wall, rss_mib, text)


def measure_t512(threads: int = 0, repeats: int = 2, fastest: bool = False) -> float:
    """Our generator's fp32 512^2 forward (BN folded, channels_last), median (or the fastest) of
    ``repeats`` after a warm-up: a benchmark that reports its own runs' fastest divides by t512's."""
    import torch

    from lamapaint.models.device import configure_threads
    from lamapaint.inpaint.lama import build_generator
    from lamapaint.inpaint.optimize import prepare_generator
    from lamapaint.inpaint.weights import deterministic_state_dict

    configure_threads(threads)
    gen = build_generator("big-lama")
    gen.load_state_dict(deterministic_state_dict("big-lama"))
    with torch.inference_mode():
        prepared = prepare_generator(gen, torch.device("cpu"), "fp32")
        x = torch.rand(1, 4, 512, 512)
        prepared(x)
        times = []
        for _ in range(repeats):
            t = time.perf_counter()
            prepared(x)
            times.append(time.perf_counter() - t)
    return min(times) if fastest else statistics.median(times)


def table(rows: list[list[str]], header: list[str]) -> str:
    """A Markdown table, columns padded so it also reads well in a terminal."""
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows)]
    fmt = lambda cells: "| " + " | ".join(str(c).ljust(w) for c, w in zip(cells, widths)) + " |"  # noqa: E731
    return "\n".join([fmt(header), "|" + "|".join("-" * (w + 2) for w in widths) + "|", *map(fmt, rows)])
