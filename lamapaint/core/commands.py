"""The document's undoable commands, and the tiled backup that keeps mask edits small.

Mask commands store only the old values of the 64x64 tiles an edit touched (napari keeps a bbox
and its old values; tiles keep a long diagonal stroke from saving the whole box it spans). Undo and
redo both *swap* the saved tiles with the mask, so a command holds one copy of its area, never two.
Layer commands hold ``Layer`` objects, whose pixel arrays are shared and read-only.

Commands see the document only through ``CommandTarget``: the mask buffer, the layer stack's
mutators, and the two notifications that bump the revision and tell listeners what changed.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from lamapaint.core import mask as mask_ops
from lamapaint.core.geometry import EMPTY, Rect
from lamapaint.core.history import Command
from lamapaint.core.layers import Layer, LayerStack

TILE = 64


class CommandTarget(Protocol):
    """The part of the document a command may touch."""

    @property
    def mask(self) -> np.ndarray:
        """The working mask, edited in place (never replaced)."""

    @property
    def layers(self) -> LayerStack:
        """The result layers; changed only through ``LayerStack``'s mutators."""

    def mask_changed(self, rect: Rect | None) -> Rect | None:
        """The mask changed inside ``rect``; returns ``rect``."""

    def layers_changed(self, rect: Rect | None) -> Rect | None:
        """The stack changed; ``rect`` is the area whose pixels changed (None: no pixels did)."""


class TileBackup:
    """Old values of the mask tiles an edit is about to touch, saved once per tile."""

    def __init__(self, shape: tuple[int, ...], tile: int = TILE) -> None:
        self.height, self.width = int(shape[0]), int(shape[1])
        self.tile = tile
        self.tiles: dict[tuple[int, int], np.ndarray] = {}

    def _tile_rect(self, key: tuple[int, int]) -> Rect:
        ty, tx = key
        t = self.tile
        return Rect(tx * t, ty * t, min((tx + 1) * t, self.width), min((ty + 1) * t, self.height))

    def save(self, mask: np.ndarray, rect: Rect, only_nonzero: bool = False) -> None:
        """Remember the current values of every tile meeting ``rect`` not saved yet.

        ``only_nonzero`` skips all-zero tiles: right for edits that can only clear pixels.
        """
        rect = rect.clip(self.width, self.height)
        if rect.is_empty:
            return
        t = self.tile
        for ty in range(rect.y0 // t, (rect.y1 - 1) // t + 1):
            for tx in range(rect.x0 // t, (rect.x1 - 1) // t + 1):
                key = (ty, tx)
                if key in self.tiles:
                    continue
                values = mask[self._tile_rect(key).slices]
                if only_nonzero and not values.any():
                    continue
                self.tiles[key] = values.copy()

    def prune(self, mask: np.ndarray) -> None:
        """Forget tiles the edit left unchanged."""
        for key in [k for k, old in self.tiles.items() if np.array_equal(old, mask[self._tile_rect(k).slices])]:
            del self.tiles[key]

    def swap(self, mask: np.ndarray) -> Rect:
        """Exchange the saved tiles with the mask's: undo and redo are the same operation."""
        dirty = EMPTY
        for key, old in self.tiles.items():
            r = self._tile_rect(key)
            current = mask[r.slices].copy()
            mask[r.slices] = old
            self.tiles[key] = current
            dirty = dirty.union(r)
        return dirty

    def restore(self, mask: np.ndarray) -> Rect:
        """Put the saved values back (abort an edit in progress)."""
        dirty = EMPTY
        for key, old in self.tiles.items():
            r = self._tile_rect(key)
            mask[r.slices] = old
            dirty = dirty.union(r)
        return dirty

    @property
    def rect(self) -> Rect:
        dirty = EMPTY
        for key in self.tiles:
            dirty = dirty.union(self._tile_rect(key))
        return dirty

    @property
    def nbytes(self) -> int:
        return sum(old.nbytes + 96 for old in self.tiles.values())

    def __bool__(self) -> bool:
        return bool(self.tiles)


class MaskPatchCommand(Command):
    """A finished mask edit (stroke, lasso, rect, clear, grow), applied already when recorded."""

    def __init__(self, label: str, backup: TileBackup) -> None:
        self.label = label
        self.backup = backup

    def apply(self, doc: CommandTarget) -> Rect | None:
        return doc.mask_changed(self.backup.swap(doc.mask))

    def revert(self, doc: CommandTarget) -> Rect | None:
        return doc.mask_changed(self.backup.swap(doc.mask))

    @property
    def nbytes(self) -> int:
        return 128 + self.backup.nbytes


class InvertMaskCommand(Command):
    """Invert is its own inverse: nothing to store."""

    label = "Invert mask"

    def apply(self, doc: CommandTarget) -> Rect | None:
        return doc.mask_changed(mask_ops.invert(doc.mask))

    revert = apply


class AddLayerCommand(Command):
    """Put a layer on top and (optionally) clear its own hole from the mask.

    Only the hole the layer was made from is cleared: paint added elsewhere while the layer was
    being computed stays for the next removal.
    """

    label = "Remove object"

    def __init__(self, layer: Layer, index: int, clear_mask: bool) -> None:
        self.layer = layer
        self.index = index
        self.clear_mask = clear_mask
        self.backup: TileBackup | None = None

    def apply(self, doc: CommandTarget) -> Rect | None:
        doc.layers.insert(self.index, self.layer)
        doc.layers_changed(self.layer.rect)
        if self.clear_mask:
            if self.backup is None:
                self.backup = TileBackup(doc.mask.shape)
                rect = self.layer.rect
                self.backup.save(doc.mask, rect, only_nonzero=True)
                doc.mask[rect.slices][self.layer.source_mask != 0] = 0
                self.backup.prune(doc.mask)
                doc.mask_changed(self.backup.rect)
            else:
                doc.mask_changed(self.backup.swap(doc.mask))
        return self.layer.rect

    def revert(self, doc: CommandTarget) -> Rect | None:
        doc.layers.remove(self.layer.id)
        doc.layers_changed(self.layer.rect)
        if self.backup is not None:
            doc.mask_changed(self.backup.swap(doc.mask))
        return self.layer.rect

    @property
    def nbytes(self) -> int:
        return 256 + self.layer.nbytes + (self.backup.nbytes if self.backup else 0)


class ReplaceLayerCommand(Command):
    """Swap one layer object for another at the same place (visibility, name)."""

    def __init__(self, label: str, old: Layer, new: Layer, pixels_change: bool) -> None:
        self.label = label
        self.old = old
        self.new = new
        self.pixels_change = pixels_change

    def _swap(self, doc: CommandTarget, a: Layer, b: Layer) -> Rect | None:
        doc.layers.replace(a.id, b)
        rect = b.rect if self.pixels_change else None
        doc.layers_changed(rect)
        return rect

    def apply(self, doc: CommandTarget) -> Rect | None:
        return self._swap(doc, self.old, self.new)

    def revert(self, doc: CommandTarget) -> Rect | None:
        return self._swap(doc, self.new, self.old)

    @property
    def nbytes(self) -> int:
        return 256


class MoveLayerCommand(Command):
    label = "Move layer"

    def __init__(self, layer: Layer, old_index: int, new_index: int) -> None:
        self.layer_id = layer.id
        self.rect = layer.rect
        self.old_index = old_index
        self.new_index = new_index

    def _move(self, doc: CommandTarget, src: int, dst: int) -> Rect:
        doc.layers.move(src, dst)
        doc.layers_changed(self.rect)
        return self.rect

    def apply(self, doc: CommandTarget) -> Rect | None:
        return self._move(doc, self.old_index, self.new_index)

    def revert(self, doc: CommandTarget) -> Rect | None:
        return self._move(doc, self.new_index, self.old_index)


class DeleteLayerCommand(Command):
    label = "Delete layer"

    def __init__(self, layer: Layer, index: int) -> None:
        self.layer = layer
        self.index = index

    def apply(self, doc: CommandTarget) -> Rect | None:
        doc.layers.remove(self.layer.id)
        doc.layers_changed(self.layer.rect)
        return self.layer.rect

    def revert(self, doc: CommandTarget) -> Rect | None:
        doc.layers.insert(self.index, self.layer)
        doc.layers_changed(self.layer.rect)
        return self.layer.rect

    @property
    def nbytes(self) -> int:
        return 128 + self.layer.nbytes


class MergeDownCommand(Command):
    label = "Merge down"

    def __init__(self, below: Layer, top: Layer, merged: Layer, index: int) -> None:
        self.below = below
        self.top = top
        self.merged = merged
        self.index = index  # the position of ``below``

    def apply(self, doc: CommandTarget) -> Rect | None:
        doc.layers.merge(self.index, self.merged)
        doc.layers_changed(self.merged.rect)
        return self.merged.rect

    def revert(self, doc: CommandTarget) -> Rect | None:
        doc.layers.unmerge(self.index, self.below, self.top)
        doc.layers_changed(self.merged.rect)
        return self.merged.rect

    @property
    def nbytes(self) -> int:
        # The merged layer is new memory; below and top are kept alive only by this command.
        return 128 + self.merged.nbytes + self.below.nbytes + self.top.nbytes
