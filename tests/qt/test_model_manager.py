"""Model manager dialog: listing, importing a real weights file, download progress and cancel."""

from __future__ import annotations

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
    assert "No LaMa model installed" in dialog.installed.item(0).text()
    assert "big-lama" in dialog.about.text()
    src = tmp_path / "my-weights.safetensors"
    save_file(deterministic_state_dict("lama-fourier"), str(src))
    dialog.import_file(src)
    qtbot.waitUntil(lambda: dialog._job is None, timeout=WAIT_MS)
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
    qtbot.waitUntil(lambda: dialog._job is None, timeout=WAIT_MS)
    assert "nothing was installed" in dialog.status.text()
    assert dialog.download_button.isEnabled()
