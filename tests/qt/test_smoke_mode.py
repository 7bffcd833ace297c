"""``lamapaint --smoke-test``: what packaging/smoke.sh relies on to test a frozen build's window."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image
from PySide6.QtWidgets import QApplication

from lamapaint.__main__ import main as gui_main
from lamapaint.qt import app as qt_app
from lamapaint.qt import smoke
from lamapaint.qt.jobs import JobRunner


def test_smoke_test_shows_the_photo_and_saves_a_screenshot(tmp_path: Path, photo_path: Path, dialogs, capsys) -> None:  # noqa: ANN001
    shot = tmp_path / "window.png"
    assert qt_app.main(photo_path, smoke_screenshot=shot) == 0
    with Image.open(shot) as im:
        assert im.width > 300 and im.height > 200
    out = capsys.readouterr().out
    assert "exposed_at=" in out and "photo_at=" in out


def _smoke_test_a_broken_photo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setattr(smoke, "TIMEOUT_MS", 1500)
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"not a jpeg")
    return qt_app.main(broken, smoke_screenshot=tmp_path / "never.png")


def test_smoke_test_fails_when_the_photo_never_shows(
    tmp_path: Path, dialogs, capsys, monkeypatch: pytest.MonkeyPatch  # noqa: ANN001
) -> None:
    assert _smoke_test_a_broken_photo(tmp_path, monkeypatch) == 1
    assert "the photo never showed" in capsys.readouterr().err
    assert not (tmp_path / "never.png").exists()


def test_the_event_loop_still_works_after_main_returned(tmp_path: Path, qtbot, dialogs, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: ANN001
    """The window's close asks the app to quit; a Quit event left queued after ``main`` returned
    would end every later event loop in the process at once (a job's outcome then never arrives)."""
    assert _smoke_test_a_broken_photo(tmp_path, monkeypatch) == 1
    QApplication.processEvents()  # as pytest-qt does between tests: a queued Quit would be handled here
    runner = JobRunner()
    runner.lane("check")
    outcome: list[object] = []
    runner.submit("check", "Check", lambda _progress, _cancel: 42, on_done=outcome.append)
    qtbot.waitUntil(lambda: bool(outcome), timeout=3000)
    assert outcome == [42]


def test_smoke_test_needs_a_photo(capsys) -> None:  # noqa: ANN001
    with pytest.raises(SystemExit) as exit_info:
        gui_main(["--smoke-test", "x.png"])
    assert exit_info.value.code == 2 and "needs a photo" in capsys.readouterr().err
