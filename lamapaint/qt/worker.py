"""The inference worker: a QObject living on its own QThread, fed plain data through signals.

It never touches the scene, QPixmaps or the Document: it receives an ``InpaintRequest`` (numpy
crops, engine options as a dict, a request id, a cancel token) and answers with signals carrying
plain data. The engine (and with it torch) is imported on the first request, inside this thread.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from PySide6.QtCore import QObject, QThread, Signal, Slot

from lamapaint.core.geometry import Rect
from lamapaint.jobs import CancelToken, Cancelled

if TYPE_CHECKING:  # the engine (and torch) is imported in the worker thread, on the first request
    from lamapaint.inpaint.backends import Backend, InpaintOptions

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class InpaintRequest:
    request_id: int
    image: np.ndarray  # (h, w, 3) uint8 composite around the hole (the crop)
    mask: np.ndarray  # (h, w) uint8 hole, same crop
    crop: Rect  # where the crop sits in the photo
    engine: dict[str, Any]  # keyword arguments for lamapaint.inpaint.backends.InpaintOptions
    revision: int  # Document.revision when the request left
    cancel: CancelToken = field(default_factory=CancelToken)


@dataclass(frozen=True)
class InpaintResult:
    request_id: int
    rgb: np.ndarray  # (h, w, 3) uint8, the crop with the hole filled
    info: dict[str, Any]  # JSON-able: backend, device, precision, strategy, scale, seconds


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
        self._backend_key: tuple[Any, ...] | None = None

    @Slot(object)
    def run(self, request: InpaintRequest) -> None:
        rid = request.request_id
        try:
            request.cancel.raise_if_cancelled()
            self.progress.emit(rid, 0.0, "Loading the model…" if self._backend is None else "Removing…")
            backend, options = self._backend_for(request.engine)
            request.cancel.raise_if_cancelled()
            start = time.perf_counter()

            def report(fraction: float, message: str) -> None:
                self.progress.emit(rid, float(fraction), message)

            rgb = backend.inpaint(request.image, request.mask, options, report, request.cancel)
            seconds = time.perf_counter() - start
            request.cancel.raise_if_cancelled()
        except Cancelled:
            self.cancelled.emit(rid)
            return
        except Exception as exc:  # every failure becomes a message; the document is untouched
            log.exception("Removal %d failed", rid)
            self.failed.emit(rid, _describe(exc))
            return
        self.finished.emit(InpaintResult(rid, np.ascontiguousarray(rgb, dtype=np.uint8), _run_info(backend, options, seconds)))

    def _backend_for(self, engine: dict[str, Any]) -> tuple["Backend", "InpaintOptions"]:
        from lamapaint.inpaint.backends import InpaintOptions, create_backend

        options = InpaintOptions(**engine)
        key = tuple(sorted((k, str(v)) for k, v in engine.items()))
        if self._backend is None or key != self._backend_key:
            self._backend = create_backend(options)
            self._backend_key = key
            b = self._backend
            self.engineReady.emit(EngineInfo(str(b.name), str(b.device), str(b.precision), b.fallback_reason))
        return self._backend, options


def _describe(exc: BaseException) -> str:
    """A short message for the person; engine errors (InpaintError, WeightsError) are already worded for them."""
    text = str(exc) or type(exc).__name__
    if isinstance(exc, MemoryError):
        return "Out of memory while removing. Try a smaller selection or the 'resize' strategy."
    # By name, along the class hierarchy: subclasses such as NoWeightsError or DownloadError count
    # too, and this module need not import the engine to recognise them.
    if any(cls.__name__ in ("InpaintError", "WeightsError") for cls in type(exc).__mro__):
        return text
    return f"Removal failed: {text}"


def _jsonable(value: Any) -> Any:
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, Rect):
        return value.as_list()
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, np.generic):
        return value.item()
    return str(value)


def _run_info(backend: "Backend", options: "InpaintOptions", seconds: float) -> dict[str, Any]:
    info: dict[str, Any] = {
        "backend": str(backend.name),
        "device": str(backend.device),
        "precision": str(backend.precision),
        "strategy": str(options.strategy),
        "seconds": round(seconds, 3),
    }
    if backend.last_run is not None:
        run = _jsonable(backend.last_run)
        if isinstance(run, dict):
            for key in ("strategy", "scale", "model"):
                if key in run:
                    info[key] = run[key]
            info["run"] = run
    return info


class WorkerThread(QObject):
    """Owns the QThread and the worker; ``submit`` queues a request onto the worker thread."""

    submit = Signal(object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.thread = QThread()
        self.thread.setObjectName("lamapaint-inpaint")
        self.worker = InpaintWorker()
        self.worker.moveToThread(self.thread)
        self.submit.connect(self.worker.run)
        self.thread.finished.connect(self.worker.deleteLater)
        self.thread.start()

    def stop(self, timeout_ms: int = 10_000) -> None:
        """Ask the thread to finish after the current request (cancel it first) and wait."""
        self.thread.quit()
        if not self.thread.wait(timeout_ms):
            log.warning("The inference thread did not stop within %d ms", timeout_ms)
