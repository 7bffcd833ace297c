"""Model manager dialog: listing, importing a real weights file, download progress and cancel."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from lamapaint.jobs import Cancelled
from lamapaint.qt.dialogs.model_manager import ModelManagerDialog, select
from lamapaint.settings import Settings

WAIT_MS = 30_000


def test_import_lists_model_and_settings_apply(qtbot, tmp_path: Path) -> None:  # noqa: ANN001
    from safetensors.torch import save_file

    from lamapaint.inpaint.weights import deterministic_state_dict

    settings = Settings()
    dialog = ModelManagerDialog(settings)
    qtbot.addWidget(dialog)
    qtbot.waitUntil(lambda: not dialog.listing, timeout=WAIT_MS)
    assert "No LaMa model installed" in dialog.installed.item(0).text()
    assert "processor" in dialog.device_combo.toolTip()  # the devices found: the hint follows the choice
    assert "big-lama" in dialog.about.text()
    src = tmp_path / "my-weights.safetensors"
    save_file(deterministic_state_dict("lama-fourier"), str(src))
    dialog.import_file(src)
    qtbot.waitUntil(lambda: not dialog.busy and not dialog.listing, timeout=WAIT_MS)
    rows = [dialog.installed.item(i).text() for i in range(dialog.installed.count())]
    assert any("lama-fourier" in r and "installed" in r for r in rows), rows
    select(dialog.device_combo, "cpu")
    select(dialog.precision_combo, "fp32")
    dialog.apply_to(settings)
    assert (settings.device, settings.precision) == ("cpu", "fp32")


def test_download_progress_and_cancel(qtbot, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: ANN001
    import lamapaint.inpaint.weights as weights

    def slow_download(name, progress, cancel):  # noqa: ANN001, ANN202 - stands in for the network
        for i in range(1000):
            progress(i / 1000, f"{name}: {i} of 1000 chunks")
            if cancel.cancelled:
                raise Cancelled("cancelled")
            time.sleep(0.005)
        raise AssertionError("the download should have been cancelled")

    monkeypatch.setattr(weights, "download_model", slow_download)
    dialog = ModelManagerDialog(Settings())
    qtbot.addWidget(dialog)
    dialog.start_download()
    assert dialog.cancel_button.isVisibleTo(dialog) and not dialog.download_button.isEnabled()
    qtbot.waitUntil(lambda: dialog.progress.value() > 0, timeout=WAIT_MS)
    dialog.cancel_job()
    qtbot.waitUntil(lambda: not dialog.busy, timeout=WAIT_MS)
    assert "nothing was installed" in dialog.status.text()
    assert dialog.download_button.isEnabled()


def test_opening_the_dialog_leaves_torch_to_a_worker_thread() -> None:
    """Listing models and devices imports torch (about 2 s cold): never on the GUI thread."""
    code = """
import os, sys, threading
os.environ["QT_QPA_PLATFORM"] = "offscreen"
class Watch:  # notes the thread that first imports torch
    def find_spec(self, name, path=None, target=None):
        if name == "torch" and "torch_thread" not in globals():
            globals()["torch_thread"] = threading.current_thread() is threading.main_thread()
        return None
sys.meta_path.insert(0, Watch())
import time
from PySide6.QtWidgets import QApplication
app = QApplication([])
from lamapaint.qt.dialogs.model_manager import ModelManagerDialog
from lamapaint.settings import Settings
dialog = ModelManagerDialog(Settings())
print("torch in GUI thread after opening:", globals().get("torch_thread", False))
for _ in range(3000):
    if not dialog.listing:
        break
    app.processEvents()
    time.sleep(0.01)  # not QTest.qWait: it keeps the GIL, and the lookup's thread would crawl
print("listed:", not dialog.listing, dialog.installed.item(0).text())
print("torch imported on the GUI thread:", globals().get("torch_thread"))
"""
    home = tempfile.mkdtemp(prefix="lamapaint-home-")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                            env={**os.environ, "LAMAPAINT_HOME": home})
    out = result.stdout
    assert "torch in GUI thread after opening: False" in out, out + result.stderr[-3000:]
    assert result.returncode == 0, result.stderr[-3000:]
    assert "listed: True No LaMa model installed" in out, out
    assert "torch imported on the GUI thread: False" in out, out


def test_an_import_offers_to_cancel_the_import_not_a_download(qtbot, tmp_path: Path) -> None:  # noqa: ANN001
    dialog = ModelManagerDialog(Settings())
    qtbot.addWidget(dialog)
    qtbot.waitUntil(lambda: not dialog.listing, timeout=WAIT_MS)
    src = tmp_path / "not-a-model.safetensors"
    src.write_bytes(b"\0" * 64)
    dialog.import_file(src)
    assert not dialog.cancel_button.isHidden() and dialog.cancel_button.text() == "Cancel import"
    qtbot.waitUntil(lambda: not dialog.busy, timeout=WAIT_MS)
    assert dialog.cancel_button.isHidden()
