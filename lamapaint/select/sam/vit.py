"""SAM's ViT image encoder (vit_b, vit_l, vit_h): windowed and global attention with decomposed
relative positions, then the neck to a 256x64x64 embedding."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from lamapaint.select.sam.common import Neck, from_windows, pad_to_multiple, to_windows

GRID = 64  # 1024 / patch 16
_BIAS_ELEMENTS = 1 << 25  # the most attention-bias entries made at once (128 MiB in fp32)


class PatchEmbed(nn.Module):
    """16x16 stride-16 convolution, output channels-last."""

    def __init__(self, dim: int, patch: int = 16) -> None:
        super().__init__()
        self.proj = nn.Conv2d(3, dim, kernel_size=patch, stride=patch)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(x).permute(0, 2, 3, 1)


class RelPosAttention(nn.Module):
    """Multi-head attention over a (side x side) grid with SAM's decomposed relative-position term.

    The term uses the unscaled queries and enters the fused attention as an additive mask, which is
    the same arithmetic as adding it to the scaled logits.
    """

    def __init__(self, dim: int, heads: int, side: int) -> None:
        super().__init__()
        self.heads = heads
        head_dim = dim // heads
        self.qkv = nn.Linear(dim, dim * 3)
        self.proj = nn.Linear(dim, dim)
        self.rel_pos_h = nn.Parameter(torch.zeros(2 * side - 1, head_dim))
        self.rel_pos_w = nn.Parameter(torch.zeros(2 * side - 1, head_dim))
        offsets = torch.arange(side)[:, None] - torch.arange(side)[None, :] + side - 1
        self.register_buffer("rel_index", offsets, persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, h, w, c = x.shape
        n = h * w
        qkv = self.qkv(x).reshape(b, n, 3, self.heads, -1).permute(2, 0, 3, 1, 4)
        q, k, v = qkv.unbind(0)  # (B, heads, N, d)
        d = q.shape[-1]
        rh = self.rel_pos_h[self.rel_index]  # (h, h, d): [q row, k row]
        rw = self.rel_pos_w[self.rel_index]
        grid_q = q.reshape(b * self.heads, h, w, d)
        rel_h = torch.einsum("bhwc,hkc->bhwk", grid_q, rh.to(q.dtype)).reshape(b, self.heads, h, w, h, 1)
        rel_w = torch.einsum("bhwc,wkc->bhwk", grid_q, rw.to(q.dtype)).reshape(b, self.heads, h, w, 1, w)
        # Query rows in chunks: the bias of a global block is (heads, 4096, 4096), 0.8-1 GB in fp32 at once.
        rows = max(1, _BIAS_ELEMENTS // (b * self.heads * w * n))
        parts = []
        for top in range(0, h, rows):
            bias = (rel_h[:, :, top : top + rows] + rel_w[:, :, top : top + rows]).reshape(b, self.heads, -1, n)
            parts.append(nn.functional.scaled_dot_product_attention(q[:, :, top * w : (top + rows) * w], k, v, attn_mask=bias))
        out = parts[0] if len(parts) == 1 else torch.cat(parts, dim=2)
        out = out.reshape(b, self.heads, h, w, d).permute(0, 2, 3, 1, 4).reshape(b, h, w, c)
        return self.proj(out)


class MLPBlock(nn.Module):
    """Linear -> activation -> Linear."""

    def __init__(self, dim: int, hidden: int, act: type[nn.Module] = nn.GELU) -> None:
        super().__init__()
        self.lin1 = nn.Linear(dim, hidden)
        self.lin2 = nn.Linear(hidden, dim)
        self.act = act()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.lin2(self.act(self.lin1(x)))


class Block(nn.Module):
    """Pre-norm transformer block; ``window`` 0 attends the whole grid, else 14x14 windows cut after norm1."""

    def __init__(self, dim: int, heads: int, window: int) -> None:
        super().__init__()
        self.window = window
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.attn = RelPosAttention(dim, heads, window or GRID)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = MLPBlock(dim, dim * 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[1], x.shape[2]
        y = self.norm1(x)
        if self.window:
            padded = pad_to_multiple(y, self.window)
            y = self.attn(to_windows(padded, self.window))
            y = from_windows(y, self.window, padded.shape[1], padded.shape[2])[:, :h, :w, :]
        else:
            y = self.attn(y)
        x = x + y
        return x + self.mlp(self.norm2(x))


class ImageEncoderViT(nn.Module):
    """Patch embedding + absolute positions, ``depth`` blocks, neck; (B,3,1024,1024) -> (B,256,64,64)."""

    def __init__(self, dim: int, depth: int, heads: int, global_blocks: Sequence[int], window: int = 14) -> None:
        super().__init__()
        self.patch_embed = PatchEmbed(dim)
        self.pos_embed = nn.Parameter(torch.zeros(1, GRID, GRID, dim))
        self.blocks = nn.ModuleList(Block(dim, heads, 0 if i in global_blocks else window) for i in range(depth))
        self.neck = Neck(dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.patch_embed(x) + self.pos_embed
        for block in self.blocks:
            x = block(x)
        return self.neck(x.permute(0, 3, 1, 2))
