"""The core and I/O layers stay free of Qt and torch (import-linter, plus a direct check)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def test_lint_imports_contracts_hold() -> None:
    exe = Path(sys.executable).with_name("lint-imports")
    if not exe.exists():
        found = shutil.which("lint-imports")
        if found is None:
            pytest.skip("import-linter is not installed")
        exe = Path(found)
    result = subprocess.run([str(exe)], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def test_importing_every_core_and_io_module_loads_no_qt_or_torch() -> None:
    code = (
        "import importlib, pkgutil, sys\n"
        "import lamapaint.core, lamapaint.io\n"
        "for pkg in (lamapaint.core, lamapaint.io):\n"
        "    for info in pkgutil.iter_modules(pkg.__path__, pkg.__name__ + '.'):\n"
        "        importlib.import_module(info.name)\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in {'PySide6', 'shiboken6', 'torch', 'pyqtgraph'}"
        " or m.startswith(('lamapaint.qt', 'lamapaint.inpaint')))\n"
        "print(bad)\n"
        "sys.exit(1 if bad else 0)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def test_engine_types_load_without_torch() -> None:
    """The CLI's flags, the editor's menus and its error handling use them before torch is imported."""
    code = (
        "import sys\n"
        "import lamapaint.inpaint.types, lamapaint.qt.worker, lamapaint.qt.removal\n"
        "sys.exit(1 if 'torch' in sys.modules else 0)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
