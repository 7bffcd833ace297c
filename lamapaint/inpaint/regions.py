"""Where and at what scale the network runs: the strategy planner (pure numpy/cv2, no torch).

The planner turns a hole mask into a list of :class:`Region` s. Each region is a rectangle of the
photo that goes through the network once, at a scale chosen so that one forward pass stays within a
pixel budget. docs/PIPELINE.md explains the rules and their defaults; the names below are the knobs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from lamapaint.core.geometry import Rect
from lamapaint.inpaint.hole import HoleMask
from lamapaint.inpaint.types import STRATEGIES


#: Pixels one forward pass may see (before padding to 8) under ``auto`` and ``resize``: 2 x 512^2
#: (e.g. 724 x 724). At about 0.85 KiB per pixel in fp32 (reference README) that is ~0.45 GiB of
#: activations, and about 2 x t512 of CPU time. Holes whose crop fits run at native resolution.
DEFAULT_WORK_PIXELS = 2 * 512 * 512
#: The smallest budget accepted (LaMa was trained on 256^2 crops; below that fills get poor).
MIN_WORK_PIXELS = 256 * 256
#: Context kept around each hole, as a share of the hole's longer side ...
MARGIN_FRACTION = 0.125
#: ... but never less than this many pixels.
MIN_MARGIN = 32
#: ``auto`` runs the whole photo (the official path) when it fits the budget and the crops would
#: cover at least this share of it anyway.
FULL_WHEN_CROPS_COVER = 0.5
#: ``auto`` merges all regions into one scaled region when separate regions would cost more than
#: this many budgets in total (many scattered big holes: thick strokes over the whole photo).
MAX_TOTAL_BUDGETS = 1.5
#: Beyond this many hole components the planner stops merging pairwise and takes their union.
MAX_COMPONENTS = 256
#: The generator's smallest input side (its 1x1 bottleneck cannot be reflect-padded below 16).
MIN_SIDE = 16
#: The Fourier units transform the generator's bottleneck, 1/8 of the input side. FFT lengths with a
#: large prime factor cost 2-4x more per element than lengths built from these primes (measured on
#: 192 channels: 79 -> 7.9 ns, 80 -> 2.3 ns, 78 -> 2.7 ns), and the real FFT along the width is
#: slower again for odd lengths. Crops are fitted to such sides (same scale) where the photo has room.
FFT_FRIENDLY_PRIMES = (2, 3, 5, 7, 11, 13)
#: A crop at scale 1 may give up this many pixels of its context margin per side to reach a
#: friendly side below its own instead of growing to one above (fewer pixels for the network).
FFT_MARGIN_SLACK = 8


@dataclass(frozen=True)
class Region:
    """One forward pass: ``rect`` of the photo, resized by ``scale`` to ``work_size`` = (w, h)."""

    rect: Rect
    hole: Rect  # bounding box of the hole pixels it fills, image coordinates
    scale: float
    work_size: tuple[int, int]
    kind: str  # "full" (whole photo, scale 1) | "crop" (part, scale 1) | "resize" (scale < 1)

    @property
    def network_pixels(self) -> int:
        """Pixels the generator processes, after padding to a multiple of 8."""
        w, h = self.work_size
        return padded_side(w) * padded_side(h)


def padded_side(n: int) -> int:
    """The side the generator sees: the next multiple of 8, and at least MIN_SIDE."""
    return max(MIN_SIDE, -(-n // 8) * 8)


def fft_friendly_side(n: int, *, even: bool) -> int:
    """The smallest padded side >= ``n`` whose bottleneck length (side / 8) has only small prime factors."""
    side = padded_side(n)
    while not _fft_friendly_length(side // 8, even):
        side += 8
    return side


def _fft_friendly_length(n: int, even: bool) -> bool:
    if even and n % 2:
        return False
    for p in FFT_FRIENDLY_PRIMES:
        while n % p == 0:
            n //= p
    return n == 1


def context_margin(hole: Rect) -> int:
    """Context grows with the hole: a small hole needs little, a big one needs room to borrow from."""
    return max(MIN_MARGIN, round(MARGIN_FRACTION * max(hole.width, hole.height)))


def fit_scale(rect: Rect, work_pixels: int) -> float:
    """1.0 when ``rect`` fits the budget, else the factor that shrinks it to the budget."""
    return 1.0 if rect.area <= work_pixels else math.sqrt(work_pixels / rect.area)


def make_region(rect: Rect, hole: Rect, scale: float, kind: str) -> Region:
    if scale >= 1.0:
        return Region(rect, hole, 1.0, (rect.width, rect.height), kind)
    size = (max(1, round(rect.width * scale)), max(1, round(rect.height * scale)))
    return Region(rect, hole, scale, size, "resize")


def fit_for_fft(region: Region, width: int, height: int) -> Region:
    """``region`` fitted so that the network's FFTs get fast lengths, at the same scale.

    The width is the axis of the real FFT, so its bottleneck length is also made even. At scale 1
    a side shrinks to the friendly side just below it when that costs at most
    ``FFT_MARGIN_SLACK`` pixels of context per side (the hole always stays inside), else it grows
    to the one above: centred, shifted inward at the photo's border. Where the photo is too small
    for the friendly side the rect takes the whole side; a region that is scaled anyway then gets
    a working side a few pixels shorter on that axis instead (at most 7 % less, on one axis).
    """
    w, h = region.work_size
    target_w, target_h = fft_friendly_side(w, even=True), fft_friendly_side(h, even=False)
    rect, hole = region.rect, region.hole
    if region.scale >= 1.0:
        x0, x1 = _fit_span(rect.x0, rect.x1, hole.x0, hole.x1, target_w, width, even=True)
        y0, y1 = _fit_span(rect.y0, rect.y1, hole.y0, hole.y1, target_h, height, even=False)
        return make_region(Rect(x0, y0, x1, y1), hole, 1.0, region.kind)
    # floor: round(side * scale) then stays within one pixel below the target, which pads to it.
    x0, x1 = _grow_span(rect.x0, rect.x1, math.floor(target_w / region.scale), width)
    y0, y1 = _grow_span(rect.y0, rect.y1, math.floor(target_h / region.scale), height)
    grown = Rect(x0, y0, x1, y1)
    work = (
        _fft_friendly_at_most(max(1, round(grown.width * region.scale)), even=True),
        _fft_friendly_at_most(max(1, round(grown.height * region.scale)), even=False),
    )
    return Region(grown, hole, region.scale, work, region.kind)


def _fit_span(start: int, end: int, keep0: int, keep1: int, grow_to: int, limit: int, *, even: bool) -> tuple[int, int]:
    """[start, end) shrunk to a friendly side within the slack (keeping [keep0, keep1)), else grown."""
    side = end - start
    smaller = _fft_friendly_at_most(side, even=even)
    if smaller < side and side - smaller <= 2 * FFT_MARGIN_SLACK:
        # each end moves inward by at most the slack and never past the kept span
        lo = max(start, end - FFT_MARGIN_SLACK - smaller, keep1 - smaller)
        hi = min(start + FFT_MARGIN_SLACK, end - smaller, keep0)
        if lo <= hi:
            new_start = min(max(start + (side - smaller) // 2, lo), hi)
            return new_start, new_start + smaller
    return _grow_span(start, end, grow_to, limit)


def _fft_friendly_at_most(n: int, *, even: bool) -> int:
    """``n`` if it pads to a friendly side, else the largest friendly side below it (n when none is)."""
    side = padded_side(n)
    if _fft_friendly_length(side // 8, even):
        return n
    side -= 8
    while side >= MIN_SIDE and not _fft_friendly_length(side // 8, even):
        side -= 8
    return side if side >= MIN_SIDE else n


def _grow_span(start: int, end: int, target: int, limit: int) -> tuple[int, int]:
    side = min(max(target, end - start), limit)
    start = min(max(0, start - (side - (end - start)) // 2), limit - side)
    return start, start + side


def fit_all_for_fft(regions: list[Region], width: int, height: int) -> list[Region]:
    """Every region fitted by :func:`fit_for_fft`, except those whose growth would overlap another.

    Regions never share a pixel; a grown region that reaches into another one would fill some hole
    pixels twice, so both keep their planned size (a pair of originals never overlaps). A ``full``
    region stays the whole photo: it is the official path, with all the context there is.
    """
    grown = [r if r.kind == "full" else fit_for_fft(r, width, height) for r in regions]
    clash = {
        k
        for i, a in enumerate(grown)
        for j, b in enumerate(grown[i + 1 :], start=i + 1)
        if a.rect.intersects(b.rect)
        for k in (i, j)
    }
    return [regions[i] if i in clash else g for i, g in enumerate(grown)]


def hole_components(hole: HoleMask) -> list[Rect]:
    """Bounding boxes of the 8-connected hole components.

    Labelling runs on the holes' bounding box only: a small object on a 20 MP photo costs
    almost nothing instead of a pass over the whole photo (0.09 s).
    """
    if hole.is_empty:
        return []
    bbox = hole.box
    count, _labels, stats, _centroids = cv2.connectedComponentsWithStats(hole.pixels.view(np.uint8), connectivity=8)
    return [
        Rect.from_xywh(int(x) + bbox.x0, int(y) + bbox.y0, int(w), int(h))
        for x, y, w, h, _area in stats[1:count]
    ]


def context_crops(holes: list[Rect], width: int, height: int) -> list[tuple[Rect, Rect]]:
    """(crop, hole bbox) pairs; crops that overlap are merged, so no pixel is filled twice."""
    pairs = [(h.pad(context_margin(h)).clip(width, height), h) for h in holes]
    merged = True
    while merged:
        merged = False
        out: list[tuple[Rect, Rect]] = []
        for crop, hole in pairs:
            for i, (c, h) in enumerate(out):
                if c.intersects(crop):
                    union_hole = h.union(hole)
                    # The merged hole may need more context than either part had.
                    grown = union_hole.pad(context_margin(union_hole)).clip(width, height)
                    out[i] = (c.union(crop).union(grown), union_hole)
                    merged = True
                    break
            else:
                out.append((crop, hole))
        pairs = out
    return sorted(pairs, key=lambda p: (p[0].y0, p[0].x0))


def plan_regions(hole: HoleMask | np.ndarray, strategy: str = "auto", work_pixels: int = DEFAULT_WORK_PIXELS) -> list[Region]:
    """The forward passes that fill every hole under ``strategy``; [] when there is no hole.

    ``hole`` is a :class:`HoleMask`, or a 2-D mask (any non-zero value is a hole). ``full`` and
    ``crop`` always run at scale 1 (the user asked for it); ``resize`` and ``auto`` keep each
    pass within ``work_pixels``. This is the only place that decides how much context a hole gets.
    """
    if strategy not in STRATEGIES:
        raise ValueError(f"unknown strategy {strategy!r}; expected one of {', '.join(STRATEGIES)}")
    if isinstance(hole, np.ndarray):
        hole = HoleMask.from_mask(hole)
    work_pixels = max(MIN_WORK_PIXELS, int(work_pixels))
    height, width = hole.shape
    bbox = hole.box
    if bbox.is_empty:
        return []
    whole = Rect.of_image(height, width)
    if strategy == "full":
        return [make_region(whole, bbox, 1.0, "full")]
    if strategy == "resize":
        return [make_region(whole, bbox, fit_scale(whole, work_pixels), "full")]
    holes = hole_components(hole)
    if len(holes) > MAX_COMPONENTS:
        pairs = [(bbox.pad(context_margin(bbox)).clip(width, height), bbox)]
    else:
        pairs = context_crops(holes, width, height)
    if strategy == "crop":
        planned = [make_region(crop, hole, 1.0, "crop") for crop, hole in pairs]
    else:
        planned = _auto(pairs, whole, bbox, work_pixels)
    return fit_all_for_fft(planned, width, height)


def _auto(pairs: list[tuple[Rect, Rect]], whole: Rect, bbox: Rect, work_pixels: int) -> list[Region]:
    crop_area = sum(c.area for c, _ in pairs)
    if whole.area <= work_pixels and crop_area >= FULL_WHEN_CROPS_COVER * whole.area:
        return [make_region(whole, bbox, 1.0, "full")]
    regions = [make_region(c, h, fit_scale(c, work_pixels), "crop") for c, h in pairs]
    if len(regions) > 1 and sum(r.network_pixels for r in regions) > MAX_TOTAL_BUDGETS * work_pixels:
        union = Rect(0, 0, 0, 0)
        for c, _ in pairs:
            union = union.union(c)
        kind = "full" if union == whole else "crop"
        regions = [make_region(union, bbox, fit_scale(union, work_pixels), kind)]
    return regions
