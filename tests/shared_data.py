"""Paths to the read-only reference data beside the repository (../shared), for tests and benchmarks."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED = REPO_ROOT.parent / "shared"
LAMA_REFERENCE = SHARED / "reference" / "lama"
SAM_REFERENCE = SHARED / "reference" / "sam"
BENCH = SHARED / "bench"


def require_shared(path: Path) -> Path:
    """Skip (rather than fail) where ../shared is absent, e.g. in a packaged source tree."""
    if not path.exists():
        pytest.skip(f"shared reference data not found: {path}")
    return path
