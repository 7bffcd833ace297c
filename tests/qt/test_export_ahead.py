"""The editor reads a JPEG original's coefficients ahead, on the files lane, while the export dialog
is open, and the export uses them instead of reading them again (issue 19.3)."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from PIL import Image
from PySide6.QtWidgets import QDialog

from lamapaint.core.geometry import Rect
from lamapaint.io import jpeg_blocks
from lamapaint.io.export import BLOCKWISE_WORDS
from lamapaint.qt.dialogs.export import ExportDialog
from lamapaint.qt.main_window import MainWindow
from tests.qt.conftest import make_photo


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[object]]:
    seen: dict[str, list[object]] = {"read": [], "merge": []}
    real_read, real_merge = jpeg_blocks.read_block_source, jpeg_blocks.merge_blocks

    def read(source: bytes) -> jpeg_blocks.BlockSource:
        seen["read"].append(threading.current_thread() is threading.main_thread())
        return real_read(source)

    def merge(source: bytes, rgb, touched, block_source=None, decoded_original=None):  # noqa: ANN001, ANN202
        seen["merge"].append(block_source)
        return real_merge(source, rgb, touched, block_source, decoded_original)

    monkeypatch.setattr(jpeg_blocks, "read_block_source", read)
    monkeypatch.setattr(jpeg_blocks, "merge_blocks", merge)
    return seen


def _open_jpeg(qtbot, window: MainWindow, tmp_path: Path) -> Path:  # noqa: ANN001
    path = tmp_path / "photo.jpg"
    Image.fromarray(make_photo()).save(path, quality=90)
    window.open_path(path)
    qtbot.waitUntil(lambda: window.document is not None, timeout=10_000)
    window.document.fill_rect(Rect(30, 30, 50, 50))
    return path


def test_export_uses_the_coefficients_read_ahead_off_the_gui_thread(
    qtbot, window: MainWindow, tmp_path: Path, calls: dict[str, list[object]], monkeypatch: pytest.MonkeyPatch  # noqa: ANN001
) -> None:
    path = _open_jpeg(qtbot, window, tmp_path)
    messages: list[str] = []
    window.files.message.connect(messages.append)
    monkeypatch.setattr(ExportDialog, "exec", lambda self: QDialog.DialogCode.Accepted)
    window.files.ask_export()
    out = path.with_name("photo-cleaned.jpg")
    qtbot.waitUntil(lambda: out.exists() and not window.jobs.busy and any("Exported" in m for m in messages), timeout=20_000)
    assert calls["read"] == [False]  # read once, and not on the GUI thread
    assert len(calls["merge"]) == 1 and calls["merge"][0] is not None  # the export got them: no second read
    assert any(BLOCKWISE_WORDS in m for m in messages), messages


def test_a_cancelled_dialog_drops_what_was_read_ahead(
    qtbot, window: MainWindow, tmp_path: Path, calls: dict[str, list[object]], monkeypatch: pytest.MonkeyPatch  # noqa: ANN001
) -> None:
    _open_jpeg(qtbot, window, tmp_path)
    made: list[object] = []
    real = window.files._read_block_source_ahead
    monkeypatch.setattr(window.files, "_read_block_source_ahead", lambda *a: made.append(real(*a)) or made[-1])
    monkeypatch.setattr(ExportDialog, "exec", lambda self: QDialog.DialogCode.Rejected)
    window.files.ask_export()
    qtbot.waitUntil(lambda: not window.jobs.busy, timeout=10_000)
    qtbot.wait(200)
    [ahead] = made
    assert ahead.discarded and ahead.value is None and calls["merge"] == []
