"""``lamapaint.select_mask`` and ``lamapaint.Selector``: numpy in -> numpy out, PIL in -> PIL out, the embedding kept."""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import lamapaint
from lamapaint.select.errors import SelectError
from lamapaint.select.sam.predictor import Predictor
from tests.select.scenes import ellipse_scene, iou, object_box
from tests.shared_data import REPO_ROOT


def test_select_mask_numpy_and_pil_without_a_model(caplog: pytest.LogCaptureFixture) -> None:
    rgb, truth = ellipse_scene()
    with caplog.at_level(logging.WARNING, logger="lamapaint.api"):
        mask = lamapaint.select_mask(rgb, box=object_box(truth, 15))
    assert isinstance(mask, np.ndarray) and mask.dtype == bool and mask.shape == truth.shape
    assert iou(mask, truth) > 0.93
    assert [r.message for r in caplog.records].count(lamapaint.Selector().fallback_reason) == 1
    pil = lamapaint.select_mask(Image.fromarray(rgb).convert("RGBA"), points=[(144, 120)])
    assert isinstance(pil, Image.Image) and pil.mode == "1" and pil.size == (320, 240)
    assert iou(np.asarray(pil), truth) > 0.95
    grown = lamapaint.select_mask(rgb, points=[(144, 120)], grow=5)
    assert grown.sum() > np.asarray(pil).sum()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"points": [(400, 5)]}, "outside the 320x240 photo"),
        ({"box": (50, 50, 20, 90)}, "empty or inverted"),
        ({}, "nothing to select"),
        ({"points": [(5, 5)], "labels": [1, 0]}, "one entry per point"),
        ({"points": [(5, 5)], "labels": [2]}, "labels must be 1"),
        ({"points": [(float("nan"), 5)]}, "finite"),
    ],
)
def test_bad_prompts_raise_select_error(kwargs: dict, message: str) -> None:
    rgb, _ = ellipse_scene()
    with pytest.raises(SelectError, match=message):
        lamapaint.select_mask(rgb, **kwargs)


def test_bad_images_raise_select_error() -> None:
    with pytest.raises(SelectError, match="at least 16"):
        lamapaint.select_mask(np.zeros((10, 40, 3), np.uint8), points=[(1, 1)])
    with pytest.raises(SelectError, match="uint8"):
        lamapaint.select_mask(np.zeros((40, 40), np.float32), points=[(1, 1)])
    with pytest.raises(SelectError, match="call set_image first"):
        lamapaint.Selector(model="classical").select(points=[(1, 1)])


def test_selector_keeps_the_embedding(mobile_sam_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    embedded: list[tuple[int, ...]] = []
    original = Predictor.set_image

    def counting(self: Predictor, rgb: np.ndarray) -> None:
        embedded.append(rgb.shape)
        if len(embedded) == 1:  # one real embedding is enough for the test (seconds on a CPU); later ones keep it
            original(self, rgb)

    monkeypatch.setattr(Predictor, "set_image", counting)
    selector = lamapaint.Selector(weights=mobile_sam_file, precision="fp32")
    rgb, _ = ellipse_scene()
    first = selector(rgb, points=[(144, 120)])
    assert selector.engine == "sam" and selector.fallback_reason is None
    again = selector(rgb.copy(), points=[(144, 120)])  # the same pixels in another array
    boxed = selector.select(box=(60, 40, 230, 200))
    negative = selector.select(points=[(144, 120), (5, 5)], labels=[1, 0])
    assert embedded == [(240, 320, 3)]
    assert np.array_equal(first, again)
    assert all(m.shape == (240, 320) and m.dtype == bool for m in (first, boxed, negative))
    selector(np.ascontiguousarray(rgb[::-1]), points=[(144, 120)])
    assert len(embedded) == 2


def test_importing_lamapaint_imports_no_torch() -> None:
    code = "import sys, lamapaint\nlamapaint.Selector; lamapaint.select_mask\nsys.exit(1 if 'torch' in sys.modules else 0)\n"
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
