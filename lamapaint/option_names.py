"""The names the engine's options take, in one torch-free, Qt-free place.

The engine (``lamapaint.inpaint.types`` re-exports them), the CLI's flags, the editor's menus and
the settings file's check on load all read these lists; the settings module cannot import the
engine (the I/O layer reads settings), so they live beside it rather than inside ``inpaint/``.
"""

from __future__ import annotations

#: The LaMa generator configurations this engine builds (lamapaint.inpaint.lama.CONFIGS).
LAMA_MODELS = ("big-lama", "lama-fourier")
#: The classical fallbacks (cv2.inpaint methods).
OPENCV_MODELS = ("opencv-telea", "opencv-ns")
MODELS = ("auto", *LAMA_MODELS, *OPENCV_MODELS)
#: Device names; ``cuda:N`` is accepted as well.
DEVICES = ("auto", "cpu", "cuda", "mps")
PRECISIONS = ("auto", "fp32", "bf16", "fp16")
#: How a large photo is split into forward passes (docs/PIPELINE.md).
STRATEGIES = ("auto", "full", "crop", "resize")
