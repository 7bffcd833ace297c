"""Non-destructive result layers and their composition over the untouched original.

A layer is an RGB patch with a coverage mask at a box of the image. Layers are frozen: commands
swap whole ``Layer`` objects (cheap: the pixel arrays are shared and read-only), so a snapshot of
the stack is just a tuple of references.
"""

from __future__ import annotations

import dataclasses
import functools
import uuid
from dataclasses import dataclass, field
from typing import Any, Iterable, Iterator

import cv2
import numpy as np

from lamapaint.core.geometry import Rect
from lamapaint.core.run_record import RunInfo


def readonly(arr: np.ndarray) -> np.ndarray:
    """Return a C-contiguous array nobody can write through (copies only when needed)."""
    out = np.ascontiguousarray(arr)
    if out is arr and arr.flags.writeable and arr.base is not None:
        # A writeable view: someone else can still write through its base; take our own copy.
        out = arr.copy()
    out.flags.writeable = False
    return out


def new_layer_id() -> str:
    return uuid.uuid4().hex


@dataclass(frozen=True, eq=False)
class Layer:
    """One inpainting result (or a merge of several), placed at ``rect`` in the image."""

    id: str
    name: str
    rect: Rect
    rgb: np.ndarray  # (h, w, 3) uint8, read-only
    coverage: np.ndarray  # (h, w) uint8: 255 replaces what is below, 0 keeps it, between blends
    source_mask: np.ndarray  # (h, w) uint8: the hole the layer was made from
    visible: bool = True
    info: dict[str, Any] = field(default_factory=dict)  # what the project file keeps (JSON-able)
    run: RunInfo | None = None  # the fill's record, typed; read from ``info`` when not given

    def __post_init__(self) -> None:
        h, w = self.rect.height, self.rect.width
        if self.rect.is_empty:
            raise ValueError("a layer needs a non-empty rectangle")
        for name, arr, shape in (
            ("rgb", self.rgb, (h, w, 3)),
            ("coverage", self.coverage, (h, w)),
            ("source_mask", self.source_mask, (h, w)),
        ):
            if not isinstance(arr, np.ndarray) or arr.dtype != np.uint8 or arr.shape != shape:
                got = getattr(arr, "shape", None), getattr(arr, "dtype", None)
                raise ValueError(f"layer {name} must be uint8 {shape}, got {got}")
            object.__setattr__(self, name, readonly(arr))
        if self.run is None and "run" in self.info:  # a layer read from a file: parsed once, here
            object.__setattr__(self, "run", RunInfo.from_dict(self.info))

    @classmethod
    def create(
        cls,
        name: str,
        rect: Rect,
        rgb: np.ndarray,
        coverage: np.ndarray,
        source_mask: np.ndarray | None = None,
        info: dict[str, Any] | None = None,
        run: RunInfo | None = None,
    ) -> "Layer":
        """A new layer with a fresh id; the source mask defaults to the coverage. A ``run`` record
        is written into ``info`` as the project file keeps it."""
        if run is not None:
            info = {**run.to_layer_info(), **(info or {})}
        return cls(
            id=new_layer_id(),
            name=name,
            rect=rect,
            rgb=rgb,
            coverage=coverage,
            source_mask=coverage if source_mask is None else source_mask,
            info=dict(info or {}),
            run=run,
        )

    def replace(self, **changes: Any) -> "Layer":
        return dataclasses.replace(self, **changes)

    @functools.cached_property
    def hard_mask(self) -> np.ndarray:
        """Non-zero where the layer fully replaces what is below (computed once, read-only)."""
        if self.soft_pixels is None:
            return self.coverage
        return readonly((self.coverage == 255).view(np.uint8))

    @functools.cached_property
    def soft_pixels(self) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
        """Rows, columns and flat indices of partially covered pixels (feathered edges); None when binary."""
        flat = np.flatnonzero((self.coverage != 0) & (self.coverage != 255))
        if flat.size == 0:
            return None
        rows, cols = np.divmod(flat, self.rect.width)
        return readonly(rows), readonly(cols), readonly(flat)

    @property
    def nbytes(self) -> int:
        """Pixel memory of this layer (arrays only)."""
        return int(self.rgb.nbytes + self.coverage.nbytes + self.source_mask.nbytes)


def blend_into(dst: np.ndarray, src: np.ndarray, coverage: np.ndarray) -> None:
    """``dst = round((src*c + dst*(255-c)) / 255)`` in uint16: 255 replaces exactly, 0 keeps exactly."""
    c = coverage[..., None].astype(np.uint16)
    x = src.astype(np.uint16) * c
    x += dst.astype(np.uint16) * (255 - c)
    x += 128
    x += x >> 8
    x >>= 8
    dst[...] = x


_RGB_PIXEL = np.dtype((np.void, 3))


def _paste(out: np.ndarray, region: Rect, layer: Layer, inter: Rect) -> None:
    """Composite ``layer`` onto ``out`` (the contiguous pixels of ``region``) inside ``inter``.

    Fully covered pixels are copied by OpenCV's masked copy (far faster than a numpy ``where``);
    only the partially covered pixels, found once per layer, are gathered, blended and scattered.
    """
    sub = inter.relative_to(layer.rect)
    dst = out[inter.relative_to(region).slices]
    src = layer.rgb[sub.slices]
    hard = layer.hard_mask[sub.slices]
    copied = cv2.copyTo(src, hard, dst)
    if copied is not dst and not np.shares_memory(copied, dst):
        np.copyto(dst, src, where=hard[..., None] != 0)
    soft = layer.soft_pixels
    if soft is None:
        return
    rows, cols, flat = soft
    if sub != Rect(0, 0, layer.rect.width, layer.rect.height):
        inside = (rows >= sub.y0) & (rows < sub.y1) & (cols >= sub.x0) & (cols < sub.x1)
        rows, cols, flat = rows[inside], cols[inside], flat[inside]
        if flat.size == 0:
            return
    # Flat indices into ``out``: layer coordinates shifted to the region's origin.
    dflat = (rows + np.intp(layer.rect.y0 - region.y0)) * np.intp(region.width) + (cols + np.intp(layer.rect.x0 - region.x0))
    out_px = out.reshape(-1, 3)
    blended = np.take(out_px, dflat, axis=0)
    blend_into(blended, np.take(layer.rgb.reshape(-1, 3), flat, axis=0), np.take(layer.coverage.reshape(-1), flat))
    out.view(_RGB_PIXEL).reshape(-1)[dflat] = blended.view(_RGB_PIXEL).reshape(-1)


class LayerStack:
    """Layers bottom to top; composes them over the original for any rectangle.

    The list is private: the document's commands change it only through the mutators below, which
    keep ids unique; everything else reads it (iterate, index, find).
    """

    def __init__(self, layers: Iterable[Layer] = ()) -> None:
        self._layers: list[Layer] = list(layers)
        if len({layer.id for layer in self._layers}) != len(self._layers):
            raise ValueError("duplicate layer ids")

    def __iter__(self) -> Iterator[Layer]:
        return iter(self._layers)

    def __len__(self) -> int:
        return len(self._layers)

    def __getitem__(self, index: int) -> Layer:
        return self._layers[index]

    def index(self, layer_id: str) -> int:
        for i, layer in enumerate(self._layers):
            if layer.id == layer_id:
                return i
        raise KeyError(f"no layer with id {layer_id!r}")

    def find(self, layer_id: str) -> Layer:
        return self._layers[self.index(layer_id)]

    # --- mutators (the document's commands call these) ------------------------------------------
    def insert(self, index: int, layer: Layer) -> None:
        if any(existing.id == layer.id for existing in self._layers):
            raise ValueError(f"duplicate layer id {layer.id!r}")
        self._layers.insert(index, layer)

    def remove(self, layer_id: str) -> int:
        """Take the layer out; returns where it was."""
        index = self.index(layer_id)
        del self._layers[index]
        return index

    def move(self, src: int, dst: int) -> None:
        """Move the layer at ``src`` so that it ends up at ``dst``."""
        self._layers.insert(dst, self._layers.pop(src))

    def replace(self, layer_id: str, new: Layer) -> None:
        """Put ``new`` where the layer ``layer_id`` is (same place in the order)."""
        index = self.index(layer_id)
        if new.id != layer_id and any(existing.id == new.id for existing in self._layers):
            raise ValueError(f"duplicate layer id {new.id!r}")
        self._layers[index] = new

    def merge(self, index: int, merged: Layer) -> None:
        """Replace the two layers at ``index`` and ``index + 1`` by ``merged``."""
        self._layers[index : index + 2] = [merged]

    def unmerge(self, index: int, below: Layer, top: Layer) -> None:
        """Undo ``merge``: put ``below`` and ``top`` back in place of the merged layer at ``index``."""
        self._layers[index : index + 1] = [below, top]

    def composite(self, original: np.ndarray, region: Rect) -> np.ndarray:
        """The visible image inside ``region`` (clipped to the image) as a new ``(h, w, 3)`` array.

        Only layers whose box meets the region are touched, so a view tile costs what the tile
        shows, not what the photo holds.
        """
        height, width = original.shape[:2]
        region = region.clip(width, height)
        out = original[region.slices].copy()
        for layer in self._layers:
            if not layer.visible:
                continue
            inter = layer.rect.intersect(region)
            if inter.is_empty:
                continue
            _paste(out, region, layer, inter)
        return out

    def touched(self, shape: tuple[int, int]) -> np.ndarray:
        """Bool ``(H, W)`` map of pixels any visible layer covers (export uses it)."""
        out = np.zeros(shape[:2], dtype=bool)
        for layer in self._layers:
            if layer.visible:
                box = layer.rect.clip(shape[1], shape[0])
                if not box.is_empty:
                    out[box.slices] |= layer.coverage[box.relative_to(layer.rect).slices] != 0
        return out


def merge_layers(below: Layer, top: Layer) -> Layer:
    """One layer that looks like ``top`` over ``below`` (hidden ones contribute nothing).

    Exact for binary coverage; where both coverages are partial the merged colour is rounded once,
    so a composite may differ by one level there.
    """
    parts = [layer for layer in (below, top) if layer.visible]
    base = below if below.visible or not top.visible else top
    if not parts:
        parts = [below, top]
    rect = parts[0].rect
    for layer in parts[1:]:
        rect = rect.union(layer.rect)
    h, w = rect.height, rect.width
    # Accumulate premultiplied colour and coverage in float64 (exact enough; rounded once).
    colour = np.zeros((h, w, 3), np.float64)
    alpha = np.zeros((h, w), np.float64)
    source = np.zeros((h, w), np.uint8)
    for layer in parts:
        s = layer.rect.relative_to(rect).slices
        a = layer.coverage.astype(np.float64) / 255.0
        colour[s] = layer.rgb * a[..., None] + colour[s] * (1.0 - a[..., None])
        alpha[s] = a + alpha[s] * (1.0 - a)
        np.maximum(source[s], layer.source_mask, out=source[s])
    cov = np.rint(alpha * 255.0).astype(np.uint8)
    safe = np.where(alpha > 0, alpha, 1.0)
    rgb = np.clip(np.rint(colour / safe[..., None]), 0, 255).astype(np.uint8)
    info = {"merged_from": [dict(layer.info, name=layer.name) for layer in parts]}
    return Layer(
        id=new_layer_id(),
        name=base.name,
        rect=rect,
        rgb=rgb,
        coverage=cov,
        source_mask=source,
        visible=True,
        info=info,
    )
