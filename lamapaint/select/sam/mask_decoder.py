"""SAM's mask decoder: the two-way transformer, an upscaling head and per-mask hypernetworks."""

from __future__ import annotations

import torch
from torch import nn

from lamapaint.select.sam.common import LayerNorm2d
from lamapaint.select.sam.transformer import ImageTokens, TwoWayTransformer

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

    def image_tokens(self, image: torch.Tensor, image_pe: torch.Tensor, dense: torch.Tensor) -> ImageTokens:
        """The transformer's image side for an embedding, its PE and a dense prompt embedding."""
        return self.transformer.image_tokens(image + dense, image_pe)

    def forward(
        self, image: torch.Tensor, image_pe: torch.Tensor, sparse: torch.Tensor, dense: torch.Tensor, multimask: bool, prepared: ImageTokens | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """One prompt set per batch row of ``sparse``; returns (B,C,256,256) logits and (B,C) IoUs, C = 3 or 1.

        ``prepared``: ``image_tokens`` of this image, PE and ``dense``, made earlier (one batch row).
        """
        batch = sparse.shape[0]
        output = torch.cat([self.iou_token.weight, self.mask_tokens.weight], dim=0)
        tokens = torch.cat([output.unsqueeze(0).expand(batch, -1, -1), sparse], dim=1)
        if prepared is None:
            prepared = self.image_tokens(image.expand(batch, -1, -1, -1), image_pe.expand(batch, -1, -1, -1), dense)
        elif batch != 1:
            raise ValueError("prepared image tokens serve one prompt set at a time")
        hs, src = self.transformer(prepared, tokens)
        b, (c, h, w) = batch, image.shape[1:]
        src = src.transpose(1, 2).reshape(b, c, h, w)
        hyper = torch.stack([mlp(hs[:, 1 + i, :]) for i, mlp in enumerate(self.output_hypernetworks_mlps)], dim=1)
        masks = self._masks(src, hyper)
        iou = self.iou_prediction_head(hs[:, 0, :])
        chosen = slice(1, None) if multimask else slice(0, 1)
        return masks[:, chosen], iou[:, chosen]

    def _masks(self, src: torch.Tensor, hyper: torch.Tensor) -> torch.Tensor:
        """(B,C,64,64) image tokens and (B,M,C/8) hypernetwork outputs -> (B,M,256,256) mask logits.

        The official steps: upscale twice (transposed 2x2 convolutions, stride 2), then each mask is
        its hypernetwork vector dotted with the 32 channels of every pixel. The last transposed
        convolution maps each 128x128 pixel to its own 2x2 outputs, so it, its GELU and the dot
        products are done per 128x128 pixel, in rows of pixels: the 32-channel 256x256 map is never
        shuffled into place, only the M masks are.
        """
        first, norm, act, last, last_act = self.output_upscaling
        x = act(norm(first(src)))  # (B, 64, 128, 128)
        b, c, h, w = x.shape
        pixels = x.permute(0, 2, 3, 1).reshape(b, h * w, c)
        outputs = last_act(torch.matmul(pixels, last.weight.reshape(c, -1)) + last.bias.repeat_interleave(4))  # (B, hw, out*2*2)
        # (out, 2x2) columns -> (mask, 2x2) columns: the hypernetwork vector once per output position.
        per_position = torch.einsum("bmo,kl->bokml", hyper, torch.eye(4, dtype=hyper.dtype, device=hyper.device))
        masks = torch.matmul(outputs, per_position.reshape(b, -1, hyper.shape[1] * 4))  # (B, hw, M*2*2)
        return masks.view(b, h, w, -1, 2, 2).permute(0, 3, 1, 4, 2, 5).reshape(b, -1, 2 * h, 2 * w)
