"""Test-wide set-up: offscreen Qt and an isolated app home."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


@pytest.fixture(autouse=True)
def isolated_app_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own settings/models/autosave folders and never sees the user's."""
    home = tmp_path_factory.mktemp("lamapaint-home")
    monkeypatch.setenv("LAMAPAINT_HOME", str(home))
    return home
