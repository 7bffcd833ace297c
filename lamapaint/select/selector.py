"""One object that selects: a Segment Anything model when one is installed, classical select when not.

The SAM embedding is computed once per photo and kept for every later prompt on the same pixels
(a digest of the photo tells). Without a SAM model, ``auto`` falls back to
:mod:`lamapaint.select.classical` (a box -> GrabCut, points -> the colour wand) and
:attr:`Selector.fallback_reason` says so. Torch is imported only when a SAM model is loaded.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from lamapaint.core.mask import grow
from lamapaint.models.errors import NoWeightsError
from lamapaint.select import classical
from lamapaint.select.errors import SelectError
from lamapaint.select.prompts import Prompts, check_photo_size, check_prompts

if TYPE_CHECKING:
    from lamapaint.select.sam.predictor import Predictor
    from lamapaint.select.weights import SamInfo

log = logging.getLogger(__name__)

#: ``model`` values beside installed and catalogue names.
AUTO, CLASSICAL = "auto", "classical"
FALLBACK_REASON = (
    "no Segment Anything model installed: using the classical select (GrabCut for a box, the similar-colour "
    "wand for points); `lamapaint-cli models download mobile-sam` (~39 MB) selects better"
)


class Selector:
    """``Selector().select(points=..., labels=..., box=...)`` after ``set_image(rgb)``; masks are bool (H, W).

    ``model``: ``auto`` (the fastest installed SAM model, else classical select), an installed or
    catalogue name (``mobile-sam``, ``sam-vit-b``, ...), or ``classical``. ``weights``: a SAM file
    to use instead. The model is loaded on the first photo. Calls are served one at a time.
    """

    def __init__(
        self, model: str = AUTO, weights: str | os.PathLike[str] | None = None, device: str = "auto", precision: str = "auto"
    ) -> None:
        self.model_name = model
        self.weights = Path(weights) if weights is not None else None
        self.device = device
        self.precision = precision
        self.fallback_reason: str | None = None
        self.info: SamInfo | None = None
        self._predictor: Predictor | None = None
        self._loaded = False
        self._rgb: np.ndarray | None = None
        self._digest: bytes | None = None
        self._lock = threading.RLock()

    @property
    def engine(self) -> str:
        """``sam`` or ``classical`` (loads the model to know)."""
        with self._lock:
            self._load()
            return "sam" if self._predictor is not None else CLASSICAL

    def set_image(self, rgb: np.ndarray) -> None:
        """The photo to select in (H, W, 3 uint8); its embedding is computed now, unless it is the last photo's."""
        if not isinstance(rgb, np.ndarray) or rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
            raise SelectError(f"expected an RGB photo as a uint8 (H, W, 3) array, got {getattr(rgb, 'dtype', type(rgb).__name__)} {getattr(rgb, 'shape', '')}")
        check_photo_size(*rgb.shape[:2])
        digest = hashlib.blake2b(np.ascontiguousarray(rgb), digest_size=16, person=str(rgb.shape).encode()[:16]).digest()
        with self._lock:
            if digest == self._digest:
                return
            self._load()
            self._rgb, self._digest = None, None
            if self._predictor is not None:
                self._predictor.set_image(rgb)
            self._rgb, self._digest = rgb, digest

    def select(self, points: Any = None, labels: Any = None, box: Any = None, grow_pixels: int = 0) -> np.ndarray:
        """The mask of what the prompts point at, grown (or shrunk, when negative) by ``grow_pixels``."""
        with self._lock:
            if self._rgb is None:
                raise SelectError("no photo to select in: call set_image first")
            prompts = check_prompts(points, labels, box, self._rgb.shape[:2])
            mask = self._sam(prompts) if self._predictor is not None else self._classical(prompts)
        if grow_pixels:
            hole = mask.view(np.uint8) * np.uint8(255)
            grow(hole, grow_pixels)
            mask = hole != 0
        return mask

    def __call__(self, rgb: np.ndarray, points: Any = None, labels: Any = None, box: Any = None, grow_pixels: int = 0) -> np.ndarray:
        self.set_image(rgb)
        return self.select(points, labels, box, grow_pixels)

    def _sam(self, prompts: Prompts) -> np.ndarray:
        """SAM's answer: its best of three candidates for a single point (SAM's advice), one mask otherwise."""
        assert self._predictor is not None
        multimask = len(prompts.points) == 1 and prompts.box is None
        masks, iou, _ = self._predictor.predict(prompts.point_array, prompts.label_array, prompts.box_array, multimask=multimask)
        return np.ascontiguousarray(masks[int(np.argmax(iou))])

    def _classical(self, prompts: Prompts) -> np.ndarray:
        assert self._rgb is not None
        try:
            return classical.select(self._rgb, prompts.points, prompts.labels, prompts.box)
        except ValueError as exc:
            raise SelectError(f"{exc} (the classical select; a SAM model also takes excluded points alone)") from None

    def _load(self) -> None:
        if self._loaded:
            return
        if self.model_name != CLASSICAL or self.weights is not None:
            from lamapaint.select.weights import load_sam

            try:
                model, self.info = load_sam(self.model_name, self.weights)
            except NoWeightsError:
                if self.model_name != AUTO or self.weights is not None:
                    raise
                self.fallback_reason = FALLBACK_REASON  # the caller says it, once (CLI line, API warning)
                log.info("%s", FALLBACK_REASON)
            else:
                from lamapaint.select.sam.predictor import Predictor

                self._predictor = Predictor(model, device=self.device, precision=self.precision)
                log.info("Selecting with %s (%s)", self.info.name, self.info.config)
        self._loaded = True
