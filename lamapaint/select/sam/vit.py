"""SAM's ViT image encoder (vit_b, vit_l, vit_h): windowed and global attention with decomposed
relative positions, then the neck to a 256x64x64 embedding."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from lamapaint.select.sam.common import Neck, from_windows, pad_to_multiple, to_windows

GRID = 64  # 1024 / patch 16
_SCORES_PER_STEP = 1 << 21  # attention scores made at once: 4-8 MiB, in the cache


class PatchEmbed(nn.Module):
    """16x16 stride-16 convolution, output (B, H, W, C) and contiguous.

    A permuted view would carry channels-first strides through every residual add, and
    LayerNorm over such strided rows is about 9x slower (vit_b embeds ~8 % slower).
    """

    def __init__(self, dim: int, patch: int = 16) -> None:
        super().__init__()
        self.proj = nn.Conv2d(3, dim, kernel_size=patch, stride=patch)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(x).permute(0, 2, 3, 1).contiguous()


class RelPosAttention(nn.Module):
    """Multi-head attention over a (side x side) grid with SAM's decomposed relative-position term.

    The arithmetic is the official one (scaled queries times keys, plus the term from the unscaled
    queries, softmax over the keys), written out and taken in steps small enough for the CPU's
    cache: a global block's scores are (heads, 4096, 4096), 0.4-0.8 GB at once, and the fused
    attention with the term as a mask spent as long making the mask as attending. On the global
    grid a step is 512 query rows of one head (taller products run faster than all heads' 21
    rows); in windows, all rows of a few dozen (window, head) pairs. How the term is added depends
    on the grid:

    - 14x14 windows: it rides in the product. Each key gets one-hot columns for its row and its
      column, each query the term's values there, so one matrix product gives scores plus term
      (3x faster than adding the term to rows 14 wide).
    - the 64x64 grid: that would triple the product's width, so the term is written first (rows
      plus columns) and the product accumulated onto it, which saves a pass over the scores.
    """

    def __init__(self, dim: int, heads: int, side: int) -> None:
        super().__init__()
        self.heads = heads
        head_dim = dim // heads
        self.scale = head_dim**-0.5
        self.fold_term = 2 * side <= head_dim
        self.qkv = nn.Linear(dim, dim * 3)
        self.proj = nn.Linear(dim, dim)
        self.rel_pos_h = nn.Parameter(torch.zeros(2 * side - 1, head_dim))
        self.rel_pos_w = nn.Parameter(torch.zeros(2 * side - 1, head_dim))
        offsets = torch.arange(side)[:, None] - torch.arange(side)[None, :] + side - 1
        self.register_buffer("rel_index", offsets, persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(self.attend(self.qkv(x)))

    def attend(self, qkv: torch.Tensor) -> torch.Tensor:
        """(B, h, w, 3 * dim) projected queries, keys and values -> (B, h, w, dim), before ``proj``."""
        b, h, w, c = qkv.shape
        c //= 3
        n, batch = h * w, b * self.heads
        qkv = qkv.reshape(b, n, 3, self.heads, -1).permute(2, 0, 3, 1, 4).reshape(3, batch, n, -1)
        q, k, v = qkv.unbind(0)  # (B*heads, N, d)
        d = q.shape[-1]
        grid_q = q.reshape(batch, h, w, d)
        rel_h = torch.einsum("bhwc,hkc->bhwk", grid_q, self.rel_pos_h[self.rel_index].to(q.dtype)).reshape(batch, n, h)
        rel_w = torch.einsum("bhwc,wkc->bhwk", grid_q, self.rel_pos_w[self.rel_index].to(q.dtype)).reshape(batch, n, w)
        queries = q * self.scale
        if self.fold_term:
            queries = torch.cat([queries, rel_h, rel_w], dim=-1)
            k = torch.cat([k, _key_positions(h, w, k).expand(batch, n, h + w)], dim=-1)
        keys = k.transpose(1, 2).contiguous()
        values = v.contiguous()
        out = torch.empty_like(q)
        rows = min(n, max(1, _SCORES_PER_STEP // n))  # query rows per step: 512 of a global grid's 4096
        group = max(1, _SCORES_PER_STEP // (rows * n))  # (window, head) pairs per step: one on the global grid
        for first in range(0, batch, group):
            pairs = slice(first, first + group)
            for top in range(0, n, rows):
                part = slice(top, top + rows)
                if self.fold_term:
                    scores = torch.matmul(queries[pairs, part], keys[pairs])  # (pairs, rows, N)
                else:  # the term first, the product accumulated onto it: one pass over the scores fewer
                    term = _position_term(rel_h[pairs, part], rel_w[pairs, part])
                    scores = term.view(term.shape[0], -1, n).baddbmm_(queries[pairs, part], keys[pairs])
                out[pairs, part] = torch.matmul(torch.softmax(scores, dim=-1), values[pairs])
        return out.reshape(b, self.heads, h, w, d).permute(0, 2, 3, 1, 4).reshape(b, h, w, c)


def _position_term(rel_h: torch.Tensor, rel_w: torch.Tensor) -> torch.Tensor:
    """(pairs, rows, h) row terms and (pairs, rows, w) column terms -> (pairs, rows, h, w) their sums.

    In bf16 and fp16 torch's CPU broadcast add is slow (3x the time of fp32 for half the bytes),
    so there the columns are copied out and the rows added as a rank-1 product: the same sums, one
    rounding each, in half the time (vit_b embeds ~2 % faster).
    """
    if rel_h.dtype == torch.float32:
        return torch.add(rel_h[..., :, None], rel_w[..., None, :])
    pairs, rows, h = rel_h.shape
    w = rel_w.shape[-1]
    term = rel_w[:, :, None, :].expand(pairs, rows, h, w).clone()
    ones = rel_w.new_ones(1, 1, w).expand(pairs * rows, 1, w)
    term.view(-1, h, w).baddbmm_(rel_h.reshape(-1, h, 1), ones)
    return term


def _key_positions(h: int, w: int, like: torch.Tensor) -> torch.Tensor:
    """(1, h*w, h+w): for the key at (row, col), one-hot row then one-hot column."""
    rows = torch.eye(h, dtype=like.dtype, device=like.device).repeat_interleave(w, dim=0)
    cols = torch.eye(w, dtype=like.dtype, device=like.device).repeat(h, 1)
    return torch.cat([rows, cols], dim=1)[None]


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
        qkv = self.attn.qkv(self.norm1(x))
        if self.window:
            # The official code pads the normalised grid with zeros and projects every token; a zero
            # token's q, k and v are the projection's bias, so the real tokens are projected and the
            # padding filled with the bias. The output projection is per token: only real ones need it.
            padded = pad_to_multiple(qkv, self.window, fill=self.attn.qkv.bias.to(qkv.dtype))
            y = self.attn.attend(to_windows(padded, self.window))
            y = from_windows(y, self.window, padded.shape[1], padded.shape[2])[:, :h, :w, :].contiguous()  # a strided crop makes the product 7x slower
        else:
            y = self.attn.attend(qkv)
        x = x + self.attn.proj(y)
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
