"""Fast Fourier Convolution blocks (Chi et al., NeurIPS 2020) as LaMa's generator uses them.

Module and attribute names follow the official state-dict layout
(``../shared/reference/lama/README.md``) so that official checkpoints load with ``strict=True``.
A feature map is split into a *local* half (ordinary 3x3 convolutions) and a *global* half (a
spectral transform whose 1x1 convolution runs on the image's 2-D Fourier transform, so every output
pixel sees the whole image). Between layers the pair travels as a tuple ``(local, global)``; a
missing half is the integer ``0``, as in the reference, so sums with it are no-ops.
"""

from __future__ import annotations

from typing import Union

import torch
from torch import nn

FeaturePair = tuple[Union[torch.Tensor, int], Union[torch.Tensor, int]]


class FourierUnit(nn.Module):
    """1x1 conv + BN + ReLU in the frequency domain of a real 2-D FFT (orthonormal).

    Real and imaginary parts are interleaved per channel (re_0, im_0, re_1, im_1, ...). The FFTs
    always run in float32: half-precision FFTs are unsupported on CPU and restricted to powers of two
    on CUDA, and the transform is a negligible share of the work.
    """

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.conv_layer = nn.Conv2d(in_channels * 2, out_channels * 2, kernel_size=1, bias=False)
        self.bn = nn.BatchNorm2d(out_channels * 2)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, _, height, width = x.shape
        compute_dtype = self.conv_layer.weight.dtype
        spectrum = torch.fft.rfftn(x.float(), dim=(-2, -1), norm="ortho")
        # (N, C, H, Wf) complex -> (N, C, 2, H, Wf) -> (N, 2C, H, Wf), channel 2k = Re_k, 2k+1 = Im_k
        stacked = torch.stack((spectrum.real, spectrum.imag), dim=2)
        stacked = stacked.reshape(batch, -1, height, spectrum.shape[-1]).to(compute_dtype)
        stacked = self.relu(self.bn(self.conv_layer(stacked)))
        stacked = stacked.float().reshape(batch, -1, 2, height, spectrum.shape[-1])
        spectrum = torch.complex(stacked[:, :, 0].contiguous(), stacked[:, :, 1].contiguous())
        out = torch.fft.irfftn(spectrum, s=(height, width), dim=(-2, -1), norm="ortho")
        return out.to(compute_dtype)


class SpectralTransform(nn.Module):
    """The global-to-global path: 1x1 down to half the channels, Fourier unit, residual, 1x1 up."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        hidden = out_channels // 2
        self.conv1 = nn.Sequential(
            nn.Conv2d(in_channels, hidden, kernel_size=1, bias=False),
            nn.BatchNorm2d(hidden),
            nn.ReLU(inplace=True),
        )
        self.fu = FourierUnit(hidden, hidden)
        self.conv2 = nn.Conv2d(hidden, out_channels, kernel_size=1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv1(x)
        return self.conv2(y + self.fu(y))


def _conv_or_identity(in_ch: int, out_ch: int, kernel_size: int, stride: int, padding: int) -> nn.Module:
    if in_ch == 0 or out_ch == 0:
        return nn.Identity()
    return nn.Conv2d(in_ch, out_ch, kernel_size, stride, padding, bias=False, padding_mode="reflect")


class FFC(nn.Module):
    """Four paths between the local and global halves; the global->global one is spectral."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        ratio_gin: float,
        ratio_gout: float,
        stride: int = 1,
        padding: int = 0,
    ) -> None:
        super().__init__()
        in_g = int(in_channels * ratio_gin)
        in_l = in_channels - in_g
        out_g = int(out_channels * ratio_gout)
        out_l = out_channels - out_g
        self.ratio_gout = ratio_gout
        self.convl2l = _conv_or_identity(in_l, out_l, kernel_size, stride, padding)
        self.convl2g = _conv_or_identity(in_l, out_g, kernel_size, stride, padding)
        self.convg2l = _conv_or_identity(in_g, out_l, kernel_size, stride, padding)
        self.convg2g = SpectralTransform(in_g, out_g) if in_g and out_g else nn.Identity()
        self.gate = nn.Identity()

    def forward(self, x: FeaturePair) -> FeaturePair:
        x_l, x_g = x
        out_l: torch.Tensor | int = 0
        out_g: torch.Tensor | int = 0
        if self.ratio_gout != 1:
            out_l = self.convl2l(x_l) + self.convg2l(x_g)
        if self.ratio_gout != 0:
            out_g = self.convl2g(x_l) + self.convg2g(x_g)
        return out_l, out_g


class FFC_BN_ACT(nn.Module):  # noqa: N801 - the official class name, kept for recognisability
    """An FFC followed by separate BatchNorm + ReLU on each half (Identity where a half is empty)."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        ratio_gin: float,
        ratio_gout: float,
        stride: int = 1,
        padding: int = 0,
    ) -> None:
        super().__init__()
        self.ffc = FFC(in_channels, out_channels, kernel_size, ratio_gin, ratio_gout, stride, padding)
        out_g = int(out_channels * ratio_gout)
        out_l = out_channels - out_g
        self.bn_l = nn.BatchNorm2d(out_l) if ratio_gout != 1 else nn.Identity()
        self.bn_g = nn.BatchNorm2d(out_g) if ratio_gout != 0 else nn.Identity()
        self.act_l = nn.ReLU(inplace=True) if ratio_gout != 1 else nn.Identity()
        self.act_g = nn.ReLU(inplace=True) if ratio_gout != 0 else nn.Identity()

    def forward(self, x: FeaturePair | torch.Tensor) -> FeaturePair:
        pair = x if isinstance(x, tuple) else (x, 0)
        x_l, x_g = self.ffc(pair)
        return self.act_l(self.bn_l(x_l)), self.act_g(self.bn_g(x_g))


class FFCResnetBlock(nn.Module):
    """Two FFC layers with identity skips on both halves."""

    def __init__(self, channels: int, ratio: float) -> None:
        super().__init__()
        self.conv1 = FFC_BN_ACT(channels, channels, 3, ratio, ratio, padding=1)
        self.conv2 = FFC_BN_ACT(channels, channels, 3, ratio, ratio, padding=1)

    def forward(self, x: FeaturePair) -> FeaturePair:
        x_l, x_g = x
        y_l, y_g = self.conv2(self.conv1((x_l, x_g)))
        return x_l + y_l, x_g + y_g


class ConcatTupleLayer(nn.Module):
    """Joins the halves back into one map, local channels first."""

    def forward(self, x: FeaturePair) -> torch.Tensor:
        x_l, x_g = x
        if not torch.is_tensor(x_g):
            return x_l  # type: ignore[return-value]
        return torch.cat((x_l, x_g), dim=1)  # type: ignore[arg-type]
