"""Pre- and post-processing exactly as the official predictor does it.

The photo is resized with Pillow's bilinear filter on uint8 (it antialiases when shrinking) so that
its longer side is 1024, normalised, then padded with zeros to 1024x1024 (zeros after normalising).
Prompts move to that 1024-space with float64 arithmetic; masks come back by bilinear upsampling.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import PIL
import torch
from PIL import Image

log = logging.getLogger(__name__)

INPUT_SIZE = 1024
LOW_RES = 256
PIXEL_MEAN = (123.675, 116.28, 103.53)
PIXEL_STD = (58.395, 57.12, 57.375)


def resized_shape(height: int, width: int, long_side: int = INPUT_SIZE) -> tuple[int, int]:
    """(h', w') with the longer side ``long_side``, rounded half up."""
    scale = long_side * 1.0 / max(height, width)
    return int(height * scale + 0.5), int(width * scale + 0.5)


def resize_photo(rgb: np.ndarray) -> np.ndarray:
    """The (h', w', 3) uint8 photo the encoder sees (before normalising and padding).

    Pillow resamples in two passes with a uint8 image between them, one across the rows and one down
    the columns. A row of the first depends on its own input row only and a column of the second on
    its own column, so each pass is split into bands that Pillow runs in parallel (it releases the
    GIL): the bytes of one ``resize``, 2.5x faster on a 16 MP photo with two threads (a fifth of
    vit_t's embedding time). Which pass goes first depends on the Pillow version (see
    ``_pillow_pass_order``); where it is not known, one plain ``resize`` runs.
    """
    height, width = rgb.shape[:2]
    h, w = resized_shape(height, width)
    rule = _pillow_pass_order()
    if torch.get_num_threads() < 2 or rule is None:
        return np.array(Image.fromarray(rgb).resize((w, h), Image.BILINEAR))  # a writable copy (torch needs one)
    return _resize_in_bands(rgb, h, w, rule(height, width, h, w), torch.get_num_threads())


def _resize_in_bands(rgb: np.ndarray, h: int, w: int, vertical_first: bool, threads: int) -> np.ndarray:
    """Pillow's bilinear resize of ``rgb`` to (h, w), each pass in up to ``threads`` bands."""

    def resample(band: np.ndarray, size: tuple[int, int]) -> np.ndarray:
        return np.asarray(Image.fromarray(np.ascontiguousarray(band)).resize(size, Image.BILINEAR))

    def across(image: np.ndarray, pool: ThreadPoolExecutor) -> np.ndarray:  # the rows' pass: bands of rows
        edges = np.linspace(0, image.shape[0], min(threads, image.shape[0]) + 1).astype(int)
        return np.concatenate(list(pool.map(lambda a, b: resample(image[a:b], (w, b - a)), edges[:-1], edges[1:])))

    def down(image: np.ndarray, pool: ThreadPoolExecutor) -> np.ndarray:  # the columns' pass: bands of columns
        cols = image.shape[1]
        edges = np.linspace(0, cols, min(threads, cols) + 1).astype(int)
        return np.concatenate(list(pool.map(lambda a, b: resample(image[:, a:b], (b - a, h)), edges[:-1], edges[1:])), axis=1)

    out = rgb
    with ThreadPoolExecutor(threads) as pool:
        for step in (down, across) if vertical_first else (across, down):
            if (step is across and out.shape[1] != w) or (step is down and out.shape[0] != h):
                out = step(out, pool)
    return out if out is not rgb else rgb.copy()


#: Pillow's rules for which pass comes first, given (H, W, h, w), as measured on random sizes: 10.4
#: and 12.0 always the rows' pass; 13.0 the columns' pass when the height shrinks by more pixels
#: than twice the width does.
_PASS_ORDERS: tuple[Callable[[int, int, int, int], bool], ...] = (
    lambda height, width, h, w: False,
    lambda height, width, h, w: height - h > max(0, 2 * (width - w)),
)


@functools.cache
def _pillow_pass_order() -> Callable[[int, int, int, int], bool] | None:
    """The rule the installed Pillow follows, found by resizing a few small images that tell the rules
    apart both ways and in bands; None (no bands) if no rule reproduces all of them."""
    rng = np.random.default_rng(0)
    probes = [((97, 23), (41, 17)), ((23, 97), (17, 41)), ((120, 100), (60, 90)), ((100, 120), (90, 60)), ((50, 70), (80, 30))]
    images = [(rng.integers(0, 256, (*size, 3), dtype=np.uint8), out) for size, out in probes]
    expected = [np.asarray(Image.fromarray(image).resize((w, h), Image.BILINEAR)) for image, (h, w) in images]
    for rule in _PASS_ORDERS:
        banded = [_resize_in_bands(image, h, w, rule(*image.shape[:2], h, w), 2) for image, (h, w) in images]
        if all(np.array_equal(a, b) for a, b in zip(banded, expected)):
            return rule
    log.warning("Pillow %s resamples in an order not known here: the photo is resized in one piece", PIL.__version__)
    return None


def encoder_input(resized: np.ndarray, device: torch.device) -> torch.Tensor:
    """(1,3,1024,1024) float32: normalised per channel on the 0-255 scale, zero-padded bottom/right."""
    x = torch.from_numpy(np.ascontiguousarray(resized)).to(device).permute(2, 0, 1)[None].float()
    mean = torch.tensor(PIXEL_MEAN, device=device).view(1, 3, 1, 1)
    std = torch.tensor(PIXEL_STD, device=device).view(1, 3, 1, 1)
    x = (x - mean) / std
    return torch.nn.functional.pad(x, (0, INPUT_SIZE - x.shape[3], 0, INPUT_SIZE - x.shape[2]))


def to_input_space(coords: np.ndarray, original: tuple[int, int]) -> np.ndarray:
    """(..., 2) x, y photo pixels -> the resized photo's pixels (float64, as the official transform)."""
    h, w = original
    new_h, new_w = resized_shape(h, w)
    out = np.array(coords, dtype=np.float64, copy=True)
    out[..., 0] = out[..., 0] * (new_w / w)
    out[..., 1] = out[..., 1] * (new_h / h)
    return out


def preview_logits(low_res: torch.Tensor, original: tuple[int, int]) -> torch.Tensor:
    """(B,C,256,256) logits -> (B,C,h',w'): bilinear to 1024x1024, cropped to the resized photo."""
    h, w = resized_shape(*original)
    up = torch.nn.functional.interpolate(low_res, (INPUT_SIZE, INPUT_SIZE), mode="bilinear", align_corners=False)
    return up[..., :h, :w]


#: Above this share of pixels to interpolate, plain upsampling of every pixel is the faster way.
_SPARSE_LIMIT = 0.15


def full_size_masks(preview: torch.Tensor, original: tuple[int, int]) -> np.ndarray:
    """(C,h',w') preview logits -> (C,H,W) bool masks, equal to bilinear upsampling then ``> 0``.

    A bilinear sample is a convex combination of its four source neighbours, so wherever those four
    have one sign the mask is known without interpolating: the source's sign map is repeated to full
    size (columns first, then whole rows, which copy fast; only over the box where it is positive)
    and only the pixels whose neighbours straddle 0 (the edges) are interpolated, a source cell at a
    time. On a 12 MP photo that is a few per cent of the pixels, several times faster than
    upsampling everything. Sample positions and the order of the arithmetic follow torch's ``interpolate(..., mode="bilinear", align_corners=False)``.
    """
    channels, h, w = preview.shape
    height, width = original
    rows, cols = _Axis(h, height), _Axis(w, width)
    logits = preview.float().cpu().numpy()
    positive = np.pad(logits > 0, ((0, 0), (0, 1), (0, 1)), mode="edge")  # the last row/column clamp
    corners = (positive[:, :-1, :-1], positive[:, 1:, :-1], positive[:, :-1, 1:], positive[:, 1:, 1:])
    all_positive = corners[0] & corners[1] & corners[2] & corners[3]
    mixed = (corners[0] | corners[1] | corners[2] | corners[3]) & ~all_positive
    c, i, j = np.nonzero(mixed)
    if int((rows.counts[i] * cols.counts[j]).sum()) > _SPARSE_LIMIT * channels * height * width:  # edges everywhere
        up = torch.nn.functional.interpolate(preview[None].float(), original, mode="bilinear", align_corners=False)
        return (up[0] > 0).cpu().numpy()
    masks = np.zeros((channels, height, width), dtype=bool)  # untouched pages cost nothing
    sure_rows, sure_cols = np.flatnonzero(all_positive.any(axis=(0, 2))), np.flatnonzero(all_positive.any(axis=(0, 1)))
    if len(sure_rows):  # only the box of the sure cells is written
        (i0, i1), (j0, j1) = (sure_rows[0], sure_rows[-1] + 1), (sure_cols[0], sure_cols[-1] + 1)
        box = np.repeat(np.repeat(all_positive[:, i0:i1, j0:j1], cols.counts[j0:j1], axis=2), rows.counts[i0:i1], axis=1)
        masks[:, rows.starts[i0] : rows.starts[i0] + box.shape[1], cols.starts[j0] : cols.starts[j0] + box.shape[2]] = box
    below, right = np.minimum(i + 1, h - 1), np.minimum(j + 1, w - 1)
    v00, v10, v01, v11 = logits[c, i, j], logits[c, below, j], logits[c, i, right], logits[c, below, right]
    # Cells of one (rows, columns) size at a time, as (cells, rows, columns) arrays.
    shapes = rows.counts[i] * (width + 1) + cols.counts[j]
    for shape in np.unique(shapes):
        cell = np.nonzero(shapes == shape)[0]
        span_y, span_x = divmod(int(shape), width + 1)
        y = rows.starts[i[cell], None] + np.arange(span_y)  # (cells, span_y)
        x = cols.starts[j[cell], None] + np.arange(span_x)  # (cells, span_x)
        wx0, wx1 = cols.w0[x][:, None, :], cols.w1[x][:, None, :]
        top = wx0 * v00[cell, None, None] + wx1 * v01[cell, None, None]
        bottom = wx0 * v10[cell, None, None] + wx1 * v11[cell, None, None]
        inside = rows.w0[y][:, :, None] * top + rows.w1[y][:, :, None] * bottom > 0
        masks[c[cell, None, None], y[:, :, None], x[:, None, :]] = inside
    return masks


class _Axis:
    """Where each output index samples a source axis (torch's half-pixel bilinear rule), and the weights."""

    def __init__(self, source: int, target: int) -> None:
        scale = np.float32(source / target)
        position = np.maximum(scale * (np.arange(target, dtype=np.float32) + np.float32(0.5)) - np.float32(0.5), np.float32(0))
        self.low = np.minimum(np.floor(position).astype(np.int64), source - 1)
        self.high = np.minimum(self.low + 1, source - 1)
        self.w1 = (position - self.low).astype(np.float32)
        self.w0 = np.float32(1) - self.w1
        # Output indices sampling from source cell k form the run starts[k] .. starts[k] + counts[k] - 1.
        self.counts = np.bincount(self.low, minlength=source)
        self.starts = np.cumsum(self.counts) - self.counts


def upscale_logits(low_res: torch.Tensor, original: tuple[int, int]) -> torch.Tensor:
    """(B,C,256,256) logits -> (B,C,H,W) logits at the photo's size, the official post-processing."""
    preview = preview_logits(low_res, original)
    return torch.nn.functional.interpolate(preview, original, mode="bilinear", align_corners=False)
