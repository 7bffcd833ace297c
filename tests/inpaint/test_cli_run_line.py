"""``lamapaint-cli remove``'s per-photo line: the run formatter's words, and the figures benchmarks parse."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from benchmarks._common import ChildResult
from lamapaint.cli import EXIT_OK, main


def test_per_photo_line_uses_the_run_formatter(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    image = np.full((60, 80, 3), 128, np.uint8)
    mask = np.zeros((60, 80), np.uint8)
    mask[20:30, 30:45] = 255
    Image.fromarray(image).save(tmp_path / "in.png")
    Image.fromarray(mask).save(tmp_path / "mask.png")
    out = tmp_path / "out.png"
    argv = ["remove", str(tmp_path / "in.png"), "--mask", str(tmp_path / "mask.png"), "-o", str(out), "--model", "opencv-telea"]
    assert main(argv) == EXIT_OK
    *_, saved, line = capsys.readouterr().err.strip().splitlines()
    assert saved.startswith("out.png: ") and "kept" in saved  # the export report's plain summary
    assert line.startswith("Removed in ") and " with the basic fill: opencv-telea (cpu, uint8) strategy crop " in line
    assert line.endswith(f"-> {out}")
    strategy, pixels = ChildResult(0, 0.0, 0.0, line).cli_stats()
    assert strategy == "crop" and pixels > 0
