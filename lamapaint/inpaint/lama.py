"""LaMa's generator (``FFCResNetGenerator``, Suvorov et al., WACV 2022) built from hyperparameters.

The module tree mirrors the official one index for index (``model.0`` ... ``model.{17+B}``), so
``state_dict()`` keys, order and shapes equal the reference layouts and official checkpoints load
with ``strict=True``. Constructors do no I/O; weights are loaded by :mod:`lamapaint.inpaint.weights`.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from lamapaint.inpaint.ffc import FFC_BN_ACT, ConcatTupleLayer, FFCResnetBlock


@dataclass(frozen=True)
class GeneratorConfig:
    name: str
    n_blocks: int
    parameters: int  # published count, checked by the tests
    input_nc: int = 4
    output_nc: int = 3
    ngf: int = 64
    n_downsampling: int = 3
    max_features: int = 1024
    global_ratio: float = 0.75  # share of channels in the spectral half inside the residual blocks


CONFIGS: dict[str, GeneratorConfig] = {
    "big-lama": GeneratorConfig("big-lama", n_blocks=18, parameters=50_975_875),
    "lama-fourier": GeneratorConfig("lama-fourier", n_blocks=9, parameters=27_048_835),
}


class FFCResNetGenerator(nn.Module):
    """Input: RGB with the hole zeroed plus the mask (4 channels, H and W multiples of 8).

    Output: RGB in [0, 1] of the same size.
    """

    def __init__(self, config: GeneratorConfig) -> None:
        super().__init__()
        self.config = config
        ngf, cap = config.ngf, config.max_features
        layers: list[nn.Module] = [
            nn.ReflectionPad2d(3),
            FFC_BN_ACT(config.input_nc, ngf, kernel_size=7, ratio_gin=0, ratio_gout=0),
        ]
        for i in range(config.n_downsampling):
            mult = 2**i
            last = i == config.n_downsampling - 1
            layers.append(
                FFC_BN_ACT(
                    min(cap, ngf * mult),
                    min(cap, ngf * mult * 2),
                    kernel_size=3,
                    ratio_gin=0,
                    ratio_gout=config.global_ratio if last else 0,
                    stride=2,
                    padding=1,
                )
            )
        bottleneck = min(cap, ngf * 2**config.n_downsampling)
        layers += [FFCResnetBlock(bottleneck, config.global_ratio) for _ in range(config.n_blocks)]
        layers.append(ConcatTupleLayer())
        for i in range(config.n_downsampling):
            mult = 2 ** (config.n_downsampling - i)
            in_ch, out_ch = min(cap, ngf * mult), min(cap, ngf * mult // 2)
            layers += [
                nn.ConvTranspose2d(in_ch, out_ch, kernel_size=3, stride=2, padding=1, output_padding=1),
                nn.BatchNorm2d(out_ch),
                nn.ReLU(inplace=True),
            ]
        layers += [
            nn.ReflectionPad2d(3),
            nn.Conv2d(ngf, config.output_nc, kernel_size=7, padding=0),
            nn.Sigmoid(),
        ]
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


def build_generator(config: str) -> torch.nn.Module:
    """A randomly initialised generator of a published configuration, in eval mode."""
    try:
        cfg = CONFIGS[config]
    except KeyError:
        raise ValueError(f"unknown LaMa configuration {config!r}; expected one of {sorted(CONFIGS)}") from None
    return FFCResNetGenerator(cfg).eval()
