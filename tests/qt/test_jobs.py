"""The one job mechanism: lanes run in order with progress and cancel, and the editor's file jobs
and the model dialog's download use it (cancel from the status bar; closing the dialog cancels)."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from lamapaint.core.geometry import Rect
from lamapaint.jobs import Cancelled
from lamapaint.qt.jobs import JobRunner
from lamapaint.qt.main_window import MainWindow

WAIT_MS = 10_000


def test_a_lane_runs_in_order_with_progress_and_every_outcome(qtbot) -> None:  # noqa: ANN001
    runner = JobRunner()
    runner.lane("work")
    seen: list[object] = []
    order: list[int] = []

    def step(i: int):  # noqa: ANN202
        def fn(progress, cancel):  # noqa: ANN001, ANN202
            order.append(i)
            progress(0.5, f"half {i}")
            time.sleep(0.01)
            return i * 10

        return fn

    def boom(progress, cancel):  # noqa: ANN001, ANN202
        raise ValueError("bad input")

    def stops(progress, cancel):  # noqa: ANN001, ANN202
        cancel.raise_if_cancelled()
        return "never"

    busy: list[tuple[bool, str]] = []
    runner.busyChanged.connect(lambda b, label: busy.append((b, label)))
    for i in range(4):
        runner.submit("work", f"step {i}", step(i), on_done=seen.append, on_progress=lambda f, m: seen.append(m), foreground=True)
    runner.submit("work", "boom", boom, on_failed=lambda exc: seen.append(type(exc).__name__))
    queued = runner.submit("work", "stops", stops, on_done=seen.append, on_cancelled=lambda: seen.append("cancelled"))
    queued.cancel()  # cancelled while waiting its turn: never starts
    qtbot.waitUntil(lambda: not runner.running(), timeout=WAIT_MS)
    assert order == [0, 1, 2, 3]
    assert seen == ["half 0", 0, "half 1", 10, "half 2", 20, "half 3", 30, "ValueError", "cancelled"]
    assert busy[0] == (True, "step 0") and busy[-1] == (False, "") and not runner.busy
    with pytest.raises(KeyError):
        runner.submit("nowhere", "x", step(9))


class _Gate:
    """Blocks the first progress report of a file job until the test opens it."""

    def __init__(self) -> None:
        self.reached = threading.Event()
        self.open = threading.Event()

    def wrap(self, progress):  # noqa: ANN001, ANN202
        def report(fraction: float, message: str) -> None:
            self.reached.set()
            assert self.open.wait(10)
            progress(fraction, message)

        return report


def test_cancelled_save_keeps_the_previous_file_and_the_document_dirty(
    qtbot, doc_window: MainWindow, tmp_path: Path, monkeypatch: pytest.MonkeyPatch  # noqa: ANN001
) -> None:
    import lamapaint.io.project as project

    win = doc_window
    doc = win.document
    path = tmp_path / "work.lamapaint"
    win.files.save_to(path)
    qtbot.waitUntil(lambda: doc.is_clean and not win.jobs.busy, timeout=WAIT_MS)
    first = path.read_bytes()
    doc.fill_rect(Rect(10, 10, 40, 40))
    real_save = project.save_project
    gate = _Gate()
    monkeypatch.setattr(project, "save_project", lambda p, snap, progress, cancel, **kw: real_save(p, snap, gate.wrap(progress), cancel, **kw))
    win.files.save_to(path)
    assert gate.reached.wait(10)
    assert win.progress_bar.isVisible() and win.cancel_button.isVisible() and "Saving" in win.busy_label.text()
    qtbot.mouseClick(win.cancel_button, Qt.MouseButton.LeftButton)
    gate.open.set()
    qtbot.waitUntil(lambda: not win.jobs.busy, timeout=WAIT_MS)
    assert path.read_bytes() == first
    assert sorted(p.name for p in tmp_path.iterdir()) == ["work.lamapaint"]  # no temp file left
    assert not doc.is_clean and win.windowTitle().split(" — ")[0].endswith("*")
    assert "cancelled" in win.statusBar().currentMessage() and not win.progress_bar.isVisible()


def test_cancelled_open_keeps_the_open_document(
    qtbot, doc_window: MainWindow, photo_path: Path, monkeypatch: pytest.MonkeyPatch  # noqa: ANN001
) -> None:
    import lamapaint.io.images as images

    win = doc_window
    doc = win.document
    real_load = images.load_image
    started, release = threading.Event(), threading.Event()

    def slow_load(path):  # noqa: ANN001, ANN202
        started.set()
        assert release.wait(10)
        return real_load(path)

    monkeypatch.setattr(images, "load_image", slow_load)
    win.files.open_path(photo_path)
    assert started.wait(10)
    win.cancel_running()
    release.set()
    qtbot.waitUntil(lambda: not win.jobs.running(), timeout=WAIT_MS)  # the open's outcome was handled: nothing comes later
    assert win.document is doc and "cancelled" in win.statusBar().currentMessage()


def test_cancelled_export_writes_nothing(qtbot, doc_window: MainWindow, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: ANN001
    from lamapaint.core.document import DocumentSnapshot

    win = doc_window
    started, release = threading.Event(), threading.Event()
    real_composite = DocumentSnapshot.composite

    def slow_composite(self, region=None):  # noqa: ANN001, ANN202
        started.set()
        assert release.wait(10)
        return real_composite(self, region)

    monkeypatch.setattr(DocumentSnapshot, "composite", slow_composite)
    out = tmp_path / "out.png"
    win.files.export_to(out, "PNG")
    assert started.wait(10)
    qtbot.mouseClick(win.cancel_button, Qt.MouseButton.LeftButton)
    release.set()
    qtbot.waitUntil(lambda: not win.jobs.busy, timeout=WAIT_MS)
    assert not out.exists() and list(tmp_path.iterdir()) == []
    assert "cancelled" in win.statusBar().currentMessage()


@pytest.mark.parametrize("close", ["accept", "reject", "close"])
def test_closing_the_model_dialog_cancels_the_download(qtbot, monkeypatch: pytest.MonkeyPatch, close: str) -> None:  # noqa: ANN001
    import lamapaint.inpaint.weights as weights
    from lamapaint.qt.dialogs.model_manager import ModelManagerDialog
    from lamapaint.settings import Settings

    stopped = threading.Event()

    def slow_download(name, progress, cancel):  # noqa: ANN001, ANN202 - stands in for the network
        for i in range(2000):
            progress(i / 2000, "downloading")
            if cancel.cancelled:
                stopped.set()
                raise Cancelled("cancelled")
            time.sleep(0.005)
        raise AssertionError("the download outlived its dialog")

    monkeypatch.setattr(weights, "download_model", slow_download)
    dialog = ModelManagerDialog(Settings())
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.start_download()
    qtbot.waitUntil(lambda: dialog.progress.value() > 0, timeout=WAIT_MS)
    getattr(dialog, close)()
    assert stopped.wait(5), f"{close} left the download running"

