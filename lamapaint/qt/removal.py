"""Sends removal jobs to the worker and turns their results into "Remove object" layers.

Lives on the GUI thread. A request carries copies of the crop it needs, so the person can keep
painting, zooming and undoing while it runs. One job is in flight at a time: pressing Remove again
cancels it and sends a new request with the whole current mask (which still holds the old hole).
A result is dropped, with a status message, when it was superseded or cancelled, or when the
pixels under its crop changed meanwhile (a layer below hidden/deleted, undo past the point).
"""

from __future__ import annotations

import itertools
import logging
from typing import TYPE_CHECKING, Callable

import cv2
import numpy as np
from PySide6.QtCore import QObject, Signal

from lamapaint.core.geometry import Rect, mask_bbox
from lamapaint.core.layers import Layer
from lamapaint.inpaint.types import InpaintOptions, run_summary
from lamapaint.qt.worker import EngineInfo, InpaintRequest, InpaintResult, WorkerThread

if TYPE_CHECKING:
    from lamapaint.core.document import Document
    from lamapaint.qt.document_adapter import DocumentAdapter

log = logging.getLogger(__name__)

#: Context around the hole: LaMa fills from what it sees, so give it generously (IOPaint uses ~128+).
MIN_MARGIN = 128
MAX_MARGIN = 768
MARGIN_FRACTION = 0.75


def context_rect(hole: Rect, width: int, height: int) -> Rect:
    """The hole's bounding box padded by a margin that grows with the hole (capped), clipped to the photo."""
    margin = max(MIN_MARGIN, min(MAX_MARGIN, int(MARGIN_FRACTION * max(hole.width, hole.height))))
    return hole.pad(margin).clip(width, height)


class RemovalController(QObject):
    busyChanged = Signal(bool)
    progress = Signal(float, str)
    statusMessage = Signal(str)
    engineChanged = Signal(object)  # EngineInfo
    failed = Signal(str)
    layerAdded = Signal(object, object, object)  # Layer, filled pixels (n, 3), context pixels (m, 3)

    def __init__(self, adapter: "DocumentAdapter", engine_options: Callable[[], InpaintOptions], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._adapter = adapter
        self._engine_options = engine_options
        self._thread = WorkerThread(self)
        worker = self._thread.worker
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
        hole = mask_bbox(doc.mask)
        if hole.is_empty:
            self.statusMessage.emit("Paint over what you want to remove first.")
            return False
        if self._pending is not None:
            self._pending.cancel.cancel()  # superseded: the new mask still holds the old hole
        crop = context_rect(hole, doc.width, doc.height)
        request = InpaintRequest(
            request_id=next(self._ids),
            image=np.ascontiguousarray(doc.composite(crop)),
            mask=cv2.compare(np.ascontiguousarray(doc.mask[crop.slices]), 0, cv2.CMP_GT),  # 0/255, ~30x faster than np.where
            crop=crop,
            options=self._engine_options(),
            revision=doc.revision,
        )
        self._pending, self._pending_doc = request, doc
        self.busyChanged.emit(True)
        self.progress.emit(0.0, "Removing…")
        log.info("Removal %d: hole %s, crop %s", request.request_id, hole, crop)
        self._thread.submit.emit(request)
        return True

    def cancel(self) -> None:
        if self._pending is not None:
            self._pending.cancel.cancel()
            self._finish_pending()
            self.statusMessage.emit("Removal cancelled.")

    def models_changed(self) -> None:
        """A model was installed: the next removal looks for it instead of reusing the fallback."""
        self._thread.forget.emit()

    def shutdown(self) -> None:
        if self._pending is not None:
            self._pending.cancel.cancel()
        self._pending = None
        self._thread.stop()

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
        if doc is not self._adapter.document or not self._still_applies(doc, request):
            self.statusMessage.emit("The photo changed while removing; the result was dropped. Press Remove again.")
            return
        layer = self._make_layer(request, result, f"Removal {len(doc.layers) + 1}")
        doc.add_layer(layer)  # clears the job's own hole; paint added meanwhile stays
        self.statusMessage.emit(f"{run_summary(result.run)}.")
        hole = request.mask > 0
        self.layerAdded.emit(layer, result.rgb[hole], request.image[~hole])

    def _still_applies(self, doc: "Document", request: InpaintRequest) -> bool:
        if doc.revision == request.revision:
            return True
        return bool(np.array_equal(doc.composite(request.crop), request.image))

    @staticmethod
    def _make_layer(request: InpaintRequest, result: InpaintResult, name: str) -> Layer:
        """A tight patch: the hole's bounding box inside the crop, coverage = the hole."""
        layer = Layer.from_result(name, result.rgb, request.mask, info=result.run.to_layer_info())
        assert layer is not None  # requests are only made for non-empty masks
        return layer.replace(rect=layer.rect.translate(request.crop.x0, request.crop.y0))
