"""The SAM models have the official layout and the reference's deterministic weights."""

from __future__ import annotations

import hashlib
import json

import pytest
import torch

from lamapaint.select.sam import MODEL_NAMES, build_model, deterministic_state_dict
from tests.shared_data import SAM_REFERENCE, require_shared

PARAMETERS = {"vit_t": 10_130_092, "vit_b": 93_735_472, "vit_l": 312_342_832, "vit_h": 641_090_608}


def _layout(model: torch.nn.Module) -> list[dict]:
    return [{"key": k, "shape": list(v.shape), "dtype": str(v.dtype).removeprefix("torch.")} for k, v in model.state_dict().items()]


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_state_dict_layout_equals_reference(name: str) -> None:
    reference = json.loads(require_shared(SAM_REFERENCE / f"state_dict_{name}.json").read_text())
    with torch.device("meta"):  # vit_h has 641 M parameters: the layout needs no memory for them
        model = build_model(name)
    assert _layout(model) == reference


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_parameter_count_and_eval_mode(name: str) -> None:
    with torch.device("meta"):
        model = build_model(name)
    assert sum(p.numel() for p in model.parameters()) == PARAMETERS[name]
    assert not model.training


def test_a_real_small_model_builds_on_the_cpu() -> None:
    model = build_model("vit_t")
    assert next(model.parameters()).device.type == "cpu" and not model.training


def test_unknown_model_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="unknown SAM model 'vit_x'"):
        build_model("vit_x")


@pytest.mark.parametrize("name", ["vit_t", "vit_b"])
def test_deterministic_weights_are_bit_exact(name: str) -> None:
    checksums = json.loads(require_shared(SAM_REFERENCE / f"det_weights_checksums_{name}.json").read_text())
    state = deterministic_state_dict(name)
    expected = checksums["tensors"]
    assert list(state) == list(expected)
    total = hashlib.sha256()
    for key, tensor in state.items():
        raw = tensor.contiguous().numpy().tobytes()
        assert hashlib.sha256(raw).hexdigest() == expected[key]["sha256"], key
        total.update(raw)
    assert total.hexdigest() == checksums["total_sha256"]


@pytest.mark.parametrize("name", ["vit_t", "vit_b"])
def test_deterministic_weights_load_strictly(name: str) -> None:
    build_model(name).load_state_dict(deterministic_state_dict(name), strict=True)
