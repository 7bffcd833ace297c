"""The reference parity cases and a loaded model per name, built once per test session."""

from __future__ import annotations

import functools
import json

import numpy as np
import torch

from lamapaint.select.sam import Predictor, build_model, deterministic_state_dict
from tests.shared_data import SAM_REFERENCE, require_shared

SMALL_CASE = "parity_vit_t_480x640.npz"


@functools.cache
def manifest() -> dict:
    return json.loads(require_shared(SAM_REFERENCE / "parity_manifest.json").read_text())


@functools.cache
def loaded_model(name: str) -> torch.nn.Module:
    model = build_model(name)
    model.load_state_dict(deterministic_state_dict(name), strict=True)
    return model


@functools.cache
def case_arrays(case_name: str) -> dict[str, np.ndarray]:
    return dict(np.load(require_shared(SAM_REFERENCE / case_name)))


@functools.cache
def embedded(case_name: str) -> Predictor:
    """An fp32 predictor holding the case's embedding (the encoder is the slow part: shared)."""
    predictor = Predictor(loaded_model(manifest()[case_name]["model"]))
    predictor.set_image(case_arrays(case_name)["image_u8"])
    return predictor


def prompts(case_name: str) -> list[tuple[str, dict]]:
    return list(manifest()[case_name]["prompts"].items())


def mask_input(case: dict[str, np.ndarray], prompt: dict) -> np.ndarray | None:
    """The earlier prompt's best low-res logits, where the prompt refines it (``mask_from``)."""
    if "mask_from" not in prompt:
        return None
    source = f"p{prompt['mask_from']}"
    return case[f"{source}_low_res"][np.argmax(case[f"{source}_iou"])][None]
