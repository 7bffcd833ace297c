"""The predictor's arguments mean what the official ones mean, and bad input is a clear SelectError."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lamapaint.models.types import DeviceError, EngineError
from lamapaint.select.errors import SelectError
from lamapaint.select.sam import Predictor, build_model
from tests.select.sam_cases import SMALL_CASE, case_arrays, embedded

HEIGHT, WIDTH = 480, 640  # SMALL_CASE's photo
CENTRE = [[320, 240]]


@pytest.fixture(scope="module")
def unset() -> Predictor:
    """A predictor that has not been given a photo (random weights: nothing is computed)."""
    return Predictor(build_model("vit_t"))


def test_select_error_is_an_engine_error() -> None:
    assert issubclass(SelectError, EngineError)


def test_predict_before_set_image(unset: Predictor) -> None:
    with pytest.raises(SelectError, match="call set_image first"):
        unset.predict(points=CENTRE, labels=[1])
    with pytest.raises(SelectError, match="call set_image first"):
        _ = unset.features


@pytest.mark.parametrize(
    ("photo", "message"),
    [
        (np.zeros((100, 100, 3), np.float32), "uint8"),
        (np.zeros((100, 100), np.uint8), r"\(H, W, 3\)"),
        (np.zeros((100, 100, 4), np.uint8), r"\(H, W, 3\)"),
        ([[0, 0, 0]], "list"),
        (np.zeros((15, 400, 3), np.uint8), "400x15 pixels; selecting needs at least 16"),
        (np.zeros((300, 8, 3), np.uint8), "8x300 pixels"),
    ],
)
def test_bad_photos(unset: Predictor, photo: object, message: str) -> None:
    with pytest.raises(SelectError, match=message):
        unset.set_image(photo)


@pytest.mark.parametrize(
    ("prompt", "message"),
    [
        ({}, "nothing to select"),
        ({"points": CENTRE}, "points and labels go together"),
        ({"labels": [1]}, "points and labels go together"),
        ({"points": [320, 240], "labels": [1]}, r"\(N, 2\)"),
        ({"points": np.zeros((0, 2)), "labels": []}, r"N >= 1"),
        ({"points": CENTRE, "labels": [1, 0]}, "one entry per point"),
        ({"points": CENTRE, "labels": [2]}, "labels must be 1"),
        ({"points": [[float("nan"), 3]], "labels": [1]}, "finite"),
        ({"points": [["a", "b"]], "labels": [1]}, "numbers"),
        ({"points": [[640, 10]], "labels": [1]}, r"point \(640, 10\) is outside the 640x480 photo"),
        ({"points": [[10, 10], [5, -1]], "labels": [1, 0]}, r"point \(5, -1\) is outside"),
        ({"box": [300, 200, 100, 400]}, "empty or inverted"),
        ({"box": [100, 200, 100, 400]}, "empty or inverted"),
        ({"box": [100, 200, 300, 200]}, "empty or inverted"),
        ({"box": [100, 200, 300]}, "four numbers"),
        ({"box": [-5, 0, 300, 200]}, "reaches outside the 640x480 photo"),
        ({"box": [0, 0, 641, 200]}, "reaches outside"),
        ({"mask_input": np.zeros((256, 256), np.float32)}, r"\(1, 256, 256\)"),
        ({"mask_input": np.zeros((1, 64, 64), np.float32)}, r"\(1, 256, 256\)"),
    ],
)
def test_bad_prompts(prompt: dict, message: str) -> None:
    with pytest.raises(SelectError, match=message):
        embedded(SMALL_CASE).predict(**prompt)


def test_lists_and_arrays_give_the_same_answer_and_the_embedding_is_reused() -> None:
    predictor = embedded(SMALL_CASE)
    features = predictor.features
    a = predictor.predict(points=CENTRE, labels=[1])
    b = predictor.predict(points=np.array(CENTRE, np.float32), labels=np.array([1]))
    assert predictor.features is features
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)


def test_output_shapes_and_types() -> None:
    masks, iou, low_res = embedded(SMALL_CASE).predict(box=[100, 100, 300, 300], multimask=True)
    assert masks.shape == (3, HEIGHT, WIDTH) and masks.dtype == bool
    assert iou.shape == (3,) and iou.dtype == np.float32
    assert low_res.shape == (3, 256, 256) and low_res.dtype == np.float32
    masks, iou, low_res = embedded(SMALL_CASE).predict(box=[100, 100, 300, 300], multimask=False)
    assert masks.shape == (1, HEIGHT, WIDTH) and iou.shape == (1,) and low_res.shape == (1, 256, 256)


def test_a_mask_input_alone_is_a_prompt() -> None:
    predictor = embedded(SMALL_CASE)
    _, _, low_res = predictor.predict(points=CENTRE, labels=[1], multimask=False)
    masks, _, _ = predictor.predict(mask_input=low_res, multimask=False)
    assert masks.shape == (1, HEIGHT, WIDTH)


def test_background_label_changes_the_answer() -> None:
    predictor = embedded(SMALL_CASE)
    _, _, positive = predictor.predict(points=CENTRE, labels=[1])
    _, _, negative = predictor.predict(points=CENTRE, labels=[0])
    assert np.abs(positive - negative).max() > 0.1


def test_preview_masks_are_the_full_masks_at_the_preview_size() -> None:
    """``return_full=False``: masks at the photo scaled to a longer side of 1024, no full-size upsampling."""
    predictor = embedded(SMALL_CASE)
    full, iou, low_res = predictor.predict(points=CENTRE, labels=[1])
    preview, preview_iou, preview_low = predictor.predict(points=CENTRE, labels=[1], return_full=False)
    assert predictor.preview_size == (768, 1024)
    assert preview.shape == (3, 768, 1024) and preview.dtype == bool
    np.testing.assert_array_equal(iou, preview_iou)
    np.testing.assert_array_equal(low_res, preview_low)
    # The official post-processing's middle step: 256 -> 1024 bilinear, cropped to the resized photo.
    up = torch.nn.functional.interpolate(torch.from_numpy(low_res)[None], (1024, 1024), mode="bilinear", align_corners=False)
    np.testing.assert_array_equal(preview, up[0, :, :768, :1024].numpy() > 0)
    # The full masks are these at the photo's size (the seeded weights give busy masks: nearest
    # sampling agrees on ~95 % of pixels, against ~50 % for two unrelated masks).
    rows = ((np.arange(HEIGHT) + 0.5) * 768 / HEIGHT).astype(int)
    cols = ((np.arange(WIDTH) + 0.5) * 1024 / WIDTH).astype(int)
    assert (preview[:, rows][:, :, cols] == full).mean() > 0.9


def test_a_new_photo_replaces_the_embedding() -> None:
    predictor = Predictor(embedded(SMALL_CASE).model)
    photo = case_arrays(SMALL_CASE)["image_u8"]
    predictor.set_image(photo[:240, :320].copy())
    small = predictor.features.clone()
    assert predictor.image_size == (240, 320)
    with pytest.raises(SelectError, match="outside the 320x240 photo"):
        predictor.predict(points=CENTRE, labels=[1])
    predictor.set_image(photo)
    assert predictor.image_size == (HEIGHT, WIDTH)
    assert not torch.equal(small, predictor.features)


def test_device_and_precision_are_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    model = build_model("vit_t")
    with pytest.raises(DeviceError, match="CUDA was requested"):
        Predictor(model, device="cuda")
    with pytest.raises(DeviceError, match="fp16 is not supported on the CPU"):
        Predictor(model, precision="fp16")
    with pytest.raises(DeviceError, match="unknown precision"):
        Predictor(model, precision="fp8")
    assert Predictor(model, precision="auto").precision in ("fp32", "bf16")
