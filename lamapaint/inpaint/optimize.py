"""Make a loaded LaMa generator fast for inference: fold BatchNorm, channels_last, precision, compile.

Every BatchNorm in LaMa's generator follows linear operations only, so in eval mode it is an affine
map per channel that can be moved into the weights and bias of the convolution(s) before it. That
removes ~150 memory-bound passes over the activations per forward pass and is exact up to float
rounding. The folded model no longer has the official state-dict layout: fold after loading weights.
Measured effects are in docs/PERFORMANCE.md ("Speed").
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence

import torch
from torch import nn

from lamapaint.models.device import precision_dtype
from lamapaint.inpaint.ffc import FFC_BN_ACT, FourierUnit, SpectralTransform

log = logging.getLogger(__name__)

_Conv = nn.Conv2d | nn.ConvTranspose2d


def fold_batchnorm(model: nn.Module) -> int:
    """Fold every eval-mode BatchNorm2d of the generator into its convolution(s), in place.

    Folded BatchNorms become ``nn.Identity`` so that the module tree keeps its shape. Returns how many
    were folded. A BatchNorm that does not follow a foldable pattern is left in place and logged.
    """
    if model.training:
        raise ValueError("fold_batchnorm needs a model in eval mode (running statistics are folded)")
    folded = 0
    for module in list(model.modules()):
        if isinstance(module, FFC_BN_ACT):
            ffc = module.ffc
            convg2g = ffc.convg2g.conv2 if isinstance(ffc.convg2g, SpectralTransform) else None
            if _fold_into(module.bn_l, [ffc.convl2l, ffc.convg2l]):
                module.bn_l = nn.Identity()
                folded += 1
            if _fold_into(module.bn_g, [ffc.convl2g, convg2g]):
                module.bn_g = nn.Identity()
                folded += 1
        elif isinstance(module, FourierUnit):
            if _fold_into(module.bn, [module.conv_layer]):
                module.bn = nn.Identity()
                folded += 1
        elif isinstance(module, nn.Sequential):
            children = list(module)
            for index in range(1, len(children)):
                if _fold_into(children[index], [children[index - 1]]):
                    module[index] = nn.Identity()
                    folded += 1
    remaining = sum(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in model.modules())
    if remaining:
        log.warning("%d BatchNorm layer(s) could not be folded and stay in the model", remaining)
    return folded


def _fold_into(bn: nn.Module, convs: Sequence[nn.Module | None]) -> bool:
    """``bn(sum(conv(x_i)))`` -> ``sum(conv'(x_i))``: scale each conv, add the shift to the first.

    Only convolutions count; an ``nn.Identity`` in ``convs`` stands for a missing path (the integer 0
    in FFC) and takes no part in the sum. Returns False (and changes nothing) if the pattern differs.
    """
    if not isinstance(bn, nn.BatchNorm2d) or bn.running_mean is None or bn.running_var is None:
        return False
    targets = [c for c in convs if isinstance(c, _Conv)]
    if not targets or any(c is not None and not isinstance(c, _Conv | nn.Identity) for c in convs):
        return False
    with torch.no_grad():
        # Per-channel factors in float64 (a few thousand values); the weights are scaled in place in
        # their own dtype: one pass over 200 MB instead of float64 copies, which cost ~10x at start-up.
        scale = bn.running_var.double().add(bn.eps).rsqrt()
        if bn.weight is not None:
            scale = scale * bn.weight.double()
        shift = -bn.running_mean.double() * scale
        if bn.bias is not None:
            shift = shift + bn.bias.double()
        if any(c.out_channels != scale.numel() for c in targets):
            return False
        for index, conv in enumerate(targets):
            dim = 1 if isinstance(conv, nn.ConvTranspose2d) else 0
            shape = [1] * conv.weight.dim()
            shape[dim] = -1
            conv.weight.mul_(scale.to(conv.weight.dtype).view(shape))
            old_bias = conv.bias.double() * scale if conv.bias is not None else torch.zeros_like(scale)
            new_bias = old_bias + shift if index == 0 else old_bias
            if conv.bias is None:
                if index == 0:
                    conv.bias = nn.Parameter(new_bias.to(conv.weight.dtype), requires_grad=False)
            else:
                conv.bias.copy_(new_bias)
    return True


class PreparedGenerator(nn.Module):
    """The generator ready for inference: takes float32 NCHW from anywhere, returns float32 on ``device``.

    Moving, casting and reformatting the input here keeps callers (the pipeline, benchmarks, tests)
    free of precision and memory-format details.
    """

    def __init__(
        self,
        generator: nn.Module,
        device: torch.device,
        precision: str,
        channels_last: bool,
        compiled: bool,
    ) -> None:
        super().__init__()
        self.generator = generator
        self.device = device
        self.precision = precision
        self.dtype = precision_dtype(precision)
        self.channels_last = channels_last
        self.compiled = compiled

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        memory_format = torch.channels_last if self.channels_last else torch.contiguous_format
        x = x.to(device=self.device, dtype=self.dtype, memory_format=memory_format)
        return self.generator(x).float().contiguous()


def prepare_generator(
    model: nn.Module,
    device: torch.device,
    precision: str,
    *,
    fold: bool = True,
    channels_last: bool = True,
    compile: bool = False,  # noqa: A002 - mirrors torch.compile
) -> PreparedGenerator:
    """Fold BatchNorm, move to ``device``, cast to ``precision``, optionally compile; consumes ``model``.

    ``precision`` is a resolved name (see :func:`lamapaint.models.device.select_precision`).
    The FFTs inside run in float32 whatever the precision (FourierUnit casts around them).
    ``compile`` uses ``torch.compile`` with weight freezing: faster per call, but it compiles anew
    for each input shape (tens of seconds on a CPU), so it is off by default.
    """
    started = time.perf_counter()
    model.eval()
    folded = fold_batchnorm(model) if fold else 0
    dtype = precision_dtype(precision)
    memory_format = torch.channels_last if channels_last else torch.contiguous_format
    model.to(device=device, dtype=dtype, memory_format=memory_format)
    for parameter in model.parameters():
        parameter.requires_grad_(False)
    generator: nn.Module = model
    if compile:
        generator = torch.compile(model, options={"freezing": True})  # type: ignore[assignment]
    prepared = PreparedGenerator(generator, device, precision, channels_last, compile)
    log.info(
        "generator prepared in %.3f s: %s %s, %d BatchNorm folded, channels_last=%s, compiled=%s",
        time.perf_counter() - started,
        device,
        precision,
        folded,
        channels_last,
        compile,
    )
    return prepared.eval()
