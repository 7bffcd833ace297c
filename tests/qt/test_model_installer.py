"""One model installer per window: the first-run panel and the model manager both use it, its jobs
run on the window's job runner (the status bar shows them and its Cancel stops them), and it
installs any family's catalogue entries through that family's store."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from lamapaint.jobs import CancelToken, Cancelled, ProgressCallback
from lamapaint.qt.dialogs.model_manager import ModelManagerDialog
from lamapaint.qt.main_window import MainWindow
from lamapaint.qt.model_installer import MODELS_LANE

WAIT_MS = 30_000


class SlowStore:
    """A model family that is not LaMa: downloads crawl until cancelled, imports succeed."""

    title = "Segment Anything model"

    def __init__(self) -> None:
        self.stopped = threading.Event()
        self.asked: list[str] = []

    def download(self, model_id: str, progress: ProgressCallback, cancel: CancelToken) -> Path:
        self.asked.append(model_id)
        for i in range(4000):
            progress(i / 4000, f"{model_id}: chunk {i}")
            if cancel.cancelled:
                self.stopped.set()
                raise Cancelled("cancelled")
            time.sleep(0.005)
        raise AssertionError("the download should have been cancelled")

    def import_file(self, path: Path, progress: ProgressCallback, cancel: CancelToken) -> Path:
        self.asked.append(str(path))
        return path.with_suffix(".safetensors")


@pytest.fixture
def slow_lama(monkeypatch: pytest.MonkeyPatch) -> threading.Event:
    """The LaMa store's download, crawling until cancelled (no network)."""
    import lamapaint.inpaint.weights as weights

    stopped = threading.Event()

    def slow_download(name, progress, cancel):  # noqa: ANN001, ANN202
        for i in range(4000):
            progress(i / 4000, f"{name}: chunk {i}")
            if cancel.cancelled:
                stopped.set()
                raise Cancelled("cancelled")
            time.sleep(0.005)
        raise AssertionError("the download should have been cancelled")

    monkeypatch.setattr(weights, "download_model", slow_download)
    return stopped


def test_the_panel_and_the_dialog_share_the_windows_installer(qtbot, window: MainWindow) -> None:
    dialog = ModelManagerDialog(window.settings, window, window.installer)
    qtbot.addWidget(dialog)
    assert window.first_run._installer is window.installer is dialog.installer
    assert dialog.installer.jobs is window.jobs  # one job runner: the status bar sees every job
    qtbot.waitUntil(lambda: not dialog.listing, timeout=WAIT_MS)
    dialog.reject()


def test_the_status_bars_cancel_stops_a_first_run_download(qtbot, window: MainWindow, slow_lama: threading.Event) -> None:
    window.first_run.offer()
    window.first_run.get_button.click()
    assert window.first_run.busy and window.first_run.cancel_button.isVisible()
    qtbot.waitUntil(lambda: window.progress_bar.value() > 0, timeout=WAIT_MS)
    assert window.cancel_button.isVisible() and window.busy_label.text()
    assert "Downloading the LaMa model" in window.cancel_button.toolTip()
    assert window.cursor().shape() != Qt.CursorShape.BusyCursor  # the person keeps working meanwhile
    qtbot.mouseClick(window.cancel_button, Qt.MouseButton.LeftButton)
    assert slow_lama.wait(5)
    qtbot.waitUntil(lambda: not window.first_run.busy, timeout=WAIT_MS)
    assert window.first_run.status.text().startswith("Cancelled; nothing was installed")
    assert not window.cancel_button.isVisible() and window.first_run.get_button.isEnabled()


def test_a_dialog_opened_during_a_download_follows_it_and_leaves_it_running(qtbot, window: MainWindow, slow_lama: threading.Event) -> None:
    window.first_run.start_download()
    qtbot.waitUntil(lambda: window.progress_bar.value() > 0, timeout=WAIT_MS)
    dialog = ModelManagerDialog(window.settings, window, window.installer)
    qtbot.addWidget(dialog)
    assert dialog.busy and dialog.cancel_button.isVisibleTo(dialog) and not dialog.download_button.isEnabled()
    qtbot.waitUntil(lambda: dialog.progress.value() > 0, timeout=WAIT_MS)
    dialog.reject()  # it did not start this download: closing it leaves the download alone
    assert window.installer.busy and not slow_lama.is_set()
    window.cancel_running()
    qtbot.waitUntil(lambda: not window.installer.busy, timeout=WAIT_MS)
    assert slow_lama.is_set()


def test_any_family_installs_through_its_store(qtbot, window: MainWindow, tmp_path: Path) -> None:
    store = SlowStore()
    seen: list[tuple] = []
    window.installer.installed.connect(lambda s, path: seen.append((s, path)))
    assert window.installer.import_file(store, tmp_path / "sam_vit_b.pth")
    assert not window.installer.download(store, "sam-vit-b")  # one install at a time
    qtbot.waitUntil(lambda: not window.installer.busy, timeout=WAIT_MS)
    assert seen == [(store, tmp_path / "sam_vit_b.safetensors")] and store.asked == [str(tmp_path / "sam_vit_b.pth")]
    assert window.statusBar().currentMessage().startswith("The Segment Anything model is installed (sam_vit_b.safetensors)")
    assert window.installer.download(store, "sam-vit-b")
    assert [job.lane for job in window.jobs.running() if job.foreground] == [MODELS_LANE]
    qtbot.waitUntil(lambda: window.progress_bar.value() > 0, timeout=WAIT_MS)
    window.cancel_running()
    assert store.stopped.wait(5) and store.asked[-1] == "sam-vit-b"
    qtbot.waitUntil(lambda: not window.installer.busy, timeout=WAIT_MS)
