"""Autosave and recovery through the real window: timing, two windows, what a restore brings back."""

from __future__ import annotations

import errno
import logging
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from PySide6.QtWidgets import QFileDialog

from lamapaint.core.document import Document
from lamapaint.core.geometry import Rect
from lamapaint.io.autosave import Autosaver, list_recoverable
from lamapaint.io.images import load_image
from lamapaint.qt import main_window as main_window_module
from lamapaint.qt.autosave import AUTOSAVE_LANE
from lamapaint.qt.dialogs.recovery import RecoveryDialog
from lamapaint.qt.main_window import MainWindow
from tests.io.faults import inject_write_fault
from tests.qt.conftest import make_photo

WAIT_MS = 30_000


def _crashed_session(folder: Path | None = None, brush_size: int | None = None) -> Document:
    """Autosave a document (of ``folder``/harbour.png when given), then let its "process" die."""
    if folder is not None:
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(make_photo()).save(folder / "harbour.png")
        loaded = load_image(folder / "harbour.png")
        doc = Document(loaded.rgb, source=loaded)
    else:
        doc = Document(make_photo())
    doc.fill_rect(Rect(5, 5, 25, 25))
    saver = Autosaver()
    if brush_size is None:
        saver.save(doc.snapshot())
    else:
        saver.save(doc.snapshot(), brush_size=brush_size)
    assert saver._lock_fh is not None
    saver._lock_fh.close()
    saver._lock_fh = None
    return doc


@pytest.fixture
def choose_restore(monkeypatch: pytest.MonkeyPatch) -> None:
    def restore(dialog: RecoveryDialog) -> int:
        dialog.choice = RecoveryDialog.RESTORE
        return 1

    monkeypatch.setattr(RecoveryDialog, "exec", restore)


def test_second_window_does_not_take_a_session_the_first_restored(qtbot, window: MainWindow, choose_restore: None, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: ANN001
    _crashed_session()
    (session,) = list_recoverable()
    second = MainWindow()
    qtbot.addWidget(second)
    try:
        window.offer_recovery()
        # The second window's prompt was already open with the same list when the first restored.
        monkeypatch.setattr(main_window_module, "list_recoverable", lambda: [session])
        second.offer_recovery()
        qtbot.waitUntil(lambda: window.document is not None and not second.jobs.busy, timeout=WAIT_MS)
        assert second.document is None
        assert "already open in another window" in second.statusBar().currentMessage()
        assert window.autosave.saver is not None and window.autosave.saver.session_id == session.session_id
        assert list_recoverable() == []  # the first window holds it (the real list, not the stale one)
    finally:
        second.close()


def test_restore_brings_back_the_brush_size_and_the_photo_folder(qtbot, window: MainWindow, choose_restore: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: ANN001
    photos = tmp_path / "photos"
    _crashed_session(photos, brush_size=77)
    window.set_brush_size(20)
    window.offer_recovery()
    qtbot.waitUntil(lambda: window.document is not None, timeout=WAIT_MS)
    assert window.brush_spin.value() == 77 and window.settings.brush_size == 77
    suggested: list[str] = []
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda _parent, _title, start, _filter: (suggested.append(start), ("", ""))[1])
    window.window_actions.save.trigger()
    assert suggested and Path(suggested[0]).parent == photos
    assert Path(suggested[0]).name == "harbour.lamapaint"


def test_first_autosave_follows_the_first_change_within_ten_seconds(qtbot, doc_window: MainWindow) -> None:  # noqa: ANN001
    saver = doc_window.autosave.saver
    assert saver is not None and doc_window.settings.autosave_seconds >= 60
    start = time.monotonic()
    doc_window.document.fill_rect(Rect(10, 10, 30, 30))
    qtbot.waitUntil(lambda: saver.project_file.exists() and not saver.busy, timeout=10_000)
    assert time.monotonic() - start <= 10
    (info,) = saver.folder.glob("*.json")
    assert '"brush_size": %d' % doc_window.settings.brush_size in info.read_text(encoding="utf-8")


def test_autosave_on_a_full_disk_logs_one_line_and_says_so_once(qtbot, doc_window: MainWindow, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:  # noqa: ANN001
    saver = doc_window.autosave.saver
    assert saver is not None
    saver.first_delay_s = 0.0
    inject_write_fault(monkeypatch, "write", errno.ENOSPC, after_bytes=2000)
    messages: list[str] = []
    doc_window.autosave.failed.connect(messages.append)
    caplog.set_level(logging.DEBUG, logger="lamapaint")
    for i in range(3):
        doc_window.document.fill_rect(Rect(10 + i, 10, 30, 30))
        doc_window.autosave.check()
        doc_window.autosave.wait()
        saver._failed_at = None  # retry at once instead of a minute later: the message must not repeat
    # Each job's outcome is queued after whatever it reported: once the runner forgot the three
    # jobs, every failure signal they sent has been delivered.
    qtbot.waitUntil(lambda: bool(messages) and not doc_window.jobs.running(AUTOSAVE_LANE), timeout=WAIT_MS)
    assert len(messages) == 1 and messages[0].startswith("The disk is full:")
    assert doc_window.statusBar().currentMessage() == messages[0]
    failures = [r for r in caplog.records if r.name == "lamapaint.qt.autosave" and r.levelno >= logging.WARNING]
    assert len(failures) == 3 and all(r.exc_info is None and "\n" not in r.getMessage() for r in failures)
    assert any(r.levelno == logging.DEBUG and r.exc_info for r in caplog.records if r.name == "lamapaint.qt.autosave")
    assert not saver.project_file.exists() and list(saver.folder.glob(".*.part")) == []


def test_restore_that_fails_leaves_the_session_for_later(qtbot, window: MainWindow, choose_restore: None) -> None:  # noqa: ANN001
    _crashed_session()
    (session,) = list_recoverable()
    session.project_file.write_bytes(b"damaged")
    window.offer_recovery()
    qtbot.waitUntil(lambda: "Could not restore" in window.statusBar().currentMessage(), timeout=WAIT_MS)
    assert window.document is None
    assert [s.session_id for s in list_recoverable()] == [session.session_id]  # not held, not deleted


def test_discard_all_skips_a_session_another_window_took(qtbot, window: MainWindow, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: ANN001
    _crashed_session()
    _crashed_session()
    sessions = list_recoverable()
    taken = Autosaver.resume(sessions[0])

    def discard_all(dialog: RecoveryDialog) -> int:
        dialog.choice = RecoveryDialog.DISCARD
        return 0

    monkeypatch.setattr(RecoveryDialog, "exec", discard_all)
    monkeypatch.setattr(main_window_module, "list_recoverable", lambda: sessions)
    window.offer_recovery()
    assert sessions[0].project_file.exists() and not sessions[1].project_file.exists()
    taken.close()
    assert np.all([not s.project_file.exists() for s in sessions])


def test_window_start_cleans_what_killed_autosaves_left(qtbot) -> None:  # noqa: ANN001
    import os

    from lamapaint.settings import app_paths

    folder = app_paths().autosave_dir
    folder.mkdir(parents=True, exist_ok=True)
    leftovers = [folder / ".dead.lamapaint.abcd1234.part", folder / "dead.json", folder / "dead.lock"]
    for path in leftovers:
        path.write_bytes(b"x")
        os.utime(path, (time.time() - 60, time.time() - 60))
    win = MainWindow()
    qtbot.addWidget(win)
    assert not any(p.exists() for p in leftovers)
    win.autosave.shutdown()
