"""MobileSAM's TinyViT-5M image encoder (vit_t): convolutional stage, three windowed-attention stages
with learned relative biases, then the neck to a 256x64x64 embedding."""

from __future__ import annotations

import itertools

import torch
from torch import nn

from lamapaint.select.sam.common import Neck, from_windows, pad_to_multiple, to_windows

DIMS = (64, 128, 160, 320)
DEPTHS = (2, 2, 6, 2)
HEADS = (2, 4, 5, 10)
WINDOWS = (7, 7, 14, 7)
MLP_RATIO = 4
MBCONV_EXPANSION = 4


class ConvBN(nn.Sequential):
    """A bias-free convolution (``c``) followed by BatchNorm (``bn``).

    In eval mode the BatchNorm is folded into the convolution on every call (a few thousand weights):
    one pass over the activations instead of two, and the state dict keeps the official layout.
    """

    def __init__(self, cin: int, cout: int, kernel: int = 1, stride: int = 1, padding: int = 0, groups: int = 1) -> None:
        super().__init__()
        self.add_module("c", nn.Conv2d(cin, cout, kernel, stride, padding, groups=groups, bias=False))
        self.add_module("bn", nn.BatchNorm2d(cout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training:
            return super().forward(x)
        conv, bn = self.c, self.bn
        scale = bn.weight * torch.rsqrt(bn.running_var + bn.eps)
        weight = conv.weight * scale[:, None, None, None]
        bias = bn.bias - bn.running_mean * scale
        return nn.functional.conv2d(x, weight, bias, conv.stride, conv.padding, conv.dilation, conv.groups)


class PatchEmbed(nn.Module):
    """Two stride-2 3x3 ConvBN with GELU between: 1024 -> 256."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.seq = nn.Sequential(ConvBN(3, dim // 2, 3, 2, 1), nn.GELU(), ConvBN(dim // 2, dim, 3, 2, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.seq(x)


class MBConv(nn.Module):
    """Inverted residual: 1x1 expand, depthwise 3x3, 1x1 project, add, GELU."""

    def __init__(self, dim: int, expansion: int) -> None:
        super().__init__()
        hidden = dim * expansion
        self.conv1 = ConvBN(dim, hidden)
        self.conv2 = ConvBN(hidden, hidden, 3, 1, 1, groups=hidden)
        self.conv3 = ConvBN(hidden, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = nn.functional.gelu(self.conv2(nn.functional.gelu(self.conv1(x))))
        return nn.functional.gelu(self.conv3(y) + x)


class PatchMerging(nn.Module):
    """1x1 ConvBN, depthwise 3x3 ConvBN (stride 2, or 1 into the last stage), 1x1 ConvBN; returns tokens."""

    def __init__(self, side: int, dim: int, out_dim: int, stride: int) -> None:
        super().__init__()
        self.side = side
        self.conv1 = ConvBN(dim, out_dim)
        self.conv2 = ConvBN(out_dim, out_dim, 3, stride, 1, groups=out_dim)
        self.conv3 = ConvBN(out_dim, out_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim == 3:  # tokens (B, H*W, C) -> channels-first
            x = x.view(x.shape[0], self.side, self.side, -1).permute(0, 3, 1, 2)
        x = self.conv3(nn.functional.gelu(self.conv2(nn.functional.gelu(self.conv1(x)))))
        return x.flatten(2).transpose(1, 2)


class ConvLayer(nn.Module):
    """Stage 0: MBConv blocks on a channels-first map, then the merge into tokens."""

    def __init__(self, dim: int, depth: int, downsample: PatchMerging) -> None:
        super().__init__()
        self.blocks = nn.ModuleList(MBConv(dim, MBCONV_EXPANSION) for _ in range(depth))
        self.downsample = downsample

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for block in self.blocks:
            x = block(x)
        return self.downsample(x)


def bias_index(window: int) -> torch.Tensor:
    """(window², window²) indices into a per-head bias row, offsets numbered in the order first met."""
    points = list(itertools.product(range(window), range(window)))
    seen: dict[tuple[int, int], int] = {}
    index = []
    for p in points:
        for q in points:
            offset = (abs(p[0] - q[0]), abs(p[1] - q[1]))
            index.append(seen.setdefault(offset, len(seen)))
    return torch.tensor(index, dtype=torch.long).view(len(points), len(points))


class Attention(nn.Module):
    """LayerNorm, per-head [q|k|v] projection, attention with a learned relative bias, projection.

    The bias table is gathered on every call, so loading new ``attention_biases`` can never leave a
    stale cached copy behind (the official model caches it when put in eval mode).
    """

    def __init__(self, dim: int, heads: int, window: int) -> None:
        super().__init__()
        self.heads = heads
        self.key_dim = dim // heads
        self.attention_biases = nn.Parameter(torch.zeros(heads, window * window))
        self.norm = nn.LayerNorm(dim)
        self.qkv = nn.Linear(dim, dim * 3)
        self.proj = nn.Linear(dim, dim)
        self.register_buffer("bias_index", bias_index(window), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, n, c = x.shape
        qkv = self.qkv(self.norm(x)).view(b, n, self.heads, 3 * self.key_dim).transpose(1, 2)
        q, k, v = qkv.split(self.key_dim, dim=3)
        bias = self.attention_biases[:, self.bias_index].to(q.dtype)[None]  # 4-D: torch's fused CPU kernel takes it
        out = nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=bias)
        return self.proj(out.transpose(1, 2).reshape(b, n, c))


class Mlp(nn.Module):
    """LayerNorm -> Linear -> GELU -> Linear."""

    def __init__(self, dim: int, hidden: int) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(dim)
        self.fc1 = nn.Linear(dim, hidden)
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(nn.functional.gelu(self.fc1(self.norm(x))))


class TinyViTBlock(nn.Module):
    """Windowed attention (padding before the attention's LayerNorm), local depthwise conv, MLP."""

    def __init__(self, side: int, dim: int, heads: int, window: int) -> None:
        super().__init__()
        self.side = side
        self.window = window
        self.attn = Attention(dim, heads, window)
        self.mlp = Mlp(dim, dim * MLP_RATIO)
        self.local_conv = ConvBN(dim, dim, 3, 1, 1, groups=dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, n, c = x.shape
        side, window = self.side, self.window
        if side == window:
            y = self.attn(x)
        else:
            grid = pad_to_multiple(x.view(b, side, side, c), window)
            y = self.attn(to_windows(grid, window).view(-1, window * window, c))
            y = from_windows(y, window, grid.shape[1], grid.shape[2])[:, :side, :side, :].reshape(b, n, c)
        x = x + y
        x = self.local_conv(x.transpose(1, 2).reshape(b, c, side, side)).view(b, c, n).transpose(1, 2)
        return x + self.mlp(x)


class BasicLayer(nn.Module):
    """A stage of TinyViT blocks on tokens, with an optional merge after it."""

    def __init__(self, side: int, dim: int, depth: int, heads: int, window: int, downsample: PatchMerging | None) -> None:
        super().__init__()
        self.blocks = nn.ModuleList(TinyViTBlock(side, dim, heads, window) for _ in range(depth))
        self.downsample = downsample

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for block in self.blocks:
            x = block(x)
        return x if self.downsample is None else self.downsample(x)


class TinyViT(nn.Module):
    """(B,3,1024,1024) -> (B,256,64,64). ``norm_head``/``head`` (classification) are kept for the layout only."""

    def __init__(self) -> None:
        super().__init__()
        self.patch_embed = PatchEmbed(DIMS[0])
        sides = (256, 128, 64, 64)
        layers: list[nn.Module] = [ConvLayer(DIMS[0], DEPTHS[0], PatchMerging(sides[0], DIMS[0], DIMS[1], 2))]
        for i in range(1, len(DIMS)):
            merge = None
            if i + 1 < len(DIMS):
                stride = 2 if sides[i + 1] < sides[i] else 1
                merge = PatchMerging(sides[i], DIMS[i], DIMS[i + 1], stride)
            layers.append(BasicLayer(sides[i], DIMS[i], DEPTHS[i], HEADS[i], WINDOWS[i], merge))
        self.layers = nn.ModuleList(layers)
        self.norm_head = nn.LayerNorm(DIMS[-1])
        self.head = nn.Linear(DIMS[-1], 1000)
        self.neck = Neck(DIMS[-1])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # Channels-last convolutions are faster on the CPU, and the merges' token views then need no copy.
        x = self.patch_embed(x.contiguous(memory_format=torch.channels_last))
        for layer in self.layers:
            x = layer(x)
        b, _, c = x.shape
        return self.neck(x.view(b, 64, 64, c).permute(0, 3, 1, 2))
