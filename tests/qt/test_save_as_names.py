"""Save As never replaces a project nobody agreed to replace (issue 17.3).

The file dialog asks before replacing the name it returns; the name the project is saved under
gets ``.lamapaint`` appended, so a file under that completed name must be asked about here.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtWidgets import QMessageBox

from lamapaint.core.document import Document
from lamapaint.io.project import ProjectError, save_project
from lamapaint.qt.main_window import MainWindow
from tests.qt.conftest import Dialogs, make_photo

WAIT_MS = 30_000
PRECIOUS = b"three layers of somebody's afternoon"


def _saved(qtbot, win: MainWindow, path: Path) -> None:  # noqa: ANN001
    qtbot.waitUntil(lambda: path.exists() and not win.jobs.busy, timeout=WAIT_MS)


@pytest.mark.parametrize("typed", ["trip", "trip.v2"])
def test_save_as_asks_before_replacing_the_completed_name(qtbot, doc_window: MainWindow, tmp_path: Path, dialogs: Dialogs, typed: str) -> None:  # noqa: ANN001
    existing = tmp_path / "trip.lamapaint"
    existing.write_bytes(PRECIOUS)
    dialogs.save_name = str(tmp_path / typed)
    dialogs.button = QMessageBox.StandardButton.No
    saved = doc_window.files.save_as()
    qtbot.wait(200)
    qtbot.waitUntil(lambda: not doc_window.jobs.busy, timeout=WAIT_MS)
    assert existing.read_bytes() == PRECIOUS
    if typed == "trip":
        assert not saved and len(dialogs.asked) == 1 and "trip.lamapaint already exists" in dialogs.asked[0]
        assert sorted(p.name for p in tmp_path.iterdir()) == ["trip.lamapaint"]
    else:  # its own name: trip.v2.lamapaint, nothing to ask
        assert saved and dialogs.asked == []
        _saved(qtbot, doc_window, tmp_path / "trip.v2.lamapaint")
        assert doc_window.document.project_path == tmp_path / "trip.v2.lamapaint"


def test_save_as_replaces_the_completed_name_when_agreed(qtbot, doc_window: MainWindow, tmp_path: Path, dialogs: Dialogs) -> None:  # noqa: ANN001
    existing = tmp_path / "trip.lamapaint"
    existing.write_bytes(PRECIOUS)
    dialogs.save_name = str(tmp_path / "trip")
    dialogs.button = QMessageBox.StandardButton.Yes
    assert doc_window.files.save_as()
    qtbot.waitUntil(lambda: existing.read_bytes() != PRECIOUS and not doc_window.jobs.busy, timeout=WAIT_MS)
    assert doc_window.document.project_path == existing and doc_window.document.is_clean


def test_a_name_the_dialog_confirmed_is_replaced_without_a_second_question(qtbot, doc_window: MainWindow, tmp_path: Path, dialogs: Dialogs) -> None:  # noqa: ANN001
    existing = tmp_path / "trip.lamapaint"
    existing.write_bytes(PRECIOUS)
    dialogs.save_name = str(existing)  # the file dialog asked about exactly this name
    assert doc_window.files.save_as()
    qtbot.waitUntil(lambda: existing.read_bytes() != PRECIOUS and not doc_window.jobs.busy, timeout=WAIT_MS)
    assert dialogs.asked == []


def test_a_new_name_is_written_without_replacing_a_file_that_appeared(tmp_path: Path) -> None:
    """What the window passes for a name nobody confirmed: a file that appears by then stays."""
    path = tmp_path / "trip.lamapaint"
    path.write_bytes(PRECIOUS)
    with pytest.raises(ProjectError, match="already exists; nothing was replaced"):
        save_project(path, Document(make_photo()).snapshot(), overwrite=False)
    assert path.read_bytes() == PRECIOUS
    assert sorted(p.name for p in tmp_path.iterdir()) == ["trip.lamapaint"]
