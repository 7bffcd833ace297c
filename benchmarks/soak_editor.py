"""Soak the editor's core: 300 random edits and 30 OpenCV removals on a 24 MP document.

The edits are what a person does in the window, at the Document level (no window needed): brush
and eraser strokes, lasso and rectangle fills, layer hide/show, rename and delete, undo and redo.
Each removal is what the editor's RemovalController does: clear the mask, paint a blob, inpaint
the context crop around it with the real OpenCV backend and add the patch as a layer.

Checked and printed:
  * peak RSS against ``baseline + history budget + fixed overhead`` (the bound; the ratio is
    printed and must stay <= 1), next to the history's own peak byte count and the live layers'
    bytes. The overhead allows a few transient full-size planes (composites, the backend's
    working copies): FIXED_OVERHEAD_PLANES x the photo's RGB size.
  * undo-all gives back the start bit for bit (composite and mask), and redo-all the end.

Usage: python benchmarks/soak_editor.py [--edits 300] [--removals 30] [--size 6000x4000]
       [--seed 12] [--budget-mib 1024]
"""

from __future__ import annotations

import argparse
import random
import resource
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from lamapaint.core.document import Document  # noqa: E402
from lamapaint.core.geometry import Rect  # noqa: E402
from lamapaint.core.history import DEFAULT_BUDGET  # noqa: E402
from lamapaint.core.layers import Layer  # noqa: E402
from lamapaint.inpaint.backends import OpenCVBackend  # noqa: E402
from lamapaint.inpaint.hole import HoleMask  # noqa: E402
from lamapaint.inpaint.types import InpaintOptions  # noqa: E402

FIXED_OVERHEAD_PLANES = 6
MIB = 1 << 20


def rss_bytes() -> int:
    with open("/proc/self/statm", encoding="ascii") as fh:
        return int(fh.read().split()[1]) * resource.getpagesize()


def peak_rss_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux


def photo(width: int, height: int, seed: int) -> np.ndarray:
    """A smooth gradient with fine noise and some structure: fills have something to do."""
    rng = np.random.default_rng(seed)
    x = np.linspace(0, 255, width, dtype=np.float32)
    y = np.linspace(0, 255, height, dtype=np.float32)[:, None]
    rgb = np.empty((height, width, 3), np.uint8)
    rgb[..., 0] = (x + 0 * y).astype(np.uint8)
    rgb[..., 1] = (y + 0 * x).astype(np.uint8)
    rgb[..., 2] = ((x[None, :] * 0.5 + y * 0.5 + 40 * np.sin(x[None, :] / 37.0)) % 256).astype(np.uint8)
    rgb ^= rng.integers(0, 8, rgb.shape, dtype=np.uint8)
    return rgb


class Soak:
    def __init__(self, doc: Document, rng: random.Random) -> None:
        self.doc = doc
        self.rng = rng
        self.counts: dict[str, int] = {}
        self.history_peak = 0
        self.removal_seconds: list[float] = []
        self.backend = OpenCVBackend("opencv-telea")

    def _count(self, what: str) -> None:
        self.counts[what] = self.counts.get(what, 0) + 1
        self.history_peak = max(self.history_peak, self.doc.history.nbytes)

    def _point(self, margin: int = 0) -> tuple[float, float]:
        return (self.rng.uniform(margin, self.doc.width - margin), self.rng.uniform(margin, self.doc.height - margin))

    def stroke(self, x: float, y: float, radius: float, steps: int, erase: bool = False) -> None:
        doc = self.doc
        doc.begin_stroke(erase, radius)
        for _ in range(steps):
            doc.stroke_to(x, y)
            x = min(max(0.0, x + self.rng.uniform(-120, 120)), doc.width - 1.0)
            y = min(max(0.0, y + self.rng.uniform(-120, 120)), doc.height - 1.0)
        doc.end_stroke()

    def random_edit(self) -> None:
        doc, rng = self.doc, self.rng
        layers = list(doc.layers)
        choices = ["brush", "brush", "eraser", "lasso", "rect", "undo", "redo"]
        if layers:
            choices += ["hide", "rename", "delete"]
        kind = rng.choice(choices)
        if kind in ("brush", "eraser"):
            self.stroke(*self._point(), rng.uniform(4, 80), rng.randint(2, 12), erase=kind == "eraser")
        elif kind == "lasso":
            cx, cy = self._point(300)
            points = [(cx + rng.uniform(-300, 300), cy + rng.uniform(-300, 300)) for _ in range(rng.randint(3, 12))]
            doc.fill_polygon(points, erase=rng.random() < 0.2)
        elif kind == "rect":
            x, y = self._point(200)
            doc.fill_rect(Rect(int(x), int(y), int(x) + rng.randint(10, 400), int(y) + rng.randint(10, 400)).clip(doc.width, doc.height))
        elif kind == "undo":
            for _ in range(rng.randint(1, 4)):
                doc.undo()
        elif kind == "redo":
            for _ in range(rng.randint(1, 4)):
                doc.redo()
        else:
            layer = rng.choice(layers)
            if kind == "hide":
                doc.set_layer_visible(layer.id, not layer.visible)
            elif kind == "rename":
                doc.rename_layer(layer.id, f"Patch {rng.randint(1, 999)}")
            else:
                doc.delete_layer(layer.id)
        self._count(kind)

    def removal(self) -> None:
        """Clear the mask, paint one blob and remove it, as the editor's Remove does."""
        doc, rng = self.doc, self.rng
        doc.clear_mask()
        self.stroke(*self._point(400), rng.uniform(10, 60), rng.randint(2, 5))
        hole = HoleMask.from_mask(doc.mask)
        started = time.perf_counter()
        patch, run = self.backend.fill_hole(doc.composite, hole, InpaintOptions(strategy="crop"))
        self.removal_seconds.append(time.perf_counter() - started)
        doc.add_layer(Layer.create(f"Removal {len(doc.layers) + 1}", hole.box, patch, hole.as_u8(), info=run.to_layer_info()))
        self._count("removal")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--edits", type=int, default=300)
    parser.add_argument("--removals", type=int, default=30)
    parser.add_argument("--size", default="6000x4000", help="WIDTHxHEIGHT (default 24 MP)")
    parser.add_argument("--seed", type=int, default=12)
    parser.add_argument("--budget-mib", type=int, default=DEFAULT_BUDGET // MIB, help="the history byte budget")
    args = parser.parse_args()
    width, height = (int(v) for v in args.size.lower().split("x"))

    original = photo(width, height, args.seed)
    doc = Document(original, history_budget=args.budget_mib * MIB, name="soak.jpg")
    start_composite = doc.composite()
    start_mask = doc.mask.copy()
    baseline = rss_bytes()
    soak = Soak(doc, random.Random(args.seed))

    started = time.perf_counter()
    per_removal = max(1, args.edits // max(1, args.removals))
    edits = 0
    for _ in range(args.removals):
        for _ in range(per_removal):
            if edits < args.edits:
                soak.random_edit()
                edits += 1
        soak.removal()
    while edits < args.edits:
        soak.random_edit()
        edits += 1
    edit_seconds = time.perf_counter() - started
    end_composite, end_mask = doc.composite(), doc.mask.copy()
    layer_bytes = sum(layer.rgb.nbytes + layer.coverage.nbytes + layer.source_mask.nbytes for layer in doc.layers)
    history_at_end = doc.history.nbytes

    t0 = time.perf_counter()
    undone = 0
    while doc.history.can_undo:
        doc.undo()
        undone += 1
    undo_seconds = time.perf_counter() - t0
    undo_ok = np.array_equal(doc.composite(), start_composite) and np.array_equal(doc.mask, start_mask) and doc.is_clean
    while doc.history.can_redo:
        doc.redo()
    redo_ok = np.array_equal(doc.composite(), end_composite) and np.array_equal(doc.mask, end_mask)
    del start_composite, end_composite

    peak = peak_rss_bytes()
    overhead = FIXED_OVERHEAD_PLANES * original.nbytes
    bound = baseline + args.budget_mib * MIB + overhead
    ratio = (peak - baseline) / (args.budget_mib * MIB + overhead)
    print(f"document            {width} x {height} ({width * height / 1e6:.1f} MP), seed {args.seed}")
    print(f"edits               {edits} ({', '.join(f'{k} {v}' for k, v in sorted(soak.counts.items()) if k != 'removal')})")
    print(f"removals            {soak.counts.get('removal', 0)} with {soak.backend.name}: "
          f"median {np.median(soak.removal_seconds):.2f} s, max {max(soak.removal_seconds):.2f} s")
    print(f"time                {edit_seconds:.1f} s editing, {undo_seconds:.2f} s for {undone} undos")
    print(f"history             budget {args.budget_mib} MiB, peak {soak.history_peak / MIB:.1f} MiB, at end {history_at_end / MIB:.1f} MiB")
    print(f"live layers         {len(doc.layers)}, {layer_bytes / MIB:.1f} MiB")
    print(f"RSS                 baseline {baseline / MIB:.0f} MiB (photo loaded), peak {peak / MIB:.0f} MiB, "
          f"growth {(peak - baseline) / MIB:.0f} MiB")
    print(f"bound               baseline + budget + {FIXED_OVERHEAD_PLANES} planes ({overhead / MIB:.0f} MiB) = {bound / MIB:.0f} MiB; "
          f"growth / (budget + overhead) = {ratio:.2f}")
    print(f"actual content      growth / (history peak + overhead) = {(peak - baseline) / (soak.history_peak + overhead):.2f}")
    print(f"undo all            {'restores the start bit for bit' if undo_ok else 'DOES NOT restore the start'}")
    print(f"redo all            {'restores the end bit for bit' if redo_ok else 'DOES NOT restore the end'}")
    ok = undo_ok and redo_ok and peak <= bound
    print("OK" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
