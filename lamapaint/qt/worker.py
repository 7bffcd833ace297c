"""The inference worker: removal jobs on the job runner's inference lane, answered through signals.

It never touches the scene, QPixmaps or the Document: it receives an ``InpaintRequest`` (the
hole, a frozen view of the photo's layers, the engine's ``InpaintOptions``, a request id, a
cancel token) and answers with signals carrying plain data. The engine (and with it torch) is imported on the first request, on the lane's thread.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import QObject, Signal

from lamapaint.core.geometry import Rect
from lamapaint.core.layers import Layer, LayerStack
from lamapaint.inpaint.hole import HoleMask
from lamapaint.inpaint.types import EngineError, InpaintOptions, RunInfo
from lamapaint.jobs import CancelToken, ProgressCallback
from lamapaint.qt.jobs import Job, JobRunner

if TYPE_CHECKING:  # the engine (and torch) is imported in the worker thread, on the first request
    from lamapaint.inpaint.speed import SpeedBook
    from lamapaint.inpaint.types import Backend

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class InpaintRequest:
    """A removal as it left the GUI thread: nothing in it changes while the worker reads it.

    The photo travels as its read-only original and the tuple of (frozen) layers, not as pixels:
    the engine's planner picks the regions it needs and the worker composes only those.
    """

    request_id: int
    original: np.ndarray  # (H, W, 3) uint8, the document's read-only original
    layers: tuple[Layer, ...]  # the layer stack when the request left (layers share read-only arrays)
    hole: HoleMask  # what to remove (a copy of the mask's box)
    options: InpaintOptions
    revision: int  # Document.revision when the request left
    cancel: CancelToken = field(default_factory=CancelToken)

    def composite(self, rect: Rect) -> np.ndarray:
        """The visible image in ``rect`` as it was when the request left: the engine's image source."""
        return LayerStack(list(self.layers)).composite(self.original, rect)


@dataclass(frozen=True)
class InpaintResult:
    request_id: int
    patch: np.ndarray  # (h, w, 3) uint8: the hole's box (request.hole.box), hole filled
    run: RunInfo


@dataclass(frozen=True)
class EngineInfo:
    backend: str
    device: str
    precision: str
    fallback_reason: str | None


INFERENCE_LANE = "inference"


class InpaintWorker(QObject):
    """Runs removal requests as jobs on the inference lane: one at a time, in order, on one
    long-lived thread, where the loaded backend (one per distinct option set) stays."""

    progress = Signal(int, float, str)  # request id, fraction, message
    finished = Signal(object)  # InpaintResult
    failed = Signal(int, str)  # request id, user-facing message
    cancelled = Signal(int)
    engineReady = Signal(object)  # EngineInfo, once per backend created

    def __init__(self, jobs: JobRunner, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._jobs = jobs
        jobs.lane(INFERENCE_LANE, keep_thread=True)
        self._backend: Backend | None = None  # touched only on the inference lane's thread
        self._backend_options: InpaintOptions | None = None
        self._speeds: SpeedBook | None = None  # this machine's measured speed, read on the first request

    def submit(self, request: InpaintRequest) -> Job:
        rid = request.request_id
        return self._jobs.submit(
            INFERENCE_LANE,
            f"Removal {rid}",
            lambda progress, cancel: self._run(request, progress),
            on_done=self.finished.emit,
            on_failed=lambda exc: self.failed.emit(rid, _describe(exc)),
            on_cancelled=lambda: self.cancelled.emit(rid),
            on_progress=lambda fraction, message: self.progress.emit(rid, fraction, message),
            cancel=request.cancel,
        )

    def wait(self, timeout_ms: int = 10_000) -> None:
        """Wait for the running request (cancel it first): the model thread must not outlive the window."""
        if not self._jobs.wait(INFERENCE_LANE, timeout_ms):
            log.warning("The inference lane did not stop within %d ms", timeout_ms)

    def _run(self, request: InpaintRequest, progress: ProgressCallback) -> InpaintResult:
        from lamapaint.inpaint.speed import SpeedBook
        from lamapaint.inpaint.timing import timed_fill

        if self._speeds is None:
            self._speeds = SpeedBook.load()
        needs_load = self._backend is None or request.options != self._backend_options
        patch, run = timed_fill(
            self._backend_for, needs_load, request.composite, request.hole, request.options, progress, request.cancel, self._speeds
        )
        request.cancel.raise_if_cancelled()
        return InpaintResult(request.request_id, patch, run)

    def forget_backend(self) -> None:
        """Models changed (one was installed): the next request chooses its backend afresh.

        Queued on the inference lane, the only thread that touches the backend.
        """

        def forget(_progress: ProgressCallback, _cancel: object) -> None:
            self._backend = None
            self._backend_options = None

        self._jobs.submit(INFERENCE_LANE, "Forget the engine", forget)

    def _backend_for(self, options: InpaintOptions) -> "Backend":
        from lamapaint.inpaint.backends import create_backend

        if self._backend is None or options != self._backend_options:
            self._backend = None  # a failed creation must not leave the previous options' backend behind
            self._backend = create_backend(options)
            self._backend_options = options
            b = self._backend
            self.engineReady.emit(EngineInfo(b.name, b.device, b.precision, b.fallback_reason))
        return self._backend


def _describe(exc: BaseException) -> str:
    """A short message for the person; the engine's own errors are already worded for them."""
    if isinstance(exc, MemoryError) or (isinstance(exc, RuntimeError) and "out of memory" in str(exc).lower()):
        # torch.cuda.OutOfMemoryError is a RuntimeError saying "CUDA out of memory".
        return "Out of memory while removing. Try a smaller selection or the 'resize' strategy."
    text = str(exc) or type(exc).__name__
    return text if isinstance(exc, EngineError) else f"Removal failed: {text}"
