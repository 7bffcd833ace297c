"""Pre- and post-processing exactly as the official predictor does it.

The photo is resized with Pillow's bilinear filter on uint8 (it antialiases when shrinking) so that
its longer side is 1024, normalised, then padded with zeros to 1024x1024 (zeros after normalising).
Prompts move to that 1024-space with float64 arithmetic; masks come back by bilinear upsampling.
"""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image

INPUT_SIZE = 1024
LOW_RES = 256
PIXEL_MEAN = (123.675, 116.28, 103.53)
PIXEL_STD = (58.395, 57.12, 57.375)


def resized_shape(height: int, width: int, long_side: int = INPUT_SIZE) -> tuple[int, int]:
    """(h', w') with the longer side ``long_side``, rounded half up."""
    scale = long_side * 1.0 / max(height, width)
    return int(height * scale + 0.5), int(width * scale + 0.5)


def resize_photo(rgb: np.ndarray) -> np.ndarray:
    """The (h', w', 3) uint8 photo the encoder sees (before normalising and padding)."""
    h, w = resized_shape(rgb.shape[0], rgb.shape[1])
    return np.array(Image.fromarray(rgb).resize((w, h), Image.BILINEAR))  # a writable copy (torch needs one)


def encoder_input(resized: np.ndarray, device: torch.device, dtype: torch.dtype) -> torch.Tensor:
    """(1,3,1024,1024): normalised per channel on the 0-255 scale, zero-padded bottom/right."""
    x = torch.from_numpy(np.ascontiguousarray(resized)).to(device).permute(2, 0, 1)[None].float()
    mean = torch.tensor(PIXEL_MEAN, device=device).view(1, 3, 1, 1)
    std = torch.tensor(PIXEL_STD, device=device).view(1, 3, 1, 1)
    x = (x - mean) / std
    x = torch.nn.functional.pad(x, (0, INPUT_SIZE - x.shape[3], 0, INPUT_SIZE - x.shape[2]))
    return x.to(dtype)


def to_input_space(coords: np.ndarray, original: tuple[int, int]) -> np.ndarray:
    """(..., 2) x, y photo pixels -> the resized photo's pixels (float64, as the official transform)."""
    h, w = original
    new_h, new_w = resized_shape(h, w)
    out = np.array(coords, dtype=np.float64, copy=True)
    out[..., 0] = out[..., 0] * (new_w / w)
    out[..., 1] = out[..., 1] * (new_h / h)
    return out


def upscale_logits(low_res: torch.Tensor, original: tuple[int, int] | None) -> torch.Tensor:
    """(B,C,256,256) logits -> the 1024-space crop of the resized photo, then ``original`` (H, W) if given."""
    up = torch.nn.functional.interpolate(low_res, (INPUT_SIZE, INPUT_SIZE), mode="bilinear", align_corners=False)
    if original is None:
        return up
    h, w = resized_shape(*original)
    up = up[..., :h, :w]
    return torch.nn.functional.interpolate(up, original, mode="bilinear", align_corners=False)
