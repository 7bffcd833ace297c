"""The document: an untouched original, the working mask and a stack of result layers.

It changes only through commands recorded in its ``History``, and tells listeners which rectangle
changed (``DocumentChange``). No Qt here: the GUI adapts listeners to signals.

Each kind of change is told once: ``mask`` per edit (every brush stamp, with its dirty rectangle),
``layers`` per stack change, ``history`` once per recorded, undone or redone step (a stroke is one,
at its end), ``clean`` when the history's clean marker is reached or left, ``path`` when the project
file changes. Commands reach the document only through ``_EditTarget`` (``CommandTarget``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Literal, Sequence

import numpy as np

from lamapaint.core import mask as mask_ops
from lamapaint.core.commands import (
    AddLayerCommand,
    CommandTarget,
    DeleteLayerCommand,
    InvertMaskCommand,
    MaskPatchCommand,
    MergeDownCommand,
    MoveLayerCommand,
    ReplaceLayerCommand,
    TileBackup,
)
from lamapaint.core.geometry import Rect, mask_bbox
from lamapaint.core.history import DEFAULT_BUDGET, Command, History
from lamapaint.core.layers import Layer, LayerStack, merge_layers, readonly

if TYPE_CHECKING:
    from lamapaint.io.images import LoadedImage

log = logging.getLogger(__name__)

ChangeKind = Literal["mask", "layers", "history", "clean", "path"]
HOLE = 255


@dataclass(frozen=True)
class DocumentChange:
    """``rect`` is the image area whose pixels changed; ``None`` when no pixels did (a rename)."""

    kind: ChangeKind
    rect: Rect | None


@dataclass(frozen=True, eq=False)
class DocumentSnapshot:
    """An immutable view of a document at one revision, safe to read from another thread.

    It shares the read-only original and layer arrays and owns a read-only copy of the mask.
    """

    original: np.ndarray
    mask: np.ndarray
    layers: tuple[Layer, ...]
    source: "LoadedImage | None"
    revision: int
    name: str
    project_path: Path | None

    @property
    def height(self) -> int:
        return int(self.original.shape[0])

    @property
    def width(self) -> int:
        return int(self.original.shape[1])

    def composite(self, region: Rect | None = None) -> np.ndarray:
        return LayerStack(list(self.layers)).composite(self.original, region or Rect.of_image(self.height, self.width))

    def touched(self) -> np.ndarray:
        return LayerStack(list(self.layers)).touched((self.height, self.width))


@dataclass
class _Stroke:
    value: int
    radius: float
    label: str
    backup: TileBackup
    last: tuple[float, float] | None = None


class Document:
    """Original + mask + layers; every edit is one undo step and notifies listeners."""

    def __init__(
        self,
        original: np.ndarray,
        source: "LoadedImage | None" = None,
        history_budget: int = DEFAULT_BUDGET,
        name: str | None = None,
    ) -> None:
        if original.dtype != np.uint8 or original.ndim != 3 or original.shape[2] != 3:
            raise ValueError(f"the original must be uint8 (H, W, 3) RGB, got {original.dtype} {original.shape}")
        if original.shape[0] == 0 or original.shape[1] == 0:
            raise ValueError("the original image is empty")
        self.original: np.ndarray = readonly(original)
        self.source = source
        self.mask: np.ndarray = np.zeros(original.shape[:2], np.uint8)  # edited in place, never replaced
        self.layers = LayerStack()
        self.history = History(history_budget, target=_EditTarget(self))
        self.revision = 0
        self._project_path: Path | None = None
        if name is None:
            src_path = getattr(source, "path", None)
            name = Path(src_path).name if src_path else "Untitled"
        self.name = name
        self._listeners: list[Callable[[DocumentChange], None]] = []
        self._stroke: _Stroke | None = None

    # --- basics ------------------------------------------------------------------------------
    @property
    def height(self) -> int:
        return int(self.original.shape[0])

    @property
    def width(self) -> int:
        return int(self.original.shape[1])

    @property
    def bounds(self) -> Rect:
        return Rect.of_image(self.height, self.width)

    @property
    def is_clean(self) -> bool:
        """Nothing unsaved: the history is at its clean marker and no stroke is open."""
        return self.history.is_clean and self._stroke is None

    @property
    def project_path(self) -> Path | None:
        """The project file this document was opened from or last saved to."""
        return self._project_path

    def set_project_path(self, path: Path | None) -> None:
        """The document now belongs to ``path`` (saved as, opened from): listeners retitle."""
        path = Path(path) if path is not None else None
        if path != self._project_path:
            self._project_path = path
            self._emit("path", None)

    def add_listener(self, fn: Callable[[DocumentChange], None]) -> None:
        self._listeners.append(fn)

    def remove_listener(self, fn: Callable[[DocumentChange], None]) -> None:
        self._listeners.remove(fn)

    def _emit(self, kind: ChangeKind, rect: Rect | None) -> None:
        change = DocumentChange(kind, rect)
        for fn in list(self._listeners):
            fn(change)

    # Called (through _EditTarget) by commands while they apply or revert.
    def _mask_changed(self, rect: Rect | None) -> Rect | None:
        if rect is not None and not rect.is_empty:
            self.revision += 1
            self._emit("mask", rect)
        return rect

    def _layers_changed(self, rect: Rect | None) -> Rect | None:
        self.revision += 1
        self._emit("layers", rect)
        return rect

    def _run(self, cmd: Command, already_applied: bool = False) -> None:
        was_clean = self.history.is_clean
        self.history.push(cmd, already_applied=already_applied)
        self._history_changed(was_clean)

    def _history_changed(self, was_clean: bool) -> None:
        self._emit("history", None)
        if self.history.is_clean != was_clean:
            self._emit("clean", None)

    # --- mask: brush strokes -----------------------------------------------------------------
    def begin_stroke(self, erase: bool, radius: float) -> None:
        """Start a brush (or eraser) stroke; the whole stroke becomes one undo step."""
        self._finish_stroke()
        self._stroke = _Stroke(
            value=0 if erase else HOLE,
            radius=max(float(radius), mask_ops.MIN_RADIUS),
            label="Eraser stroke" if erase else "Brush stroke",
            backup=TileBackup(self.mask.shape),
        )

    def stroke_to(self, x: float, y: float) -> Rect:
        """Paint from the previous point (a dot for the first); returns the dirty rectangle."""
        stroke = self._stroke
        if stroke is None:
            raise RuntimeError("stroke_to without begin_stroke")
        p1 = (float(x), float(y))
        p0 = stroke.last or p1
        for a, b in mask_ops.stroke_pieces(p0, p1, stroke.radius):
            stroke.backup.save(self.mask, mask_ops.segment_bounds(a, b, stroke.radius, self.mask.shape))
        dirty = mask_ops.stamp_line(self.mask, p0, p1, stroke.radius, stroke.value)
        stroke.last = p1
        self._mask_changed(dirty)
        return dirty

    def end_stroke(self) -> None:
        """Record the stroke as one undo step (nothing when it changed nothing)."""
        self._finish_stroke()

    def abort_stroke(self) -> None:
        """Put the mask back as it was before ``begin_stroke``."""
        stroke, self._stroke = self._stroke, None
        if stroke is not None:
            self._mask_changed(stroke.backup.restore(self.mask))

    def _finish_stroke(self) -> None:
        stroke, self._stroke = self._stroke, None
        if stroke is None:
            return
        stroke.backup.prune(self.mask)
        if stroke.backup:
            self._run(MaskPatchCommand(stroke.label, stroke.backup), already_applied=True)

    # --- mask: one-shot edits ----------------------------------------------------------------
    def _mask_edit(self, label: str, rect: Rect, edit: Callable[[], Rect], only_nonzero: bool = False) -> None:
        self._finish_stroke()
        backup = TileBackup(self.mask.shape)
        backup.save(self.mask, rect, only_nonzero=only_nonzero)
        dirty = edit()
        backup.prune(self.mask)
        if backup:
            self._mask_changed(dirty)
            self._run(MaskPatchCommand(label, backup), already_applied=True)

    def fill_polygon(self, points: Sequence[tuple[float, float]], erase: bool = False) -> None:
        value = 0 if erase else HOLE
        self._mask_edit(
            "Lasso erase" if erase else "Lasso",
            mask_ops.polygon_bounds(points, self.mask.shape),
            lambda: mask_ops.fill_polygon(self.mask, points, value),
        )

    def fill_rect(self, rect: Rect, erase: bool = False) -> None:
        value = 0 if erase else HOLE
        self._mask_edit(
            "Rectangle erase" if erase else "Rectangle",
            rect.clip(self.width, self.height),
            lambda: mask_ops.fill_rect(self.mask, rect, value),
        )

    def clear_mask(self) -> None:
        box = mask_bbox(self.mask)
        self._mask_edit("Clear mask", box, lambda: mask_ops.fill_rect(self.mask, box, 0), only_nonzero=True)

    def invert_mask(self) -> None:
        self._finish_stroke()
        self._run(InvertMaskCommand())

    def grow_mask(self, pixels: int) -> None:
        """Grow (positive) or shrink (negative) the hole by ``pixels``."""
        pixels = int(pixels)
        self._mask_edit(
            "Grow mask" if pixels > 0 else "Shrink mask",
            mask_ops.grow_bounds(self.mask, pixels),
            lambda: mask_ops.grow(self.mask, pixels),
        )

    def replace_mask(self, mask: np.ndarray, label: str = "Import mask") -> None:
        """Make ``mask`` (non-zero = hole, the image's size) the painted mask, as one undo step."""
        if mask.shape != self.mask.shape:
            raise ValueError(f"mask {mask.shape} does not match the image {self.mask.shape}")
        new = np.where(mask != 0, np.uint8(HOLE), np.uint8(0))
        changed = mask_bbox(new != self.mask)

        def edit() -> Rect:
            self.mask[changed.slices] = new[changed.slices]
            return changed

        self._mask_edit(label, changed, edit)

    def merge_mask(self, rect: Rect, patch: np.ndarray, subtract: bool = False, label: str = "Merge mask") -> None:
        """Add ``patch``'s non-zero pixels to the hole in ``rect`` (or take them out of it with
        ``subtract``), as one undo step. Reads and writes only ``rect`` (and its tiles' backup), so
        a selection accepted on a 24 MP photo costs what its box costs, not the photo."""
        if patch.shape != (rect.height, rect.width):
            raise ValueError(f"patch {patch.shape} does not match the rectangle {rect.height}x{rect.width}")
        if rect.is_empty or not self.bounds.contains(rect):
            raise ValueError(f"rectangle {rect} is empty or outside the {self.width}x{self.height} image")
        value = np.uint8(0 if subtract else HOLE)

        def edit() -> Rect:
            area = self.mask[rect.slices]
            changed = (patch != 0) & (area != value)
            area[changed] = value
            return mask_bbox(changed).translate(rect.x0, rect.y0)

        self._mask_edit(label, rect, edit)

    def marked_mask(self) -> np.ndarray:
        """Everything marked for removal, as a new 0/255 array: the painted mask plus the holes the
        visible layers were made from (a removal clears its hole from the painted mask)."""
        out = self.mask.copy()
        for layer in self.layers:
            if layer.visible:
                out[layer.rect.slices][layer.source_mask != 0] = HOLE
        return out

    # --- layers --------------------------------------------------------------------------------
    def add_layer(self, layer: Layer, clear_mask: bool = True) -> None:
        """Put an inpainting result on top ("Remove object"); by default its hole leaves the mask."""
        self._finish_stroke()
        if not self.bounds.contains(layer.rect):
            raise ValueError(f"layer box {layer.rect} is outside the {self.width}x{self.height} image")
        if any(existing.id == layer.id for existing in self.layers):
            raise ValueError(f"a layer with id {layer.id!r} is already in the document")
        self._run(AddLayerCommand(layer, len(self.layers), clear_mask))

    def set_layer_visible(self, layer_id: str, visible: bool) -> None:
        self._finish_stroke()
        old = self.layers.find(layer_id)
        if old.visible == bool(visible):
            return
        label = "Show layer" if visible else "Hide layer"
        self._run(ReplaceLayerCommand(label, old, old.replace(visible=bool(visible)), pixels_change=True))

    def rename_layer(self, layer_id: str, name: str) -> None:
        self._finish_stroke()
        old = self.layers.find(layer_id)
        if old.name == name:
            return
        self._run(ReplaceLayerCommand("Rename layer", old, old.replace(name=str(name)), pixels_change=False))

    def move_layer(self, layer_id: str, new_index: int) -> None:
        """Move a layer to ``new_index`` in the bottom-to-top order (clamped to the stack)."""
        self._finish_stroke()
        old_index = self.layers.index(layer_id)
        new_index = max(0, min(int(new_index), len(self.layers) - 1))
        if new_index == old_index:
            return
        self._run(MoveLayerCommand(self.layers[old_index], old_index, new_index))

    def delete_layer(self, layer_id: str) -> None:
        self._finish_stroke()
        index = self.layers.index(layer_id)
        self._run(DeleteLayerCommand(self.layers[index], index))

    def merge_down(self, layer_id: str) -> None:
        """Merge a layer with the one below it into one layer (hidden ones contribute nothing)."""
        self._finish_stroke()
        index = self.layers.index(layer_id)
        if index == 0:
            raise ValueError("the bottom layer has nothing below it to merge with")
        below, top = self.layers[index - 1], self.layers[index]
        self._run(MergeDownCommand(below, top, merge_layers(below, top), index - 1))

    # --- reading ------------------------------------------------------------------------------
    def composite(self, region: Rect | None = None) -> np.ndarray:
        """The visible image (original + visible layers) in ``region`` (the whole image when None)."""
        return self.layers.composite(self.original, region or self.bounds)

    def touched(self) -> np.ndarray:
        return self.layers.touched((self.height, self.width))

    def snapshot(self) -> DocumentSnapshot:
        """An immutable copy for work off the GUI thread; costs one mask copy (~24 MB at 24 MP)."""
        return DocumentSnapshot(
            original=self.original,
            mask=readonly(self.mask.copy()),
            layers=tuple(self.layers),
            source=self.source,
            revision=self.revision,
            name=self.name,
            project_path=self.project_path,
        )

    # --- history ------------------------------------------------------------------------------
    def undo(self) -> None:
        self._finish_stroke()
        was_clean = self.history.is_clean
        if self.history.undo() is not None:
            self._history_changed(was_clean)

    def redo(self) -> None:
        self._finish_stroke()
        was_clean = self.history.is_clean
        if self.history.redo() is not None:
            self._history_changed(was_clean)

    def mark_clean(self) -> None:
        """The current state is saved: the title loses its asterisk."""
        self._finish_stroke()
        was_clean = self.history.is_clean
        self.history.mark_clean()
        if not was_clean:
            self._emit("clean", None)

    # --- construction from saved parts -------------------------------------------------------
    @classmethod
    def restore(
        cls,
        original: np.ndarray,
        mask: np.ndarray,
        layers: Sequence[Layer],
        source: "LoadedImage | None" = None,
        name: str | None = None,
        project_path: Path | None = None,
        history_budget: int = DEFAULT_BUDGET,
    ) -> "Document":
        """A document in a saved state (a project, an autosave): no history, marked clean."""
        doc = cls(original, source=source, history_budget=history_budget, name=name)
        if mask.shape != doc.mask.shape:
            raise ValueError(f"mask {mask.shape} does not match the image {doc.mask.shape}")
        np.copyto(doc.mask, mask)
        ids = set()
        for layer in layers:
            if not doc.bounds.contains(layer.rect):
                raise ValueError(f"layer box {layer.rect} is outside the image")
            if layer.id in ids:
                raise ValueError(f"duplicate layer id {layer.id!r}")
            ids.add(layer.id)
        doc.layers = LayerStack(layers)
        doc._project_path = Path(project_path) if project_path is not None else None
        doc.history.mark_clean()
        return doc


class _EditTarget(CommandTarget):
    """What the history hands its commands: the document's mask, layers and change notifications."""

    def __init__(self, doc: Document) -> None:
        self._doc = doc

    @property
    def mask(self) -> np.ndarray:
        return self._doc.mask

    @property
    def layers(self) -> LayerStack:
        return self._doc.layers

    def mask_changed(self, rect: Rect | None) -> Rect | None:
        return self._doc._mask_changed(rect)

    def layers_changed(self, rect: Rect | None) -> Rect | None:
        return self._doc._layers_changed(rect)
