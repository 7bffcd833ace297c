"""The linter the code's ``# noqa`` comments assume (ruff, configured in pyproject.toml) finds nothing."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def test_ruff_finds_nothing() -> None:
    exe = Path(sys.executable).with_name("ruff")
    if not exe.exists():
        found = shutil.which("ruff")
        if found is None:
            pytest.skip("ruff is not installed (it comes with the test extra)")
        exe = Path(found)
    result = subprocess.run([str(exe), "check", "--no-cache", "."], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
