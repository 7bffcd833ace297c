"""The generator is the official one: layout, parameter counts, deterministic weights, parity."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest
import torch

from lamapaint.inpaint import ffc
from lamapaint.inpaint.lama import CONFIGS, build_generator
from lamapaint.inpaint.weights import deterministic_state_dict
from tests.shared_data import LAMA_REFERENCE, require_shared

TOLERANCE = 1e-4
PARITY_FILES = [
    "parity_big-lama_256x256.npz",
    "parity_big-lama_200x328.npz",
    "parity_lama-fourier_256x256.npz",
    "debug_big-lama_40x56_activations.npz",
]


def _config_of(npz_name: str) -> str:
    return "lama-fourier" if "lama-fourier" in npz_name else "big-lama"


@pytest.fixture(scope="module")
def generators() -> dict[str, torch.nn.Module]:
    return {name: _loaded(name) for name in CONFIGS}


def _loaded(config: str) -> torch.nn.Module:
    gen = build_generator(config)
    gen.load_state_dict(deterministic_state_dict(config), strict=True)
    return gen


def _predict(gen: torch.nn.Module, case: np.lib.npyio.NpzFile) -> tuple[torch.Tensor, torch.Tensor]:
    image = torch.from_numpy(case["image"])
    mask = torch.from_numpy(case["mask"])
    with torch.inference_mode():
        pred = gen(torch.cat([image * (1 - mask), mask], dim=1))
    return pred, mask * pred + (1 - mask) * image


@pytest.mark.parametrize("config", sorted(CONFIGS))
def test_state_dict_layout_equals_reference(config: str) -> None:
    layout = json.loads(require_shared(LAMA_REFERENCE / f"state_dict_{config}.json").read_text())
    ours = [
        {"key": k, "shape": list(v.shape), "dtype": str(v.dtype).removeprefix("torch.")}
        for k, v in build_generator(config).state_dict().items()
    ]
    assert ours == layout


@pytest.mark.parametrize("config", sorted(CONFIGS))
def test_parameter_count(config: str) -> None:
    gen = build_generator(config)
    assert sum(p.numel() for p in gen.parameters()) == CONFIGS[config].parameters
    assert not gen.training


def test_unknown_config_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="unknown LaMa configuration"):
        build_generator("huge-lama")


@pytest.mark.parametrize("config", [pytest.param(c, marks=pytest.mark.slow) if c == "big-lama" else c for c in sorted(CONFIGS)])
def test_deterministic_weights_are_bit_exact(config: str) -> None:
    checksums = json.loads(require_shared(LAMA_REFERENCE / "det_weights_checksums.json").read_text())[config]
    state = deterministic_state_dict(config)
    expected = {entry["key"]: entry["sha256"] for entry in checksums["per_key"]}
    assert list(state) == list(expected)
    total = hashlib.sha256()
    for key, tensor in state.items():
        raw = tensor.contiguous().numpy().tobytes()
        assert hashlib.sha256(raw).hexdigest() == expected[key], key
        total.update(raw)
    assert total.hexdigest() == checksums["total_sha256"]


@pytest.mark.slow  # big-lama forward passes against the official outputs
@pytest.mark.parametrize("npz_name", PARITY_FILES)
def test_parity_with_official_generator(npz_name: str, generators: dict[str, torch.nn.Module]) -> None:
    case = np.load(require_shared(LAMA_REFERENCE / npz_name))
    pred, blended = _predict(generators[_config_of(npz_name)], case)
    assert (pred - torch.from_numpy(case["pred"])).abs().max().item() <= TOLERANCE
    assert (blended - torch.from_numpy(case["blended"])).abs().max().item() <= TOLERANCE


@pytest.mark.slow  # big-lama forward passes against the official outputs
def test_debug_activations_match_layer_by_layer(generators: dict[str, torch.nn.Module]) -> None:
    """Localises a mismatch: the first named sub-module whose output differs is reported."""
    case = np.load(require_shared(LAMA_REFERENCE / "debug_big-lama_40x56_activations.npz"))
    gen = generators["big-lama"]
    captured: dict[str, torch.Tensor] = {}

    def hook(name: str):
        def store(_module, _inputs, output):
            if isinstance(output, tuple):
                for half, value in zip("lg", output):
                    if torch.is_tensor(value):
                        captured[f"act/{name}/{half}"] = value.clone()
            else:
                captured[f"act/{name}"] = output.clone()

        return store

    names = {key.split("/")[1] for key in case.files if key.startswith("act/")}
    handles = [m.register_forward_hook(hook(n)) for n, m in gen.named_modules() if n in names]
    image, mask = torch.from_numpy(case["image"]), torch.from_numpy(case["mask"])
    gen_input = torch.cat([image * (1 - mask), mask], dim=1)
    assert torch.equal(gen_input, torch.from_numpy(case["gen_input"]))
    try:
        with torch.inference_mode():
            gen(gen_input)
    finally:
        for handle in handles:
            handle.remove()
    for key in sorted((k for k in case.files if k.startswith("act/")), key=_module_order):
        diff = (captured[key] - torch.from_numpy(case[key])).abs().max().item()
        assert diff <= TOLERANCE, f"first mismatch at {key}: {diff:.3g}"


def _module_order(key: str) -> tuple[int, str]:
    path = key.split("/")[1]
    return int(path.split(".")[1]), key


@pytest.mark.slow  # big-lama forward passes against the official outputs
@pytest.mark.parametrize(
    "mistake",
    ["fft_norm_backward", "real_imag_as_blocks"],
)
def test_parity_check_catches_deliberate_mistakes(mistake: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The parity tolerance is tight enough that known wrong implementations fail it."""
    case = np.load(require_shared(LAMA_REFERENCE / "debug_big-lama_40x56_activations.npz"))
    if mistake == "fft_norm_backward":
        real_rfftn, real_irfftn = torch.fft.rfftn, torch.fft.irfftn
        monkeypatch.setattr(torch.fft, "rfftn", lambda x, **kw: real_rfftn(x, **{**kw, "norm": "backward"}))
        monkeypatch.setattr(torch.fft, "irfftn", lambda x, **kw: real_irfftn(x, **{**kw, "norm": "backward"}))
    else:
        real_stack = torch.stack
        # (re, im) stacked as two channel blocks instead of interleaved per channel
        monkeypatch.setattr(ffc.torch, "stack", lambda ts, dim: real_stack(ts, dim=1) if dim == 2 else real_stack(ts, dim))
    pred, _ = _predict(_loaded("big-lama"), case)
    assert (pred - torch.from_numpy(case["pred"])).abs().max().item() > 100 * TOLERANCE
