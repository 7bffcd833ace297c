"""SAM's prompt encoder: points and boxes to sparse tokens, a low-res mask (or none) to a dense map."""

from __future__ import annotations

import math

import torch
from torch import nn

from lamapaint.select.sam.common import LayerNorm2d

EMBED_DIM = 256
GRID = 64
INPUT_SIZE = 1024


class PositionEmbeddingRandom(nn.Module):
    """Random-Fourier encoding of (x, y) in [0, 1] through a fixed Gaussian (2, 128) matrix."""

    def __init__(self, features: int = EMBED_DIM // 2) -> None:
        super().__init__()
        self.register_buffer("positional_encoding_gaussian_matrix", torch.randn(2, features))

    def encode(self, coords: torch.Tensor) -> torch.Tensor:
        """(..., 2) in [0, 1] -> (..., 256)."""
        coords = (2 * coords - 1) @ self.positional_encoding_gaussian_matrix
        coords = 2 * math.pi * coords
        return torch.cat([torch.sin(coords), torch.cos(coords)], dim=-1)

    def grid(self, side: int = GRID) -> torch.Tensor:
        """The encoding at the cell centres of a side x side grid, (256, side, side)."""
        matrix = self.positional_encoding_gaussian_matrix
        centres = (torch.arange(side, device=matrix.device, dtype=matrix.dtype) + 0.5) / side
        ys, xs = torch.meshgrid(centres, centres, indexing="ij")
        return self.encode(torch.stack([xs, ys], dim=-1)).permute(2, 0, 1)

    def coords(self, points: torch.Tensor) -> torch.Tensor:
        """(..., 2) x, y in the 1024-space -> (..., 256)."""
        return self.encode(points / INPUT_SIZE)


class PromptEncoder(nn.Module):
    """Sparse tokens [points (+ a padding point when there is no box), box corners]; dense (B,256,64,64)."""

    def __init__(self) -> None:
        super().__init__()
        self.pe_layer = PositionEmbeddingRandom()
        self.point_embeddings = nn.ModuleList(nn.Embedding(1, EMBED_DIM) for _ in range(4))
        self.not_a_point_embed = nn.Embedding(1, EMBED_DIM)
        self.mask_downscaling = nn.Sequential(
            nn.Conv2d(1, 4, kernel_size=2, stride=2),
            LayerNorm2d(4),
            nn.GELU(),
            nn.Conv2d(4, 16, kernel_size=2, stride=2),
            LayerNorm2d(16),
            nn.GELU(),
            nn.Conv2d(16, EMBED_DIM, kernel_size=1),
        )
        self.no_mask_embed = nn.Embedding(1, EMBED_DIM)

    def dense_pe(self) -> torch.Tensor:
        """The image's positional encoding, (1, 256, 64, 64)."""
        return self.pe_layer.grid().unsqueeze(0)

    def embed_points(self, points: torch.Tensor, labels: torch.Tensor, pad: bool) -> torch.Tensor:
        """(B,N,2) 1024-space points and (B,N) labels (1 foreground, 0 background) -> (B,N(+1),256)."""
        points = points + 0.5  # pixel centres
        if pad:
            points = torch.cat([points, points.new_zeros(points.shape[0], 1, 2)], dim=1)
            labels = torch.cat([labels, -labels.new_ones(labels.shape[0], 1)], dim=1)
        pe = self.pe_layer.coords(points)
        label = labels[..., None]
        out = torch.where(label == -1, self.not_a_point_embed.weight, pe)
        out = out + torch.where(label == 0, self.point_embeddings[0].weight, 0.0)
        return out + torch.where(label == 1, self.point_embeddings[1].weight, 0.0)

    def embed_boxes(self, boxes: torch.Tensor) -> torch.Tensor:
        """(B,4) x0,y0,x1,y1 in the 1024-space -> (B,2,256): the two corners."""
        corners = self.pe_layer.coords((boxes + 0.5).reshape(-1, 2, 2))
        first = corners[:, 0, :] + self.point_embeddings[2].weight
        second = corners[:, 1, :] + self.point_embeddings[3].weight
        return torch.stack([first, second], dim=1)

    def forward(
        self, points: tuple[torch.Tensor, torch.Tensor] | None, boxes: torch.Tensor | None, masks: torch.Tensor | None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        weight = self.no_mask_embed.weight
        batch = next((t.shape[0] for t in (points[0] if points else None, boxes, masks) if t is not None), 1)
        sparse = [weight.new_empty(batch, 0, EMBED_DIM)]
        if points is not None:
            sparse.append(self.embed_points(points[0], points[1], pad=boxes is None))
        if boxes is not None:
            sparse.append(self.embed_boxes(boxes))
        if masks is not None:
            dense = self.mask_downscaling(masks)
        else:
            dense = weight.reshape(1, -1, 1, 1).expand(batch, -1, GRID, GRID)
        return torch.cat(sparse, dim=1), dense
