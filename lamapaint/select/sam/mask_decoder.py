"""SAM's mask decoder: the two-way transformer, an upscaling head and per-mask hypernetworks."""

from __future__ import annotations

import torch
from torch import nn

from lamapaint.select.sam.common import LayerNorm2d
from lamapaint.select.sam.transformer import TwoWayTransformer

NUM_MASK_TOKENS = 4  # one for the single-mask output, three for the multimask output


class MLP(nn.Module):
    """Linear layers with ReLU between them (none after the last)."""

    def __init__(self, dim_in: int, hidden: int, dim_out: int, depth: int) -> None:
        super().__init__()
        dims = [dim_in] + [hidden] * (depth - 1)
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(dims, [*dims[1:], dim_out]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for i, layer in enumerate(self.layers):
            x = layer(x)
            if i < len(self.layers) - 1:
                x = nn.functional.relu(x)
        return x


class MaskDecoder(nn.Module):
    """Image embedding + prompt tokens -> 256x256 mask logits and predicted IoUs."""

    def __init__(self, dim: int = 256) -> None:
        super().__init__()
        self.transformer = TwoWayTransformer(dim=dim)
        self.iou_token = nn.Embedding(1, dim)
        self.mask_tokens = nn.Embedding(NUM_MASK_TOKENS, dim)
        self.output_upscaling = nn.Sequential(
            nn.ConvTranspose2d(dim, dim // 4, kernel_size=2, stride=2),
            LayerNorm2d(dim // 4),
            nn.GELU(),
            nn.ConvTranspose2d(dim // 4, dim // 8, kernel_size=2, stride=2),
            nn.GELU(),
        )
        self.output_hypernetworks_mlps = nn.ModuleList(MLP(dim, dim, dim // 8, 3) for _ in range(NUM_MASK_TOKENS))
        self.iou_prediction_head = MLP(dim, dim, NUM_MASK_TOKENS, 3)

    def forward(
        self, image: torch.Tensor, image_pe: torch.Tensor, sparse: torch.Tensor, dense: torch.Tensor, multimask: bool
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """One prompt set per batch row of ``sparse``; returns (B,C,256,256) logits and (B,C) IoUs, C = 3 or 1."""
        batch = sparse.shape[0]
        output = torch.cat([self.iou_token.weight, self.mask_tokens.weight], dim=0)
        tokens = torch.cat([output.unsqueeze(0).expand(batch, -1, -1), sparse], dim=1)
        src = image.expand(batch, -1, -1, -1) + dense
        pos = image_pe.expand(batch, -1, -1, -1)
        b, c, h, w = src.shape
        hs, src = self.transformer(src, pos, tokens)
        src = src.transpose(1, 2).reshape(b, c, h, w)
        upscaled = self.output_upscaling(src)
        hyper = torch.stack([mlp(hs[:, 1 + i, :]) for i, mlp in enumerate(self.output_hypernetworks_mlps)], dim=1)
        b, c, h, w = upscaled.shape
        masks = (hyper @ upscaled.view(b, c, h * w)).view(b, -1, h, w)
        iou = self.iou_prediction_head(hs[:, 0, :])
        chosen = slice(1, None) if multimask else slice(0, 1)
        return masks[:, chosen], iou[:, chosen]
