"""Sends removal jobs to the worker and turns their results into "Remove object" layers.

Lives on the GUI thread. A request carries the hole (a copy of the mask's bounding box) and a
frozen view of the photo (its read-only original and the tuple of layers), so the person can keep
painting, zooming and undoing while it runs, and the GUI thread copies no photo pixels for it.
The engine's planner alone decides how much context each hole gets, exactly as for
``lamapaint-cli remove``; the worker composes only the regions it plans and answers with the
hole's box, filled, which becomes the layer as it is.

This controller owns every status message about a removal (done, cancelled, dropped, failed);
the window only shows them. The fill histogram's pixels are computed only when the histogram is
shown (``FillSample``), never on the way to the layer.

One job is in flight at a time: pressing Remove again cancels it and sends a new request with the
whole current mask (which still holds the old hole). A result is dropped, with a status message,
when it was superseded or cancelled, or when the pixels the engine read changed meanwhile (a
layer below hidden/deleted, undo past the point).
"""

from __future__ import annotations

import functools
import itertools
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

import numpy as np
from PySide6.QtCore import QObject, Signal

from lamapaint.core.geometry import Rect, mask_bbox
from lamapaint.core.layers import Layer
from lamapaint.inpaint.hole import HoleMask
from lamapaint.inpaint.regions import context_margin
from lamapaint.inpaint.types import EngineError, InpaintOptions, RunInfo, run_summary
from lamapaint.qt.jobs import JobRunner
from lamapaint.qt.worker import EngineInfo, InpaintRequest, InpaintResult, InpaintWorker

if TYPE_CHECKING:
    from lamapaint.core.document import Document
    from lamapaint.qt.document_adapter import DocumentAdapter

log = logging.getLogger(__name__)

#: Holes larger than this (in pixels) are beyond what the basic fill does well.
LARGE_HOLE_PIXELS = 48 * 48
BASIC_FILL_HINT = "The basic fill is meant for small blemishes; get the LaMa model for larger areas (Remove ▸ Models and Device…)."


@dataclass(frozen=True)
class FillSample:
    """A finished fill as the histogram reads it: its pixels and the context around the hole,
    cut out on the first ask (the histogram may never be shown) and kept."""

    name: str
    request: InpaintRequest
    patch: np.ndarray  # the hole's box, filled

    @functools.cached_property
    def pixels(self) -> tuple[np.ndarray, np.ndarray]:
        """(filled pixels (n, 3), context pixels (m, 3)): the planner's own margin around the hole."""
        hole = self.request.hole
        ring = hole.box.pad(context_margin(hole.box)).clip(hole.width, hole.height)
        return self.patch[hole.pixels], self.request.composite(ring)[~hole.within(ring)]


def done_message(run: RunInfo, hole_pixels: int) -> str:
    """The status line for a finished removal; a large hole filled by the basic fill gets the hint."""
    if run.backend != "lama" and hole_pixels > LARGE_HOLE_PIXELS:
        return f"{run_summary(run)}. {BASIC_FILL_HINT}"
    return f"{run_summary(run)}."


class RemovalController(QObject):
    busyChanged = Signal(bool)
    progress = Signal(float, str)
    statusMessage = Signal(str)  # every removal message; the window shows them
    engineChanged = Signal(object)  # EngineInfo
    failed = Signal(str)  # also said as a status message; the window may show it more loudly
    layerAdded = Signal(object, object)  # Layer (its run typed in ``layer.run``), FillSample

    def __init__(
        self, adapter: "DocumentAdapter", engine_options: Callable[[], InpaintOptions], jobs: JobRunner, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self._adapter = adapter
        self._engine_options = engine_options
        self._worker = worker = InpaintWorker(jobs, self)
        worker.progress.connect(self._on_progress)
        worker.finished.connect(self._on_finished)
        worker.failed.connect(self._on_failed)
        worker.cancelled.connect(self._on_cancelled)
        worker.engineReady.connect(self._on_engine)
        self._ids = itertools.count(1)
        self._pending: InpaintRequest | None = None
        self._pending_doc: Document | None = None
        self.engine: EngineInfo | None = None

    @property
    def busy(self) -> bool:
        return self._pending is not None

    def remove(self) -> bool:
        """Queue a removal of the current mask; False (with a message) when there is nothing to do."""
        doc = self._adapter.document
        if doc is None:
            return False
        box = mask_bbox(doc.mask)  # the one pass over the whole mask
        if box.is_empty:
            self.statusMessage.emit("Paint over what you want to remove first.")
            return False
        try:
            options = self._engine_options()
        except EngineError as exc:  # settings the engine refuses: said, never a silent slot exception
            self._say_failed(str(exc))
            return False
        if self._pending is not None:
            self._pending.cancel.cancel()  # superseded: the new mask still holds the old hole
        request = InpaintRequest(
            request_id=next(self._ids),
            original=doc.original,
            layers=tuple(doc.layers),
            hole=HoleMask.from_box(doc.height, doc.width, box, doc.mask[box.slices]),
            options=options,
            revision=doc.revision,
        )
        self._pending, self._pending_doc = request, doc
        self.busyChanged.emit(True)
        self.progress.emit(0.0, "Removing…")
        log.info("Removal %d: hole %s", request.request_id, box)
        self._worker.submit(request)
        return True

    def cancel(self) -> None:
        if self._pending is not None:
            self._pending.cancel.cancel()
            self._finish_pending()
            self.statusMessage.emit("Removal cancelled.")

    def models_changed(self) -> None:
        """A model was installed: the next removal looks for it instead of reusing the fallback."""
        self._worker.forget_backend()

    def shutdown(self) -> None:
        if self._pending is not None:
            self._pending.cancel.cancel()
        self._pending = None
        self._worker.wait()

    def _finish_pending(self) -> InpaintRequest | None:
        request, self._pending, self._pending_doc = self._pending, None, None
        self.busyChanged.emit(False)
        return request

    def _is_current(self, request_id: int) -> bool:
        return self._pending is not None and self._pending.request_id == request_id

    def _on_progress(self, request_id: int, fraction: float, message: str) -> None:
        if self._is_current(request_id):
            self.progress.emit(fraction, message)

    def _on_engine(self, info: EngineInfo) -> None:
        self.engine = info
        self.engineChanged.emit(info)

    def _on_cancelled(self, request_id: int) -> None:
        if self._is_current(request_id):
            self._finish_pending()
            self.statusMessage.emit("Removal cancelled.")

    def _on_failed(self, request_id: int, message: str) -> None:
        if not self._is_current(request_id):
            return
        self._finish_pending()
        self._say_failed(message)

    def _say_failed(self, message: str) -> None:
        self.statusMessage.emit(message)
        self.failed.emit(message)

    def _on_finished(self, result: InpaintResult) -> None:
        if not self._is_current(result.request_id):
            log.info("Dropping superseded result %d", result.request_id)
            return
        doc = self._pending_doc
        request = self._finish_pending()
        assert request is not None and doc is not None
        if request.cancel.cancelled:
            self.statusMessage.emit("Removal cancelled.")
            return
        if doc is not self._adapter.document or not self._still_applies(doc, request, result):
            self.statusMessage.emit("The photo changed while removing; the result was dropped. Press Remove again.")
            return
        layer = self._make_layer(request, result, f"Removal {len(doc.layers) + 1}")
        doc.add_layer(layer)  # clears the job's own hole; paint added meanwhile stays
        self.statusMessage.emit(done_message(result.run, int(np.count_nonzero(request.hole.pixels))))
        self.layerAdded.emit(layer, FillSample(layer.name, request, result.patch))

    @staticmethod
    def _still_applies(doc: "Document", request: InpaintRequest, result: InpaintResult) -> bool:
        """True when every pixel the engine read still looks the same (paint on the mask does not count)."""
        if doc.revision == request.revision:
            return True
        read = [request.hole.box, *(region.rect for region in result.run.regions)]
        now = tuple(doc.layers)
        if all(_layers_under(now, rect) == _layers_under(request.layers, rect) for rect in read):
            return True  # the same pixel arrays, in the same order, cover what was read
        return all(np.array_equal(doc.composite(rect), request.composite(rect)) for rect in read)

    @staticmethod
    def _make_layer(request: InpaintRequest, result: InpaintResult, name: str) -> Layer:
        """A tight patch: the hole's bounding box, coverage = the hole."""
        hole = request.hole
        return Layer.create(name, hole.box, result.patch, hole.as_u8(), run=result.run)


def _layers_under(layers: tuple[Layer, ...], rect: Rect) -> list[tuple[Rect, int, int]]:
    """What decides the composite in ``rect``: the visible layers over it, by their pixel arrays."""
    return [(layer.rect, id(layer.rgb), id(layer.coverage)) for layer in layers if layer.visible and layer.rect.intersects(rect)]
