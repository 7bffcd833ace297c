"""Embed a photo once, then answer point, box and previous-mask prompts in milliseconds.

The arguments mean what they mean for the official SAM predictor: points are (N, 2) x, y in photo
pixels with labels 1 (foreground) / 0 (background); a box is x0, y0, x1, y1 in photo pixels; a mask
input is the (1, 256, 256) low-resolution logits of an earlier ``predict`` (refine with another click).

Precision: ``fp32`` is the exact reference path. ``bf16``/``fp16`` (and ``auto`` where it resolves to
them) run the image encoder under autocast; the prompt encoder, the mask decoder and the upscaling
stay fp32 (they are cheap, and the mask edges come from them).
"""

from __future__ import annotations

import logging
import time

import numpy as np
import torch

from lamapaint.models.device import keep_freed_memory, precision_dtype, select_device, select_precision
from lamapaint.select.errors import SelectError
from lamapaint.select.prompts import finite_numbers
from lamapaint.select.sam import transforms
from lamapaint.select.sam.model import Sam
from lamapaint.select.sam.transformer import ImageTokens

log = logging.getLogger(__name__)

MIN_SIDE = 16


class Predictor:
    """One model on one device; ``set_image`` computes the embedding, ``predict`` reuses it.

    The model is moved to ``device`` (in place) and must already hold its weights.
    """

    def __init__(self, model: Sam, device: str = "cpu", precision: str = "fp32") -> None:
        self.device = select_device(device)
        self.precision = select_precision(precision, self.device)
        self.model = model.eval().to(self.device)
        if self.device.type == "cpu":
            keep_freed_memory()
        self._features: torch.Tensor | None = None
        self._image_pe: torch.Tensor | None = None
        self._image_tokens: ImageTokens | None = None
        self._size: tuple[int, int] | None = None

    @property
    def features(self) -> torch.Tensor:
        """The current photo's embedding, (1, 256, 64, 64) float32."""
        if self._features is None:
            raise SelectError("no photo to select in: call set_image first")
        return self._features

    @property
    def image_size(self) -> tuple[int, int]:
        """(H, W) of the photo given to ``set_image``."""
        if self._size is None:
            raise SelectError("no photo to select in: call set_image first")
        return self._size

    @property
    def preview_size(self) -> tuple[int, int]:
        """(h', w') of the masks ``predict(..., return_full=False)`` gives: the photo scaled so its longer side is 1024."""
        return transforms.resized_shape(*self.image_size)

    def set_image(self, rgb: np.ndarray) -> None:
        """Compute the embedding of an (H, W, 3) uint8 RGB photo; later prompts reuse it."""
        if not isinstance(rgb, np.ndarray) or rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3:
            got = f"{rgb.dtype} array of shape {rgb.shape}" if isinstance(rgb, np.ndarray) else type(rgb).__name__
            raise SelectError(f"the photo must be an (H, W, 3) uint8 RGB array, got a {got}")
        height, width = rgb.shape[:2]
        if min(height, width) < MIN_SIDE:
            raise SelectError(f"the photo is {width}x{height} pixels; selecting needs at least {MIN_SIDE} on each side")
        self._features, self._size = None, None
        start = time.perf_counter()
        resized = transforms.resize_photo(rgb)
        dtype = precision_dtype(self.precision)
        with torch.inference_mode():
            x = transforms.encoder_input(resized, self.device)
            if dtype == torch.float32:
                features = self.model.embed(x)
            else:
                with torch.autocast(self.device.type, dtype=dtype):
                    features = self.model.embed(x)
            self._features = features.float()
            # The image's positional encoding and the decoder's image side depend on the photo only: made once, not per click.
            self._image_pe = self.model.prompt_encoder.dense_pe()
            self._image_tokens = self.model.image_tokens(self._features)
        self._size = (height, width)
        log.info("SAM embedding of %dx%d on %s (%s): %.2f s", width, height, self.device, self.precision, time.perf_counter() - start)

    def predict(
        self,
        points: np.ndarray | None = None,
        labels: np.ndarray | None = None,
        box: np.ndarray | None = None,
        mask_input: np.ndarray | None = None,
        multimask: bool = True,
        return_full: bool = True,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Masks for the prompts: (masks bool (C, H, W), iou (C,), low_res logits (C, 256, 256)).

        C is 3 with ``multimask`` (SAM's three candidates), else 1. ``return_full=False`` gives the
        masks at ``preview_size`` instead of the photo's size: enough for drawing a preview on screen,
        without upsampling to every pixel of a large photo.
        """
        features = self.features
        size = self.image_size
        coords, label_array, box_array, mask_array = self._checked_prompts(points, labels, box, mask_input, size)
        with torch.inference_mode():
            point_prompt = None
            if coords is not None and label_array is not None:
                point_prompt = (
                    torch.as_tensor(transforms.to_input_space(coords, size), dtype=torch.float32, device=self.device)[None],
                    torch.as_tensor(label_array, dtype=torch.int64, device=self.device)[None],
                )
            box_tensor = None
            if box_array is not None:
                box_tensor = torch.as_tensor(transforms.to_input_space(box_array.reshape(2, 2), size).reshape(1, 4), dtype=torch.float32, device=self.device)
            mask_tensor = None
            if mask_array is not None:
                mask_tensor = torch.as_tensor(mask_array, dtype=torch.float32, device=self.device)[None]
            low_res, iou = self.model.decode(features, point_prompt, box_tensor, mask_tensor, bool(multimask), self._image_pe, self._image_tokens)
            preview = transforms.preview_logits(low_res, size)[0]
            masks = transforms.full_size_masks(preview, size) if return_full else (preview > 0.0).cpu().numpy()
        return masks, iou[0].float().cpu().numpy(), low_res[0].float().cpu().numpy()

    @staticmethod
    def _checked_prompts(
        points: np.ndarray | None, labels: np.ndarray | None, box: np.ndarray | None, mask_input: np.ndarray | None, size: tuple[int, int]
    ) -> tuple[np.ndarray | None, np.ndarray | None, np.ndarray | None, np.ndarray | None]:
        """The prompts as arrays, or a SelectError that says what is wrong with them."""
        height, width = size
        if points is None and labels is None and box is None and mask_input is None:
            raise SelectError("nothing to select: give a point, a box or a mask input")
        if (points is None) != (labels is None):
            raise SelectError("points and labels go together: give both or neither")
        coords = label_array = box_array = mask_array = None
        if points is not None:
            coords = finite_numbers(points, "points")
            if coords.ndim != 2 or coords.shape[1] != 2 or len(coords) == 0:
                raise SelectError(f"points must be an (N, 2) array of x, y with N >= 1, got shape {coords.shape}")
            label_array = np.asarray(labels)
            if label_array.shape != (len(coords),):
                raise SelectError(f"labels must have one entry per point ({len(coords)}), got shape {label_array.shape}")
            if not np.isin(label_array, (0, 1)).all():
                raise SelectError("labels must be 1 (part of the object) or 0 (not part of it)")
            outside = (coords[:, 0] < 0) | (coords[:, 0] >= width) | (coords[:, 1] < 0) | (coords[:, 1] >= height)
            if outside.any():
                x, y = coords[np.argmax(outside)]
                raise SelectError(f"point ({x:g}, {y:g}) is outside the {width}x{height} photo")
        if box is not None:
            box_array = finite_numbers(box, "box")
            if box_array.shape != (4,):
                raise SelectError(f"a box is four numbers x0, y0, x1, y1, got shape {box_array.shape}")
            x0, y0, x1, y1 = box_array
            if x1 <= x0 or y1 <= y0:
                raise SelectError(f"box ({x0:g}, {y0:g}, {x1:g}, {y1:g}) is empty or inverted: it needs x0 < x1 and y0 < y1")
            if x0 < 0 or y0 < 0 or x1 > width or y1 > height:
                raise SelectError(f"box ({x0:g}, {y0:g}, {x1:g}, {y1:g}) reaches outside the {width}x{height} photo")
        if mask_input is not None:
            mask_array = finite_numbers(mask_input, "mask_input").astype(np.float32)
            low = transforms.LOW_RES
            if mask_array.shape != (1, low, low):
                raise SelectError(f"mask_input must be (1, {low}, {low}) low-res logits from an earlier predict, got shape {mask_array.shape}")
        return coords, label_array, box_array, mask_array
