"""Small layers shared by the SAM encoders and decoder."""

from __future__ import annotations

import torch
from torch import nn


class LayerNorm2d(nn.Module):
    """LayerNorm over the channels of a channels-first map, per pixel (biased variance, as SAM's)."""

    def __init__(self, channels: int, eps: float = 1e-6) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(channels))
        self.bias = nn.Parameter(torch.zeros(channels))
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mean = x.mean(1, keepdim=True)
        var = (x - mean).pow(2).mean(1, keepdim=True)
        x = (x - mean) / torch.sqrt(var + self.eps)
        return self.weight[:, None, None] * x + self.bias[:, None, None]


class Neck(nn.Sequential):
    """Encoder output to the 256-channel embedding: 1x1 conv, LayerNorm2d, 3x3 conv, LayerNorm2d."""

    def __init__(self, in_channels: int, out_channels: int = 256) -> None:
        super().__init__(
            nn.Conv2d(in_channels, out_channels, kernel_size=1, bias=False),
            LayerNorm2d(out_channels),
            nn.Conv2d(out_channels, out_channels, kernel_size=3, padding=1, bias=False),
            LayerNorm2d(out_channels),
        )


def pad_to_multiple(x: torch.Tensor, window: int, fill: torch.Tensor | None = None) -> torch.Tensor:
    """Pad a (B,H,W,C) grid bottom/right to a multiple of ``window``, with zeros or the (C,) ``fill``."""
    pad_h = (window - x.shape[1] % window) % window
    pad_w = (window - x.shape[2] % window) % window
    if not (pad_h or pad_w):
        return x
    if fill is None:
        return nn.functional.pad(x, (0, 0, 0, pad_w, 0, pad_h))
    b, h, w, c = x.shape
    padded = x.new_empty(b, h + pad_h, w + pad_w, c)
    padded[:, :h, :w] = x
    padded[:, h:] = fill
    padded[:, :h, w:] = fill
    return padded


def to_windows(x: torch.Tensor, window: int) -> torch.Tensor:
    """(B,H,W,C) with H, W multiples of ``window`` -> (B*nH*nW, window, window, C), row-major windows."""
    b, h, w, c = x.shape
    x = x.view(b, h // window, window, w // window, window, c)
    return x.permute(0, 1, 3, 2, 4, 5).reshape(-1, window, window, c)


def from_windows(x: torch.Tensor, window: int, height: int, width: int) -> torch.Tensor:
    """The inverse of ``to_windows`` for a padded (height, width) grid."""
    n_h, n_w = height // window, width // window
    b = x.shape[0] // (n_h * n_w)
    x = x.view(b, n_h, n_w, window, window, -1)
    return x.permute(0, 1, 3, 2, 4, 5).reshape(b, height, width, -1)
