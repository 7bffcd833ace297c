"""prepare_generator: BatchNorm folding keeps parity, channels_last and bf16 stay within their bounds."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from lamapaint.inpaint.lama import build_generator
from lamapaint.inpaint.optimize import PreparedGenerator, fold_batchnorm, prepare_generator
from lamapaint.inpaint.weights import deterministic_state_dict
from tests.shared_data import BENCH, LAMA_REFERENCE, require_shared

CPU = torch.device("cpu")
TOLERANCE = 1e-4  # the same bound as the unfolded parity tests
# big-lama: model.1-3 (bn_l), model.4 (bn_l, bn_g), 18 blocks x 2 layers x (bn_l, bn_g, conv1.1, fu.bn), 3 up-path
FOLDED_COUNTS = {"big-lama": 1 + 2 + 2 + 18 * 2 * 4 + 3, "lama-fourier": 1 + 2 + 2 + 9 * 2 * 4 + 3}


def _loaded(config: str) -> nn.Module:
    gen = build_generator(config)
    gen.load_state_dict(deterministic_state_dict(config), strict=True)
    return gen


@pytest.fixture(scope="module")
def folded_fp32() -> PreparedGenerator:
    return prepare_generator(_loaded("big-lama"), CPU, "fp32")


def _generator_input(case: np.lib.npyio.NpzFile) -> torch.Tensor:
    image, mask = torch.from_numpy(case["image"]), torch.from_numpy(case["mask"])
    return torch.cat([image * (1 - mask), mask], dim=1)


def _photo_input(width: int, height: int) -> tuple[torch.Tensor, torch.Tensor]:
    """A real photo and its object mask, downscaled: the kind of input the error bound is about."""
    image = Image.open(require_shared(BENCH / "images" / "skimage-coffee.png")).convert("RGB")
    mask = Image.open(require_shared(BENCH / "masks" / "skimage-coffee__object.png")).convert("L")
    rgb = np.asarray(image.resize((width, height), Image.Resampling.BOX), dtype=np.float32) / 255.0
    hole = (np.asarray(mask.resize((width, height), Image.Resampling.NEAREST)) > 0).astype(np.float32)
    rgb_t = torch.from_numpy(rgb).permute(2, 0, 1)[None]
    hole_t = torch.from_numpy(hole)[None, None]
    return torch.cat([rgb_t * (1 - hole_t), hole_t], dim=1), hole_t[0, 0].bool()


def _to_u8(pred: torch.Tensor) -> torch.Tensor:
    """As the pipeline converts (official predict.py): clip(x * 255) truncated to an integer."""
    return (pred[0] * 255).clamp(0, 255).to(torch.int16)


@pytest.mark.parametrize("config", [pytest.param(c, marks=pytest.mark.slow) if c == "big-lama" else c for c in sorted(FOLDED_COUNTS)])
def test_every_batchnorm_is_folded_and_the_tree_stays_usable(config: str) -> None:
    gen = _loaded(config)
    assert fold_batchnorm(gen) == FOLDED_COUNTS[config]
    assert not any(isinstance(m, nn.BatchNorm2d) for m in gen.modules())
    names = {name for name, _ in gen.named_modules()}
    assert {"model.5.conv1.ffc.convg2g.fu.conv_layer", "model.5.conv1.bn_g", "model.1.bn_l"} <= names
    assert isinstance(gen.get_submodule("model.5.conv1.bn_g"), nn.Identity)
    assert gen.get_submodule("model.5.conv1.ffc.convg2g.fu.conv_layer").bias is not None
    assert fold_batchnorm(gen) == 0  # nothing left to fold a second time


def test_folding_needs_eval_mode() -> None:
    gen = build_generator("lama-fourier").train()
    with pytest.raises(ValueError, match="eval mode"):
        fold_batchnorm(gen)


@pytest.mark.slow  # big-lama forward passes (or its prepared fixture)
def test_a_wrong_fold_would_be_caught() -> None:
    """Adding one BatchNorm's shift twice (a plausible folding bug) breaks parity well beyond the tolerance."""
    case = np.load(require_shared(LAMA_REFERENCE / "debug_big-lama_40x56_activations.npz"))
    gen = _loaded("big-lama")
    fold_batchnorm(gen)
    conv = gen.get_submodule("model.5.conv1.ffc.convl2l")
    with torch.no_grad():
        conv.bias.mul_(2)
        pred = gen(_generator_input(case))
    assert (pred - torch.from_numpy(case["pred"])).abs().max().item() > 10 * TOLERANCE


@pytest.mark.slow  # big-lama forward passes against the official outputs
@pytest.mark.parametrize("npz_name", ["debug_big-lama_40x56_activations.npz", "parity_big-lama_256x256.npz"])
def test_folded_channels_last_fp32_keeps_parity(npz_name: str, folded_fp32: PreparedGenerator) -> None:
    case = np.load(require_shared(LAMA_REFERENCE / npz_name))
    with torch.inference_mode():
        pred = folded_fp32(_generator_input(case))
    assert pred.dtype == torch.float32 and pred.is_contiguous()
    assert (pred - torch.from_numpy(case["pred"])).abs().max().item() <= TOLERANCE


@pytest.mark.slow  # big-lama forward passes (or its prepared fixture)
def test_unfolded_nchw_path_is_the_plain_model() -> None:
    case = np.load(require_shared(LAMA_REFERENCE / "debug_big-lama_40x56_activations.npz"))
    prepared = prepare_generator(_loaded("big-lama"), CPU, "fp32", fold=False, channels_last=False)
    assert sum(isinstance(m, nn.BatchNorm2d) for m in prepared.modules()) == FOLDED_COUNTS["big-lama"]
    with torch.inference_mode():
        pred = prepared(_generator_input(case))
    assert (pred - torch.from_numpy(case["pred"])).abs().max().item() <= TOLERANCE


@pytest.mark.slow  # big-lama forward passes (or its prepared fixture)
def test_prepared_generator_describes_itself_and_freezes_weights(folded_fp32: PreparedGenerator) -> None:
    assert (folded_fp32.device, folded_fp32.precision, folded_fp32.dtype) == (CPU, "fp32", torch.float32)
    assert folded_fp32.channels_last and not folded_fp32.compiled and not folded_fp32.training
    assert not any(p.requires_grad for p in folded_fp32.parameters())
    conv = folded_fp32.get_submodule("generator.model.1.ffc.convl2l")
    assert conv.weight.is_contiguous(memory_format=torch.channels_last)


@pytest.mark.slow  # big-lama forward passes (or its prepared fixture)
def test_bf16_stays_within_two_levels_on_a_photo(folded_fp32: PreparedGenerator) -> None:
    """The bound `auto` relies on: <= 2 uint8 levels on >= 99.9 % of hole pixels (all channels)."""
    x, hole = _photo_input(192, 128)
    bf16 = prepare_generator(_loaded("big-lama"), CPU, "bf16")
    assert bf16.get_submodule("generator.model.1.ffc.convl2l").weight.dtype == torch.bfloat16
    with torch.inference_mode():
        ref, out = folded_fp32(x), bf16(x)
    assert out.dtype == torch.float32 and torch.isfinite(out).all()
    levels = (_to_u8(out) - _to_u8(ref)).abs().amax(dim=0)
    assert hole.sum() > 1000
    assert (levels[hole] <= 2).float().mean().item() >= 0.999
    assert levels.max().item() > 0  # it really ran in bf16 (not silently in fp32)


def test_prepared_inside_inference_mode_as_the_backend_does() -> None:
    """Folding under inference_mode makes inference tensors; the model must still run outside it."""
    case = np.load(require_shared(LAMA_REFERENCE / "debug_big-lama_40x56_activations.npz"))
    with torch.inference_mode():
        prepared = prepare_generator(_loaded("big-lama"), CPU, "fp32")
    with torch.no_grad():
        pred = prepared(_generator_input(case))
    assert (pred - torch.from_numpy(case["pred"])).abs().max().item() <= TOLERANCE
