"""The selection package's names and errors load without torch or Qt (the CLI and editor import them early)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def test_select_errors_and_the_sam_package_load_without_torch() -> None:
    code = (
        "import sys\n"
        "import lamapaint.select, lamapaint.select.errors, lamapaint.select.sam, lamapaint.models, lamapaint.models.types\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in {'torch', 'PySide6', 'shiboken6', 'pyqtgraph'})\n"
        "print(bad)\n"
        "sys.exit(1 if bad else 0)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_public_names_resolve_lazily() -> None:
    import lamapaint.select.sam as sam

    assert callable(sam.build_model) and callable(sam.deterministic_state_dict) and isinstance(sam.Predictor, type)
    assert sam.MODEL_NAMES == ("vit_t", "vit_b", "vit_l", "vit_h")
    with pytest.raises(AttributeError, match="no_such_name"):
        getattr(sam, "no_such_name")  # noqa: B009 (the lookup under test)
