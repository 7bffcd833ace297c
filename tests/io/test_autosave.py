"""Autosave and crash recovery: timing rules, live vs crashed sessions, restore, discard."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from lamapaint.core.document import Document
from lamapaint.core.geometry import Rect
from lamapaint.core.layers import Layer
from lamapaint.io import autosave, project
from lamapaint.io.autosave import Autosaver, discard_session, list_recoverable, restore_session
from lamapaint.io.project import ProjectError
from lamapaint.settings import app_paths

REPO = Path(__file__).resolve().parents[2]


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _doc() -> Document:
    rgb = np.random.default_rng(11).integers(0, 256, (40, 50, 3), dtype=np.uint8)
    doc = Document(rgb, name="beach.jpg")
    doc.fill_rect(Rect(5, 5, 20, 20))
    layer = Layer.from_result("Remove object", np.ascontiguousarray(rgb[::-1]), doc.mask, info={"backend": "test"})
    assert layer is not None
    doc.add_layer(layer)
    doc.fill_rect(Rect(30, 30, 35, 38))
    return doc


def test_should_save_after_n_changes_or_t_seconds() -> None:
    clock = FakeClock()
    saver = Autosaver(every_changes=5, every_seconds=30, clock=clock)
    assert not saver.should_save(0)
    assert not saver.should_save(3)
    assert saver.should_save(5)
    assert not saver.should_save(9, clean=True)
    clock.now += 31
    assert saver.should_save(1)
    doc = _doc()
    saver.save(doc.snapshot())
    assert not saver.should_save(doc.revision)
    assert not saver.should_save(doc.revision + 1)
    assert saver.should_save(doc.revision + 5)
    clock.now += 31
    assert saver.should_save(doc.revision + 1)
    saver.close()


def test_default_folder_is_the_app_autosave_dir() -> None:
    saver = Autosaver()
    saver.save(_doc().snapshot())
    assert saver.project_file.parent == app_paths().autosave_dir
    saver.close()


def test_live_session_is_not_listed_and_clean_close_leaves_nothing() -> None:
    saver = Autosaver()
    doc = _doc()
    path = saver.save(doc.snapshot())
    assert path is not None and path.exists()
    assert saver.save(doc.snapshot()) is None  # the same revision again: skipped
    assert list_recoverable() == []
    saver.discard()
    assert not path.exists()
    saver.close()
    assert list(app_paths().autosave_dir.iterdir()) == []


def test_crashed_process_is_recovered_exactly(tmp_path: Path) -> None:
    expected = tmp_path / "expected.npy"
    script = textwrap.dedent(
        f"""
        import os, sys
        import numpy as np
        sys.path.insert(0, {str(REPO)!r})
        from tests.io.test_autosave import _doc
        from lamapaint.io.autosave import Autosaver
        doc = _doc()
        doc.set_project_path(None)
        saver = Autosaver()
        saver.save(doc.snapshot())
        np.save({str(expected)!r}, doc.composite())
        os._exit(3)  # a crash: no close, no cleanup
        """
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert result.returncode == 3, result.stderr
    sessions = list_recoverable()
    assert len(sessions) == 1
    session = sessions[0]
    assert session.photo_name == "beach.jpg" and session.size_bytes > 0 and session.saved_at.tzinfo is not None
    doc = restore_session(session)
    assert np.array_equal(doc.composite(), np.load(expected))
    assert not doc.is_clean and doc.name == "beach.jpg" and len(doc.layers) == 1
    # Taking the session over hides it from other windows until it is closed.
    saver = Autosaver.resume(session)
    assert list_recoverable() == []
    with pytest.raises(RuntimeError):
        discard_session(session)
    doc.fill_rect(Rect(0, 0, 3, 3))
    assert saver.save(doc.snapshot()) == session.project_file
    saver.close()
    assert list_recoverable() == [] and not session.project_file.exists()


def test_discard_session_removes_a_crashed_session(tmp_path: Path) -> None:
    saver = Autosaver(folder=tmp_path)
    doc = _doc()
    doc.set_project_path(tmp_path / "mine.lamapaint")
    saver.save(doc.snapshot())
    saver._lock_fh.close()  # what the OS does when the process dies
    saver._lock_fh = None
    (session,) = list_recoverable(tmp_path)
    assert session.project_path == tmp_path / "mine.lamapaint"
    assert restore_session(session).project_path == tmp_path / "mine.lamapaint"
    discard_session(session)
    assert list(tmp_path.iterdir()) == []


def test_failed_autosave_keeps_the_previous_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    saver = Autosaver(folder=tmp_path)
    doc = _doc()
    saver.save(doc.snapshot())
    before = saver.project_file.read_bytes()
    doc.clear_mask()

    def broken(path: Path, snapshot: object) -> None:
        with project.atomic_write(path) as fh:
            fh.write(b"PK\x03\x04 half a zip")
            raise OSError("disk full")

    monkeypatch.setattr(autosave, "save_project", broken)
    with pytest.raises(OSError):
        saver.save(doc.snapshot())
    assert saver.project_file.read_bytes() == before
    assert sorted(p.suffix for p in tmp_path.iterdir()) == [".json", ".lamapaint", ".lock"]
    saver.close()


def test_damaged_autosave_is_skipped_or_reported(tmp_path: Path) -> None:
    (tmp_path / "abc.json").write_text("{broken", encoding="utf-8")
    (tmp_path / "abc.lamapaint").write_bytes(b"x")
    (tmp_path / "def.json").write_text('{"photo_name": "a.jpg", "saved_at": "2024-01-01T00:00:00+00:00"}', encoding="utf-8")
    (tmp_path / "def.lamapaint").write_bytes(b"not a zip")
    (tmp_path / "orphan.json").write_text("{}", encoding="utf-8")  # no project file
    (session,) = list_recoverable(tmp_path)
    assert session.session_id == "def" and session.project_path is None
    with pytest.raises(ProjectError):
        restore_session(session)
    assert list_recoverable(tmp_path / "missing") == []
