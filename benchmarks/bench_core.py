"""Core document model benchmarks on a large synthetic photo.

Prints a table: time per brush stamp (dirty box only), time to composite a 2048x2048 view tile
with 20 layers, project save/load with 20 layers, snapshot cost, and undo memory per step relative
to the area it changed. Run from the repository root::

    .venv/bin/python benchmarks/bench_core.py            # 50 MP
    .venv/bin/python benchmarks/bench_core.py --quick    # 12 MP, fewer repeats (< 1 minute)
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

from lamapaint.core.document import Document  # noqa: E402
from lamapaint.core.geometry import Rect  # noqa: E402
from lamapaint.core.layers import Layer, LayerStack  # noqa: E402
from lamapaint.io.images import load_image_bytes  # noqa: E402
from lamapaint.io.project import load_project, save_project  # noqa: E402

ROWS: list[tuple[str, str, str]] = []


def row(name: str, value: str, note: str = "") -> None:
    ROWS.append((name, value, note))
    print(f"  {name:<44} {value:>14}  {note}", flush=True)


def timed(fn: Callable[[], object], repeat: int) -> float:
    """Median seconds of ``repeat`` calls."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def synthetic_photo(height: int, width: int, rng: np.random.Generator) -> bytes:
    """A smooth gradient with mild noise, encoded as JPEG (what a camera hands us)."""
    y = np.linspace(0, 255, height, dtype=np.float32)[:, None]
    x = np.linspace(0, 255, width, dtype=np.float32)[None, :]
    rgb = np.empty((height, width, 3), np.uint8)
    rgb[..., 0] = (y * 0.7 + x * 0.3).astype(np.uint8)
    rgb[..., 1] = (x * 0.8).astype(np.uint8)
    rgb[..., 2] = (255 - y * 0.6).astype(np.uint8)
    rgb ^= rng.integers(0, 8, (height, width, 1), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "JPEG", quality=90)
    return buf.getvalue()


def make_layers(doc: Document, count: int, size: int, rng: np.random.Generator, around: Rect) -> list[Layer]:
    """``count`` result-like layers (a round hole; every other one with a 16 px feathered edge)."""
    layers = []
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    dist = np.hypot(yy - size / 2, xx - size / 2)
    radius = size / 2 - 8
    hard = np.where(dist <= radius, 255, 0).astype(np.uint8)
    soft = np.clip((radius + 8 - dist) * (255 / 16), 0, 255).astype(np.uint8)
    for i in range(count):
        x0 = int(np.clip(around.x0 + rng.integers(-size // 2, around.width - size // 2), 0, doc.width - size))
        y0 = int(np.clip(around.y0 + rng.integers(-size // 2, around.height - size // 2), 0, doc.height - size))
        rect = Rect(x0, y0, x0 + size, y0 + size)
        rgb = np.ascontiguousarray(doc.original[rect.slices][::-1] ^ np.uint8(i))
        layers.append(Layer.create(f"Remove object {i + 1}", rect, rgb, soft if i % 2 else hard, hard, {"backend": "bench"}))
    return layers


def bench_strokes(doc: Document, repeat: int) -> None:
    rng = np.random.default_rng(1)
    for radius in (20, 100):
        points = [(float(x), float(y)) for x, y in zip(rng.uniform(1000, 5000, 400), rng.uniform(1000, 3000, 400))]
        # Typical pointer moves: a few pixels to a few radii apart.
        walk = np.cumsum(rng.normal(0, radius * 0.5, (400, 2)), axis=0) + [doc.width / 2, doc.height / 2]
        points = [(float(x), float(y)) for x, y in walk]
        per_stamp = []
        for _ in range(repeat):
            doc.begin_stroke(erase=False, radius=radius)
            start = time.perf_counter()
            for x, y in points:
                doc.stroke_to(x, y)
            per_stamp.append((time.perf_counter() - start) / len(points))
            doc.abort_stroke()
        row(f"brush stamp, radius {radius} px (Document.stroke_to)", f"{statistics.median(per_stamp) * 1e3:.3f} ms", "incl. undo backup")
    doc.begin_stroke(erase=False, radius=20)
    doc.stroke_to(100, 100)
    start = time.perf_counter()
    doc.stroke_to(doc.width - 100, doc.height - 100)
    row("fast stroke across the whole photo, r=20", f"{(time.perf_counter() - start) * 1e3:.1f} ms", "one pointer event")
    doc.abort_stroke()


def bench_undo_memory(doc: Document) -> None:
    cases: list[tuple[str, Callable[[], None]]] = []

    def dab() -> None:
        doc.begin_stroke(False, 20)
        doc.stroke_to(3001, 2001)
        doc.end_stroke()

    def scribble() -> None:
        doc.begin_stroke(False, 30)
        for i in range(60):
            doc.stroke_to(2000 + 15 * i, 1500 + 80 * np.sin(i / 5))
        doc.end_stroke()

    def diagonal() -> None:
        doc.begin_stroke(False, 15)
        doc.stroke_to(50, 50)
        doc.stroke_to(doc.width - 50, doc.height - 50)
        doc.end_stroke()

    def rect() -> None:
        doc.fill_rect(Rect(500, 500, 1500, 1100))

    cases = [("dab r=20", dab), ("scribble r=30, 60 points", scribble), ("diagonal r=15 across the photo", diagonal), ("rectangle 1000x600", rect)]
    for name, fn in cases:
        doc.clear_mask()
        before_mask = doc.mask.copy()
        before = doc.history.nbytes
        fn()
        step = doc.history.nbytes - before
        changed = int(np.count_nonzero(before_mask != doc.mask))
        row(f"undo memory: {name}", f"{step / 1024:.0f} KiB", f"{step / max(changed, 1):.2f} B per changed px ({changed} px)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="12 MP and fewer repeats (under a minute)")
    args = parser.parse_args()
    height, width = (3000, 4000) if args.quick else (6144, 8192)
    repeat = 3 if args.quick else 7
    rng = np.random.default_rng(0)
    print(f"lamapaint core benchmark: {width}x{height} ({width * height / 1e6:.1f} MP), 20 layers")

    start = time.perf_counter()
    source = load_image_bytes(synthetic_photo(height, width, rng), "synthetic.jpg")
    doc = Document(source.rgb, source=source)
    row("decode the synthetic JPEG", f"{time.perf_counter() - start:.2f} s", f"{len(source.source_bytes) / 1e6:.1f} MB file")

    bench_strokes(doc, repeat)

    tile = Rect(width // 2 - 1024, height // 2 - 1024, width // 2 + 1024, height // 2 + 1024)
    for layer in make_layers(doc, 20, 1024, rng, tile):
        doc.add_layer(layer, clear_mask=False)
    covering = sum(1 for layer in doc.layers if layer.rect.intersects(tile))
    t = timed(lambda: doc.composite(tile), repeat)
    row("composite a 2048x2048 tile, 20 layers", f"{t * 1e3:.1f} ms", f"{covering} layers meet the tile, half with 16 px feathered edges")
    t = timed(lambda: LayerStack().composite(doc.original, tile), repeat)
    row("the same tile without layers", f"{t * 1e3:.1f} ms", "baseline: a copy of the original")

    for y in range(4):
        doc.fill_rect(Rect(100, 100 + 300 * y, 2000, 200 + 300 * y))
    doc.snapshot()
    t = timed(doc.snapshot, repeat)
    row("Document.snapshot()", f"{t * 1e3:.1f} ms", "GUI-thread cost of a save/autosave")

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.lamapaint"
        snap = doc.snapshot()
        start = time.perf_counter()
        save_project(path, snap)
        row("save project (20 layers)", f"{time.perf_counter() - start:.2f} s", f"{path.stat().st_size / 1e6:.1f} MB file")
        start = time.perf_counter()
        loaded = load_project(path)
        row("load project (20 layers)", f"{time.perf_counter() - start:.2f} s", "validates hashes, decodes the photo")
        assert np.array_equal(loaded.composite(tile), doc.composite(tile))
        del loaded

    bench_undo_memory(doc)
    print("\n| measurement | value | note |\n|---|---|---|")
    for name, value, note in ROWS:
        print(f"| {name} | {value} | {note} |")


if __name__ == "__main__":
    main()
