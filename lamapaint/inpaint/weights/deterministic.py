"""Seeded generator weights for tests and benchmarks: offline, bit-exact with the reference README's rule."""

from __future__ import annotations

import math
import zlib

import torch

from lamapaint.inpaint.lama import build_generator


def _deterministic_tensor(key: str, shape: tuple[int, ...]) -> torch.Tensor:
    """The reference README's rule, operation for operation (order matters for bit-exactness)."""
    if key.endswith("num_batches_tracked"):
        return torch.zeros(shape, dtype=torch.int64)
    g = torch.Generator().manual_seed(zlib.crc32(key.encode("utf-8")))
    if key.endswith("running_var"):
        return 0.5 + torch.rand(shape, generator=g, dtype=torch.float32)
    if key.endswith("running_mean"):
        return 0.1 * torch.randn(shape, generator=g, dtype=torch.float32)
    if key.endswith(".weight") and len(shape) == 1:
        return 1.0 + 0.1 * torch.randn(shape, generator=g, dtype=torch.float32)
    if key.endswith(".bias"):
        return 0.05 * torch.randn(shape, generator=g, dtype=torch.float32)
    if key.endswith(".weight"):
        fan_in = math.prod(shape[1:])
        group = key.split(".")[2]
        gain = math.sqrt(2.0) if group == "ffc" else 0.55 if group in ("conv1", "conv2") else 1.0
        scale = math.sqrt(1.0 / fan_in) * gain
        return torch.randn(shape, generator=g, dtype=torch.float32) * scale
    raise ValueError(f"no deterministic rule for state-dict key {key!r}")


def deterministic_state_dict(config: str) -> dict[str, torch.Tensor]:
    """Seeded weights that give a well-behaved generator; tests and benchmarks use them offline."""
    layout = build_generator(config).state_dict()
    return {key: _deterministic_tensor(key, tuple(t.shape)) for key, t in layout.items()}
