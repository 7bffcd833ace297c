"""The inference worker: a QObject living on its own QThread, fed plain data through signals.

It never touches the scene, QPixmaps or the Document: it receives an ``InpaintRequest`` (numpy
crops, the engine's ``InpaintOptions``, a request id, a cancel token) and answers with signals
carrying plain data. The engine (and with it torch) is imported on the first request, inside this thread.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import QObject, QThread, Signal, Slot

from lamapaint.core.geometry import Rect
from lamapaint.inpaint.types import EngineError, InpaintOptions, RunInfo
from lamapaint.jobs import CancelToken, Cancelled

if TYPE_CHECKING:  # the engine (and torch) is imported in the worker thread, on the first request
    from lamapaint.inpaint.types import Backend

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class InpaintRequest:
    request_id: int
    image: np.ndarray  # (h, w, 3) uint8 composite around the hole (the crop)
    mask: np.ndarray  # (h, w) uint8 hole, same crop
    crop: Rect  # where the crop sits in the photo
    options: InpaintOptions
    revision: int  # Document.revision when the request left
    cancel: CancelToken = field(default_factory=CancelToken)


@dataclass(frozen=True)
class InpaintResult:
    request_id: int
    rgb: np.ndarray  # (h, w, 3) uint8, the crop with the hole filled
    run: RunInfo


@dataclass(frozen=True)
class EngineInfo:
    backend: str
    device: str
    precision: str
    fallback_reason: str | None


class InpaintWorker(QObject):
    """Runs requests one at a time, in order; keeps one backend per distinct option set."""

    progress = Signal(int, float, str)  # request id, fraction, message
    finished = Signal(object)  # InpaintResult
    failed = Signal(int, str)  # request id, user-facing message
    cancelled = Signal(int)
    engineReady = Signal(object)  # EngineInfo, once per backend created

    def __init__(self) -> None:
        super().__init__()
        self._backend: Backend | None = None
        self._backend_options: InpaintOptions | None = None

    @Slot(object)
    def run(self, request: InpaintRequest) -> None:
        rid = request.request_id
        try:
            request.cancel.raise_if_cancelled()
            self.progress.emit(rid, 0.0, "Loading the model…" if self._backend is None else "Removing…")
            backend = self._backend_for(request.options)
            request.cancel.raise_if_cancelled()

            def report(fraction: float, message: str) -> None:
                self.progress.emit(rid, float(fraction), message)

            rgb, run = backend.inpaint(request.image, request.mask, request.options, report, request.cancel)
            request.cancel.raise_if_cancelled()
        except Cancelled:
            self.cancelled.emit(rid)
            return
        except Exception as exc:  # every failure becomes a message; the document is untouched
            log.exception("Removal %d failed", rid)
            self.failed.emit(rid, _describe(exc))
            return
        self.finished.emit(InpaintResult(rid, np.ascontiguousarray(rgb, dtype=np.uint8), run))

    @Slot()
    def forget_backend(self) -> None:
        """Models changed (one was installed): the next request chooses its backend afresh."""
        self._backend = None
        self._backend_options = None

    def _backend_for(self, options: InpaintOptions) -> "Backend":
        from lamapaint.inpaint.backends import create_backend

        if self._backend is None or options != self._backend_options:
            self._backend = create_backend(options)
            self._backend_options = options
            b = self._backend
            self.engineReady.emit(EngineInfo(b.name, b.device, b.precision, b.fallback_reason))
        return self._backend


def _describe(exc: BaseException) -> str:
    """A short message for the person; the engine's own errors are already worded for them."""
    if isinstance(exc, MemoryError):
        return "Out of memory while removing. Try a smaller selection or the 'resize' strategy."
    text = str(exc) or type(exc).__name__
    return text if isinstance(exc, EngineError) else f"Removal failed: {text}"


class WorkerThread(QObject):
    """Owns the QThread and the worker; ``submit`` queues a request onto the worker thread."""

    submit = Signal(object)
    forget = Signal()  # queued to the worker: drop the cached backend

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.thread = QThread()
        self.thread.setObjectName("lamapaint-inpaint")
        self.worker = InpaintWorker()
        self.worker.moveToThread(self.thread)
        self.submit.connect(self.worker.run)
        self.forget.connect(self.worker.forget_backend)
        self.thread.finished.connect(self.worker.deleteLater)
        self.thread.start()

    def stop(self, timeout_ms: int = 10_000) -> None:
        """Ask the thread to finish after the current request (cancel it first) and wait."""
        self.thread.quit()
        if not self.thread.wait(timeout_ms):
            log.warning("The inference thread did not stop within %d ms", timeout_ms)
