"""Running a fill over planned regions: LaMa pre/post-processing, scaling, pasting, run records.

:func:`fill_hole` reads each region's pixels from an image source (a photo array for the CLI and
the Python API, the document's composite for the editor), so no caller copies a whole photo
for it, and returns the hole's bounding box with the hole filled: the editor's layer as it is,
pasted into a copy of the photo by ``Backend.inpaint``.

The LaMa path reproduces the official prediction script (``bin/predict.py``) step for step: RGB/255,
"any non-zero mask value is a hole", symmetric padding at the bottom/right to a multiple of 8, input
``cat([img * (1 - mask), mask])``, blend, crop, ``clip(x * 255).astype(uint8)`` (truncation). Inside
the hole the blend is the prediction itself, so only hole pixels are converted; every other pixel is
copied from the input and comes back bit-identical. Work stays in uint8 until the crop is cut, so a
large photo never gets a full-size float copy (20 MP as float32 would be 240 MB).
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Callable

import cv2
import numpy as np

from lamapaint.inpaint.hole import HoleMask
from lamapaint.inpaint.regions import Region, padded_side
from lamapaint.inpaint.types import ImageSource, RegionInfo
from lamapaint.inpaint.progress import RegionProgress
from lamapaint.jobs import CancelToken, ProgressCallback

if TYPE_CHECKING:  # torch is imported by lama_fill only: the basic fill never loads it
    import torch

log = logging.getLogger(__name__)

#: The generator as the pipeline sees it: float32 (N, 4, H, W) in, float32 (N, 3, H, W) in [0, 1] out.
Forward = Callable[["torch.Tensor"], "torch.Tensor"]
#: Fills one region at its working size: (image (h, w, 3) uint8, hole (h, w) bool) -> (h, w, 3) uint8.
#: The image is the pipeline's own scratch array (see ``fill_hole``): a fill may write its hole
#: pixels into it and return it, instead of copying the whole region to change a few of them.
RegionFill = Callable[[np.ndarray, np.ndarray], np.ndarray]

_CUBIC_SUPPORT = np.ones((5, 5), np.uint8)


def lama_fill(forward: Forward, image: np.ndarray, hole: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """One LaMa pass on ``image`` exactly as the official predict.py; pixels outside ``hole`` are kept.

    ``hole`` is a bool (h, w) map. The result equals ``clip(blended * 255).astype(uint8)`` of the
    official path inside the hole; outside it is ``image`` itself (the official round trip through
    float can lose one grey level there). The hole pixels are written into ``out`` (``image``
    itself is allowed: it is read before anything is written) and ``out`` is returned; without
    ``out`` they go into a copy of ``image``.
    """
    import torch

    h, w = hole.shape
    pad = ((0, padded_side(h) - h), (0, padded_side(w) - w))
    padded_img = np.pad(image, (*pad, (0, 0)), mode="symmetric") if any(p[1] for p in pad) else image
    padded_hole = np.pad(hole, pad, mode="symmetric") if any(p[1] for p in pad) else hole
    # torch wants writable memory (photos arrive read-only); np.require copies only when it must.
    img = torch.from_numpy(np.require(padded_img, requirements=["C", "W"])).permute(2, 0, 1).unsqueeze(0).float().div_(255)
    mask = torch.from_numpy(np.require(padded_hole, requirements=["C", "W"])).unsqueeze(0).unsqueeze(0).float()
    net_in = torch.cat([img * (1 - mask), mask], dim=1)
    del img, mask
    pred = forward(net_in)
    del net_in
    pred_hwc = pred[0, :, :h, :w].permute(1, 2, 0).float().cpu().numpy()
    del pred
    if out is None:
        out = np.array(image, dtype=np.uint8, copy=True)
    out[hole] = np.clip(pred_hwc[hole] * 255, 0, 255).astype(np.uint8)
    return out


def fill_region(fill: RegionFill, crop: np.ndarray, hole: np.ndarray, region: Region) -> np.ndarray:
    """Fill ``region``, given its pixels ``crop`` (a scratch array the fill may write into) and its
    bool ``hole``; at scale < 1 the crop is shrunk, filled and the fill enlarged back.

    Returns the region (h, w, 3) uint8. The caller pastes only the hole pixels, so everything
    outside the hole keeps its original, full-resolution value.
    """
    if region.scale >= 1.0:
        return fill(crop, hole)
    size = region.work_size
    small = cv2.resize(crop, size, interpolation=cv2.INTER_AREA)
    # Any coverage of a working pixel makes it a hole (65535 / block area stays >= 1 down to 1/256
    # per side), so no colour of the removed object survives in the pixels the network keeps.
    small_hole = cv2.resize(hole.astype(np.uint16) * np.uint16(65535), size, interpolation=cv2.INTER_AREA) != 0
    # Grow it by the bicubic support (2 px), so the enlarged fill at every hole pixel is made of
    # predicted pixels only and no shrunken context bleeds into the hole.
    small_hole = cv2.dilate(small_hole.view(np.uint8), _CUBIC_SUPPORT).view(bool)
    filled = fill(small, small_hole)
    return cv2.resize(filled, (region.rect.width, region.rect.height), interpolation=cv2.INTER_CUBIC)


def array_source(image: np.ndarray) -> ImageSource:
    """A photo array as an image source: each region is a view, nothing is copied up front."""
    return lambda rect: image[rect.slices]


def fill_hole(
    fill: RegionFill,
    source: ImageSource,
    hole: HoleMask,
    regions: list[Region],
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
) -> tuple[np.ndarray, list[RegionInfo]]:
    """Fill every region in turn; returns the hole's box (h, w, 3) uint8 and per-region records.

    Pixels of the box outside the hole are the source's own. Progress rises with the network pixels
    done; a :class:`~lamapaint.inpaint.progress.Paced` callback also gets estimates while a region
    runs, with the time left. The cancel token is checked before each region; cancelling raises
    ``Cancelled`` and the partial patch is dropped, so callers never see half a result.
    """
    box = hole.box
    # One region holding the whole box (the usual case) gives the box's pixels from its own crop:
    # the photo's pixels there are composed once, not once for the box and again for the region.
    single = len(regions) == 1 and regions[0].rect.contains(box)
    # The source gives a fresh array (a composite) or a view (of a photo): only a view is copied.
    patch = None if single else np.require(source(box), np.uint8, ["C", "W", "O"])
    infos: list[RegionInfo] = []
    meter = RegionProgress(progress, [r.network_pixels for r in regions])
    for i, region in enumerate(regions):
        if cancel is not None:
            cancel.raise_if_cancelled()
        started = time.perf_counter()
        crop = np.require(source(region.rect), np.uint8, ["C", "W", "O"])  # the fill's scratch array
        if single:
            patch = crop[box.relative_to(region.rect).slices].copy()  # before the fill writes into the crop
        with meter.region(i):
            filled = fill_region(fill, crop, hole.within(region.rect), region)
        inside = region.rect.intersect(box)
        if not inside.is_empty:
            holes = hole.within(inside)
            patch[inside.relative_to(box).slices][holes] = filled[inside.relative_to(region.rect).slices][holes]
        seconds = time.perf_counter() - started
        infos.append(
            RegionInfo(region.rect, region.hole, region.kind, region.scale, region.work_size, region.network_pixels, seconds)
        )
        log.debug("region %s (%s, scale %.3f, work %s) in %.2f s", region.rect.as_list(), region.kind, region.scale, region.work_size, seconds)
    meter.finish()
    if patch is None:  # no regions (an empty hole): the box's own pixels
        patch = np.require(source(box), np.uint8, ["C", "W", "O"])
    return patch, infos


def paste_hole(image: np.ndarray, hole: HoleMask, patch: np.ndarray) -> np.ndarray:
    """A copy of ``image`` with the hole pixels taken from ``patch`` (the hole's box)."""
    out = np.array(image, dtype=np.uint8, copy=True)
    out[hole.box.slices][hole.pixels] = patch[hole.pixels]
    return out


def summarize_kinds(infos: list[RegionInfo]) -> str:
    """"crop", "resize", "crop+resize", ...: the kinds of pass that ran, in order of first use."""
    kinds: list[str] = []
    for info in infos:
        if info.kind not in kinds:
            kinds.append(info.kind)
    return "+".join(kinds) or "none"
