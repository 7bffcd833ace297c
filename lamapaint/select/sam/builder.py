"""The four SAM configurations by name, and seeded weights for tests and benchmarks."""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass

import torch
from torch import nn

from lamapaint.select.sam.model import Sam
from lamapaint.select.sam.tiny_vit import TinyViT
from lamapaint.select.sam.vit import ImageEncoderViT


@dataclass(frozen=True)
class ViTConfig:
    """A SAM ViT encoder's size."""

    dim: int
    depth: int
    heads: int
    global_blocks: tuple[int, ...]


VIT_CONFIGS = {
    "vit_b": ViTConfig(768, 12, 12, (2, 5, 8, 11)),
    "vit_l": ViTConfig(1024, 24, 16, (5, 11, 17, 23)),
    "vit_h": ViTConfig(1280, 32, 16, (7, 15, 23, 31)),
}
#: The model names build_model accepts: MobileSAM (TinyViT) and the three SAM ViTs.
MODEL_NAMES = ("vit_t", *VIT_CONFIGS)


def build_model(name: str) -> Sam:
    """An untrained model with the official state-dict layout, in eval mode (no weights are read)."""
    if name == "vit_t":
        encoder: nn.Module = TinyViT()
    elif name in VIT_CONFIGS:
        c = VIT_CONFIGS[name]
        encoder = ImageEncoderViT(c.dim, c.depth, c.heads, c.global_blocks)
    else:
        raise ValueError(f"unknown SAM model {name!r}; expected one of {', '.join(MODEL_NAMES)}")
    return Sam(encoder).eval()


_EMBEDDING_PARENTS = ("iou_token", "mask_tokens")


def _deterministic_tensor(key: str, shape: tuple[int, ...]) -> torch.Tensor:
    """The reference README's rule, operation for operation (order matters for bit-exactness)."""
    if key.endswith("num_batches_tracked"):
        return torch.zeros(shape, dtype=torch.int64)
    g = torch.Generator().manual_seed(zlib.crc32(key.encode("utf-8")))
    parts = key.split(".")
    last = parts[-1]
    if key.endswith("running_var"):
        return 0.5 + torch.rand(shape, generator=g, dtype=torch.float32)
    if key.endswith("running_mean"):
        return 0.1 * torch.randn(shape, generator=g, dtype=torch.float32)
    if last in ("pos_embed", "rel_pos_h", "rel_pos_w"):
        return 0.02 * torch.randn(shape, generator=g, dtype=torch.float32)
    if last == "attention_biases":
        return 0.1 * torch.randn(shape, generator=g, dtype=torch.float32)
    if last == "positional_encoding_gaussian_matrix":
        return torch.randn(shape, generator=g, dtype=torch.float32)
    if key.endswith(".weight") and len(parts) >= 2:
        parent = parts[-2]
        if "embed" in parent or parent in _EMBEDDING_PARENTS or (len(parts) >= 3 and parts[-3] == "point_embeddings"):
            return torch.randn(shape, generator=g, dtype=torch.float32)
    if key.endswith(".weight") and len(shape) == 1:
        return 1.0 + 0.1 * torch.randn(shape, generator=g, dtype=torch.float32)
    if key.endswith(".bias"):
        return 0.05 * torch.randn(shape, generator=g, dtype=torch.float32)
    if key.endswith(".weight"):
        scale = math.sqrt(1.0 / math.prod(shape[1:]))
        return torch.randn(shape, generator=g, dtype=torch.float32) * scale
    raise ValueError(f"no deterministic rule for state-dict key {key!r}")


def deterministic_state_dict(name: str) -> dict[str, torch.Tensor]:
    """Seeded weights (reference README recipe) for offline tests and benchmarks; same keys as the model."""
    with torch.device("meta"):
        layout = build_model(name).state_dict()
    return {key: _deterministic_tensor(key, tuple(t.shape)) for key, t in layout.items()}
