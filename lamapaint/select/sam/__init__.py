"""Segment Anything (SAM ViT-B/L/H) and MobileSAM (TinyViT), written from the reference facts.

``build_model(name)`` gives a model with the official state-dict layout; ``deterministic_state_dict``
seeded weights; ``Predictor`` embeds a photo once and answers point, box and mask prompts.
Names are resolved lazily so that importing this package does not import torch.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "MODEL_NAMES": "lamapaint.select.sam.builder",
    "build_model": "lamapaint.select.sam.builder",
    "deterministic_state_dict": "lamapaint.select.sam.builder",
    "Predictor": "lamapaint.select.sam.predictor",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
