"""The one way the editor runs work off the GUI thread: jobs on named lanes.

A job is a plain callable ``fn(progress, cancel) -> result`` working on numpy/plain data. It runs on
a lane (a small pool of worker threads); its progress and outcome come back to the GUI thread as
queued signals of a ``Job`` object, which also carries its ``CancelToken``. Lanes keep unrelated
work apart: inference has one long-lived thread (the loaded model lives there; removals run one at a
time, in order), file jobs run in order on their own thread (a save then an export, never both), and
autosaves never wait behind an export.
"""

from __future__ import annotations

import itertools
import logging
from typing import Any, Callable

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

from lamapaint.jobs import CancelToken, Cancelled, ProgressCallback

log = logging.getLogger(__name__)

_DONE, _FAILED, _CANCELLED = "done", "failed", "cancelled"

#: What a job runs: ``fn(progress, cancel) -> result``, on a worker thread.
JobFn = Callable[[ProgressCallback, CancelToken], Any]


class Job(QObject):
    """One submitted job. Exactly one of ``done``, ``failed`` or ``cancelled`` fires, then ``finished``.

    The object lives on, and is only touched by, the GUI thread: the worker thread reports through
    the runner's own signals (queued), and the runner re-emits them here. So a job can be deleted
    as soon as it finished without racing a worker thread that is still inside an ``emit``.
    """

    progress = Signal(float, str)
    done = Signal(object)  # the result
    failed = Signal(object)  # the exception
    cancelled = Signal()
    finished = Signal()

    def __init__(self, lane: str, label: str, cancel: CancelToken, foreground: bool, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.lane = lane
        self.label = label
        self.token = cancel
        self.foreground = foreground
        self.running = True

    def cancel(self) -> None:
        """Ask the job to stop at its next safe point; ``cancelled`` fires when it did."""
        self.token.cancel()


class _Runnable(QRunnable):
    """The worker-thread side: holds the job's id and token, never the ``Job`` QObject itself."""

    def __init__(self, fn: JobFn, job_id: int, label: str, token: CancelToken, runner: "JobRunner") -> None:
        super().__init__()
        self._fn = fn
        self._job_id = job_id
        self._label = label
        self._token = token
        self._runner = runner
        self.setAutoDelete(True)

    def run(self) -> None:
        job_id, runner, token = self._job_id, self._runner, self._token
        try:
            token.raise_if_cancelled()  # cancelled while queued: never start
            result = self._fn(lambda fraction, message: runner._jobProgress.emit(job_id, float(fraction), str(message)), token)
        except Cancelled:
            runner._jobOutcome.emit(job_id, _CANCELLED, None)
        except Exception as exc:  # handed to the GUI thread, which words it for the person
            log.exception("Job %r failed", self._label)
            runner._jobOutcome.emit(job_id, _FAILED, exc)
        else:
            runner._jobOutcome.emit(job_id, _DONE, result)


class JobRunner(QObject):
    """Owns the lanes and the jobs in flight.

    ``busyChanged(busy, label)`` and ``progress(fraction, message)`` follow the *foreground* jobs (the
    ones the person started and waits for: open, save, export); background ones (autosave) stay quiet.
    """

    busyChanged = Signal(bool, str)
    progress = Signal(float, str)
    # Emitted on worker threads, received queued on the GUI thread.
    _jobProgress = Signal(int, float, str)  # job id, fraction, message
    _jobOutcome = Signal(int, str, object)  # job id, outcome, result or exception

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._lanes: dict[str, QThreadPool] = {}
        self._jobs: dict[int, Job] = {}
        self._ids = itertools.count(1)
        self._jobProgress.connect(self._on_progress)
        self._jobOutcome.connect(self._on_outcome)

    def lane(self, name: str, threads: int = 1, keep_thread: bool = False) -> None:
        """Declare a lane (idempotent). ``keep_thread``: its thread never expires (inference)."""
        if name in self._lanes:
            return
        pool = QThreadPool(self)
        pool.setMaxThreadCount(max(1, int(threads)))
        if keep_thread:
            pool.setExpiryTimeout(-1)
        pool.setObjectName(f"lamapaint-{name}")
        self._lanes[name] = pool

    def submit(
        self,
        lane: str,
        label: str,
        fn: JobFn,
        on_done: Callable[[Any], None] | None = None,
        on_failed: Callable[[BaseException], None] | None = None,
        on_cancelled: Callable[[], None] | None = None,
        on_progress: Callable[[float, str], None] | None = None,
        cancel: CancelToken | None = None,
        foreground: bool = False,
    ) -> Job:
        """Queue ``fn`` on ``lane``; the callbacks run on the GUI thread. Jobs on a lane run in order."""
        pool = self._lanes.get(lane)
        if pool is None:
            raise KeyError(f"no job lane {lane!r}")
        job = Job(lane, label, cancel or CancelToken(), foreground)  # owned by Python: freed when it finished
        if on_progress is not None:
            job.progress.connect(on_progress)
        if foreground:
            job.progress.connect(self._foreground_progress)
        if on_done is not None:
            job.done.connect(on_done)
        if on_failed is not None:
            job.failed.connect(on_failed)
        if on_cancelled is not None:
            job.cancelled.connect(on_cancelled)
        job_id = next(self._ids)
        self._jobs[job_id] = job
        if foreground:
            self.busyChanged.emit(True, label)
        pool.start(_Runnable(fn, job_id, label, job.token, self))
        return job

    @property
    def busy(self) -> bool:
        """True while a foreground job is queued or running."""
        return any(job.foreground for job in self._jobs.values())

    def running(self, lane: str | None = None) -> list[Job]:
        return [job for job in self._jobs.values() if lane is None or job.lane == lane]

    def cancel_foreground(self) -> bool:
        """Cancel every foreground job (the status bar's Cancel button); False when there was none."""
        jobs = [job for job in self._jobs.values() if job.foreground]
        for job in jobs:
            job.cancel()
        return bool(jobs)

    def wait(self, lane: str | None = None, timeout_ms: int = 30_000) -> bool:
        """Block until the lane's (or every lane's) jobs are done: used on quit and before a
        session ends, so a save is never cut short. Their outcome signals arrive afterwards, queued."""
        pools = [self._lanes[lane]] if lane is not None else list(self._lanes.values())
        return all(pool.waitForDone(timeout_ms) for pool in pools)

    def _foreground_progress(self, fraction: float, message: str) -> None:
        self.progress.emit(fraction, message)

    def _on_progress(self, job_id: int, fraction: float, message: str) -> None:
        job = self._jobs.get(job_id)
        if job is not None:
            job.progress.emit(fraction, message)

    def _on_outcome(self, job_id: int, outcome: str, payload: object) -> None:
        job = self._jobs.pop(job_id, None)
        if job is None:
            return
        job.running = False
        try:
            if outcome == _DONE:
                job.done.emit(payload)
            elif outcome == _FAILED:
                job.failed.emit(payload)
            else:
                job.cancelled.emit()
        finally:  # a raising callback must not leave the job counted as running
            job.finished.emit()
            self._busy_after(job)

    def _busy_after(self, job: Job) -> None:
        if job.foreground:
            remaining = [j for j in self._jobs.values() if j.foreground]
            self.busyChanged.emit(bool(remaining), remaining[-1].label if remaining else "")
