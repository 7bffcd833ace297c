"""The Sam module: an image encoder, the prompt encoder and the mask decoder under the official names."""

from __future__ import annotations

import torch
from torch import nn

from lamapaint.select.sam.mask_decoder import MaskDecoder
from lamapaint.select.sam.prompt_encoder import PromptEncoder
from lamapaint.select.sam.transformer import ImageTokens


class Sam(nn.Module):
    """Holds the three parts; the predictor drives them (embedding once, decoding per prompt)."""

    def __init__(self, image_encoder: nn.Module) -> None:
        super().__init__()
        self.image_encoder = image_encoder
        self.prompt_encoder = PromptEncoder()
        self.mask_decoder = MaskDecoder()

    def embed(self, image: torch.Tensor) -> torch.Tensor:
        """(B,3,1024,1024) normalised, padded photo -> (B,256,64,64) embedding."""
        return self.image_encoder(image)

    def image_tokens(self, features: torch.Tensor) -> ImageTokens:
        """What every prompt without a mask input starts from, for one embedding: made once per photo."""
        _, dense = self.prompt_encoder(None, None, None)
        return self.mask_decoder.image_tokens(features, self.prompt_encoder.dense_pe(), dense)

    def decode(
        self,
        features: torch.Tensor,
        points: tuple[torch.Tensor, torch.Tensor] | None,
        boxes: torch.Tensor | None,
        masks: torch.Tensor | None,
        multimask: bool,
        image_pe: torch.Tensor | None = None,
        prepared: ImageTokens | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Prompts in the 1024-space -> (B,C,256,256) low-res logits and (B,C) IoU predictions.

        ``image_pe`` is ``prompt_encoder.dense_pe()`` and ``prepared`` is ``image_tokens(features)``,
        passed in by callers that keep them between prompts; ``prepared`` is not used with a mask input
        (that changes the image side).
        """
        sparse, dense = self.prompt_encoder(points, boxes, masks)
        pe = self.prompt_encoder.dense_pe() if image_pe is None else image_pe
        return self.mask_decoder(features, pe, sparse, dense, multimask, prepared if masks is None else None)
