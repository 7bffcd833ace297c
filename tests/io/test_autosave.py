"""Autosave and crash recovery: timing rules, live vs crashed sessions, restore, discard."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from lamapaint.core.document import Document
from lamapaint.core.geometry import Rect
from lamapaint.io import autosave, project
from lamapaint.io.autosave import Autosaver, discard_session, list_recoverable, restore_session
from lamapaint.io.project import ProjectError
from lamapaint.settings import app_paths
from tests.layer_helpers import layer_from_result

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
    layer = layer_from_result("Remove object", np.ascontiguousarray(rgb[::-1]), doc.mask, info={"backend": "test"})
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


def _crash(saver: Autosaver) -> None:
    """What the OS does when the process dies: the lock goes, the files stay."""
    assert saver._lock_fh is not None
    saver._lock_fh.close()
    saver._lock_fh = None


def test_first_autosave_comes_soon_after_the_first_change() -> None:
    clock = FakeClock()
    saver = Autosaver(every_changes=50, every_seconds=60, clock=clock)
    clock.now += 30  # the photo was open a while before the first stroke
    assert not saver.should_save(1)  # the first change is seen here
    clock.now += 1
    assert not saver.should_save(2)
    clock.now += 1.5
    assert saver.should_save(3)  # 2.5 s after the first change, not 60 s after opening
    doc = _doc()
    saver.save(doc.snapshot())
    clock.now += 5
    assert not saver.should_save(doc.revision + 1)  # later ones: the usual rule
    clock.now += 60
    assert saver.should_save(doc.revision + 1)
    saver.close()


def test_failed_autosave_waits_before_trying_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    clock = FakeClock()
    saver = Autosaver(folder=tmp_path, every_seconds=60, clock=clock)
    doc = _doc()
    assert not saver.should_save(doc.revision)
    clock.now += 3
    assert saver.should_save(doc.revision)
    monkeypatch.setattr(autosave, "save_project", lambda *a: (_ for _ in ()).throw(OSError(28, "No space left on device")))
    with pytest.raises(OSError):
        saver.save(doc.snapshot())
    clock.now += 10
    assert not saver.should_save(doc.revision)  # not every second against a full disk
    clock.now += 51
    assert saver.should_save(doc.revision)
    saver.close()


def test_session_killed_during_its_first_autosave_is_cleaned_at_start(tmp_path: Path) -> None:
    from lamapaint.io.autosave import remove_abandoned_files

    script = textwrap.dedent(
        f"""
        import os, sys
        from pathlib import Path
        sys.path.insert(0, {str(REPO)!r})
        from tests.io.test_autosave import _doc
        from lamapaint.io import autosave, project

        def killed(path, snapshot):
            with project.atomic_write(path) as fh:
                fh.write(b"PK\\x03\\x04 half a zip")
                fh.flush()
                os._exit(9)  # killed half way through the first autosave

        autosave.save_project = killed
        autosave.Autosaver(folder=Path({str(tmp_path)!r}), session_id="first").save(_doc().snapshot())
        """
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert result.returncode == 9, result.stderr
    assert any(p.name.endswith(".part") for p in tmp_path.iterdir())  # what the kill left
    assert list_recoverable(tmp_path) == []  # nothing complete to recover...
    assert remove_abandoned_files(tmp_path, min_age_s=0) >= 2
    assert list(tmp_path.iterdir()) == []  # ...and nothing left behind


def test_project_without_its_description_is_still_offered(tmp_path: Path) -> None:
    """An older version wrote the project before the .json: a crash in between kept the work."""
    saver = Autosaver(folder=tmp_path, session_id="0123456789abcdef")
    doc = _doc()
    saver.save(doc.snapshot())
    _crash(saver)
    (tmp_path / "0123456789abcdef.json").unlink()
    (session,) = list_recoverable(tmp_path)
    assert session.photo_name == "autosave 01234567" and session.saved_at.tzinfo is not None
    assert np.array_equal(restore_session(session).composite(), doc.composite())


def test_saved_at_without_a_time_zone_does_not_break_the_list(tmp_path: Path) -> None:
    for session_id, saved_at in (("naive", "2025-03-01T10:00:00"), ("aware", "2025-03-01T09:00:00+00:00")):
        (tmp_path / f"{session_id}.json").write_text(json.dumps({"photo_name": "a.jpg", "saved_at": saved_at}), encoding="utf-8")
        (tmp_path / f"{session_id}.lamapaint").write_bytes(b"x")
    (tmp_path / "number.json").write_text(json.dumps({"photo_name": "b.jpg", "saved_at": 12}), encoding="utf-8")
    (tmp_path / "number.lamapaint").write_bytes(b"x")
    sessions = list_recoverable(tmp_path)
    assert sorted(s.session_id for s in sessions) == ["aware", "naive"]
    assert all(s.saved_at.tzinfo is not None for s in sessions)


def test_lock_path_that_is_a_folder_is_not_a_live_session(tmp_path: Path) -> None:
    saver = Autosaver(folder=tmp_path, session_id="dirlock")
    saver.save(_doc().snapshot())
    saver.close()  # as if the session had crashed, then its lock became a folder
    saver = Autosaver(folder=tmp_path, session_id="dirlock")
    saver.save(_doc().snapshot())
    _crash(saver)
    lock = tmp_path / "dirlock.lock"
    lock.unlink()
    lock.mkdir()
    (session,) = list_recoverable(tmp_path)
    resumed = Autosaver.resume(session)  # the empty folder is replaced by a real lock
    assert lock.is_file() and list_recoverable(tmp_path) == []
    resumed.release()
    lock.unlink()
    lock.mkdir()
    discard_session(session)
    assert list(tmp_path.iterdir()) == []


def test_a_taken_session_cannot_be_resumed_or_discarded_twice(tmp_path: Path) -> None:
    from lamapaint.io.autosave import SessionInUseError

    saver = Autosaver(folder=tmp_path)
    saver.save(_doc().snapshot())
    _crash(saver)
    (session,) = list_recoverable(tmp_path)
    first = Autosaver.resume(session)
    with pytest.raises(SessionInUseError):
        Autosaver.resume(session)
    with pytest.raises(SessionInUseError):
        discard_session(session)
    first.release()  # e.g. the restore failed: the files stay for a later try
    assert [s.session_id for s in list_recoverable(tmp_path)] == [session.session_id]


def test_brush_size_and_the_photo_folder_survive_a_crash(tmp_path: Path) -> None:
    from PIL import Image

    from lamapaint.io.images import load_image

    photos = tmp_path / "photos"
    photos.mkdir()
    rgb = np.random.default_rng(3).integers(0, 256, (30, 40, 3), dtype=np.uint8)
    Image.fromarray(rgb).save(photos / "harbour.png")
    loaded = load_image(photos / "harbour.png")
    doc = Document(loaded.rgb, source=loaded)
    doc.fill_rect(Rect(2, 2, 9, 9))
    saver = Autosaver(folder=tmp_path / "autosave")
    saver.save(doc.snapshot(), brush_size=77)
    _crash(saver)
    (session,) = list_recoverable(tmp_path / "autosave")
    assert session.brush_size == 77 and session.folder == photos and session.project_path is None
    restored = restore_session(session)
    assert restored.source is not None and restored.source.path == photos / "harbour.png"
    assert restored.name == "harbour.png" and not restored.is_clean


def test_start_up_clean_up_spares_live_and_starting_sessions(tmp_path: Path) -> None:
    from lamapaint.io.autosave import remove_abandoned_files

    live = Autosaver(folder=tmp_path, session_id="live")
    live.save(_doc().snapshot())
    (tmp_path / "live.lamapaint").unlink()  # mid-discard, say: only the .json and the held lock remain
    (tmp_path / "starting.lock").write_bytes(b"")  # a session taking its lock this very moment
    (tmp_path / "dead.json").write_text("{}", encoding="utf-8")
    old = 1_000_000_000
    os.utime(tmp_path / "dead.json", (old, old))
    assert remove_abandoned_files(tmp_path) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["live.json", "live.lock", "starting.lock"]
    live.close()
