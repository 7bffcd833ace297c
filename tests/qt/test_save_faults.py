"""Fault injection through the window: the disk fills up (or refuses) half way through a project
save, an export or a settings save. The previous file survives, the document stays open and
modified, and the person reads one clear message (one dialog, the same words in the status bar).
"""

from __future__ import annotations

import errno
from pathlib import Path

import pytest
from PySide6.QtWidgets import QDialog

from lamapaint.core.geometry import Rect
from lamapaint.qt.dialogs import model_manager
from lamapaint.qt.main_window import MainWindow
from lamapaint.settings import app_paths
from tests.io.faults import inject_write_fault
from tests.layer_helpers import layer_from_result
from tests.qt.conftest import Dialogs

WAIT_MS = 30_000
CODES = {"ENOSPC": (errno.ENOSPC, "The disk is full: "), "EACCES": (errno.EACCES, "No permission to write in ")}


def _idle(qtbot, win: MainWindow) -> None:  # noqa: ANN001
    qtbot.waitUntil(lambda: not win.jobs.busy, timeout=WAIT_MS)


def _stray(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".part"))


@pytest.mark.parametrize("code_name", CODES)
def test_project_save_on_a_full_disk(qtbot, doc_window: MainWindow, dialogs: Dialogs, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, code_name: str) -> None:  # noqa: ANN001
    code, wording = CODES[code_name]
    win, doc = doc_window, doc_window.document
    project = tmp_path / "trip.lamapaint"
    doc.fill_rect(Rect(5, 5, 20, 20))
    win.files.save_to(project)
    _idle(qtbot, win)
    before = project.read_bytes()
    doc.fill_rect(Rect(40, 40, 60, 60))
    with monkeypatch.context() as patch:
        faults = inject_write_fault(patch, "write", code, after_bytes=len(before) // 2)
        win.window_actions.save.trigger()
        _idle(qtbot, win)
    assert faults.injected >= 1 and faults.bytes_written > 0
    assert project.read_bytes() == before and _stray(tmp_path) == []
    assert win.document is doc and not doc.is_clean and win.windowTitle().split(" — ")[0].endswith("*")
    (asked,) = dialogs.asked
    assert asked.startswith(f"Could not save: {wording}") and "trip.lamapaint" in asked and "Errno" not in asked
    assert win.statusBar().currentMessage() == asked.split(": ", 1)[1]


def test_close_with_save_on_a_full_disk_keeps_the_window_open(qtbot, doc_window: MainWindow, dialogs: Dialogs, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: ANN001
    from PySide6.QtWidgets import QMessageBox

    win, doc = doc_window, doc_window.document
    doc.set_project_path(tmp_path / "trip.lamapaint")
    doc.fill_rect(Rect(5, 5, 20, 20))
    dialogs.button = QMessageBox.StandardButton.Save
    with monkeypatch.context() as patch:
        inject_write_fault(patch, "fsync", errno.ENOSPC)
        win.close()
        _idle(qtbot, win)
    assert win.isVisible() and win.document is doc and not doc.is_clean
    assert not doc.project_path.exists() and _stray(tmp_path) == []
    assert any("The disk is full: trip.lamapaint could not be saved" in a for a in dialogs.asked)


@pytest.mark.parametrize("code_name", CODES)
def test_export_on_a_full_disk(qtbot, doc_window: MainWindow, dialogs: Dialogs, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, code_name: str) -> None:  # noqa: ANN001
    code, wording = CODES[code_name]
    win, doc = doc_window, doc_window.document
    out = tmp_path / "photo-cleaned.png"
    doc.fill_rect(Rect(5, 5, 20, 20))
    win.files.export_to(out, "PNG", overwrite=True)
    _idle(qtbot, win)
    before = out.read_bytes()
    doc.fill_rect(Rect(40, 40, 60, 60))
    with monkeypatch.context() as patch:
        inject_write_fault(patch, "write", code, after_bytes=len(before) // 2)
        win.files.export_to(out, "PNG", overwrite=True)
        _idle(qtbot, win)
    assert out.read_bytes() == before and _stray(tmp_path) == []
    assert win.document is doc and not doc.is_clean
    (asked,) = dialogs.asked
    assert asked.startswith(f"Could not export: {wording}") and "photo-cleaned.png could not be exported" in asked


class _AcceptedModelDialog:
    DialogCode = QDialog.DialogCode

    def __init__(self, *_args: object) -> None:
        pass

    def exec(self) -> QDialog.DialogCode:
        return QDialog.DialogCode.Accepted

    def apply_to(self, settings: object) -> None:
        settings.model = "opencv-ns"  # type: ignore[attr-defined]


def test_settings_save_on_a_full_disk_is_a_status_message(qtbot, window: MainWindow, dialogs: Dialogs, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: ANN001
    settings_file = app_paths().settings_file
    window.settings.save()
    before = settings_file.read_bytes()
    monkeypatch.setattr(model_manager, "ModelManagerDialog", _AcceptedModelDialog)  # the real one probes devices (torch)
    with monkeypatch.context() as patch:
        inject_write_fault(patch, "replace", errno.ENOSPC)
        window.open_model_manager()  # used to raise out of the slot
        assert window.statusBar().currentMessage().startswith("The disk is full: settings.json could not be saved")
        window._save_settings()  # what closing does
    assert settings_file.read_bytes() == before and _stray(settings_file.parent) == []
    assert window.settings.model == "opencv-ns"  # kept for this run


def test_export_of_a_jpeg_that_crashes_jpeglib_keeps_the_window_and_its_layers(  # noqa: ANN201
    qtbot, window: MainWindow, dialogs: Dialogs, tmp_path: Path, monkeypatch: pytest.MonkeyPatch  # noqa: ANN001
):
    """Issue 17.1: the export of this photo killed the editor (SIGSEGV in jpeglib) with its layer."""
    import numpy as np

    from lamapaint.core.document import Document
    from lamapaint.io import jpeg_structure
    from lamapaint.io.images import load_image
    from tests.io.crafted_jpeg import crafted, picture

    photo = tmp_path / "crafted.jpg"
    photo.write_bytes(crafted("empty-com", picture(96, 128)))
    source = load_image(photo)
    doc = Document(source.rgb, source=source, name=photo.name)
    doc.fill_rect(Rect(40, 30, 60, 50))
    layer = layer_from_result("Remove", np.ascontiguousarray(255 - doc.original), doc.mask)
    assert layer is not None
    doc.add_layer(layer)
    window.set_document(doc)
    monkeypatch.setattr(jpeg_structure, "libjpeg_stream", lambda data, structure: data)  # jpeglib sees the file as it is
    out = tmp_path / "crafted-cleaned.jpg"
    window.files.export_to(out, "JPEG")
    _idle(qtbot, window)
    assert out.is_file() and dialogs.asked == []
    assert window.document is doc and len(doc.layers) == 1
    message = window.statusBar().currentMessage()
    assert "block-wise save not possible: libjpeg (through jpeglib) crashed reading the original" in message, message
