"""The Python API: ``remove(image, mask)`` and ``Remover``; ``select_mask(image, points=...)`` and ``Selector``.

Images are numpy RGB uint8 arrays (H, W, 3) or PIL images; masks are numpy arrays or PIL images
of the same size, any non-zero value a hole. What goes in comes back: an array for an array, a PIL
image for a PIL image. The engine is the one ``lamapaint-cli remove`` and the editor use, so the
same photo, mask and weights give the same pixels; selection is ``lamapaint-cli select``'s.
Importing this module does not import torch; the first removal (or SAM selection) does (README,
"Python API", "Selecting objects").
"""

from __future__ import annotations

import logging
import threading
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np

from lamapaint.inpaint.types import InpaintError, InpaintOptions, RunInfo

if TYPE_CHECKING:
    from PIL import Image as PILImage

    from lamapaint.inpaint.types import Backend

log = logging.getLogger(__name__)

Picture = TypeVar("Picture", np.ndarray, "PILImage.Image")

#: ``remove`` keeps this many Removers (one per distinct option set) loaded for the process.
CACHED_REMOVERS = 4


class Remover:
    """A loaded model for many removals: ``Remover()(image, mask)``.

    The model is loaded on the first call (that is when torch is imported) and kept until the
    Remover is dropped. ``model="auto"`` takes the best installed LaMa weights; with none installed
    it falls back to OpenCV's Telea fill, logs a warning and says why in ``fallback_reason``.
    Calls from several threads are served one at a time. Raises ``InpaintError`` (from
    ``lamapaint.inpaint.types``) for unknown options here, and for bad inputs, a device that
    is not there or weights that cannot be loaded on the call.
    """

    def __init__(
        self,
        model: str = "auto",
        device: str = "auto",
        precision: str = "auto",
        strategy: str = "auto",
        weights: str | Path | None = None,
        *,
        threads: int = 0,
    ) -> None:
        self.options = InpaintOptions(
            model=model,
            weights=Path(weights) if weights is not None else None,
            strategy=strategy,
            device=device,
            precision=precision,
            threads=threads,
        )
        self._backend: Backend | None = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        o = self.options
        return f"Remover(model={o.model!r}, device={o.device!r}, precision={o.precision!r}, strategy={o.strategy!r})"

    def __call__(self, image: Picture, mask: Any) -> Picture:
        """``image`` with the masked area filled, as the same kind of object."""
        return self.run(image, mask)[0]

    def run(self, image: Picture, mask: Any) -> tuple[Picture, RunInfo]:
        """Like calling the Remover, plus the run's record (model, device, strategy, timings)."""
        rgb, alpha = _image_array(image)
        hole = _mask_array(mask, rgb.shape[:2])
        with self._lock:
            out, run = self._load().inpaint(rgb, hole, self.options)
        if isinstance(image, np.ndarray):
            return out, run
        return _to_pil(out, alpha), run

    @property
    def fallback_reason(self) -> str | None:
        """Why the OpenCV fill is used instead of LaMa (None when it is not); loads the model."""
        with self._lock:
            return self._load().fallback_reason

    def _load(self) -> "Backend":
        if self._backend is None:
            from lamapaint.inpaint.backends import create_backend

            self._backend = create_backend(self.options)
            if self._backend.fallback_reason:
                log.warning("%s", self._backend.fallback_reason)
        return self._backend


def remove(
    image: Picture,
    mask: Any,
    *,
    model: str = "auto",
    device: str = "auto",
    precision: str = "auto",
    strategy: str = "auto",
) -> Picture:
    """``image`` with the masked area filled, as the same kind of object (numpy array or PIL image).

    Keeps a loaded :class:`Remover` per option set (the last ``CACHED_REMOVERS`` used) for the
    rest of the process, so calling it in a loop loads the model once.
    """
    return _cached_remover(model, device, precision, strategy)(image, mask)


@lru_cache(maxsize=CACHED_REMOVERS)
def _cached_remover(model: str, device: str, precision: str, strategy: str) -> Remover:
    return Remover(model=model, device=device, precision=precision, strategy=strategy)


def _image_array(image: Any) -> tuple[np.ndarray, "PILImage.Image | None"]:
    """(RGB uint8 (H, W, 3), the alpha channel of a PIL image that has one)."""
    if isinstance(image, np.ndarray):
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            raise InpaintError(f"expected an RGB image as a uint8 (H, W, 3) array, got {image.dtype} {image.shape}")
        return image, None
    pil = _pil_image(image)
    if pil is None:
        raise InpaintError(f"expected a numpy array or a PIL image, got {type(image).__name__}")
    _load(pil)
    alpha = None
    if pil.mode in ("RGBA", "LA", "PA", "RGBa", "La") or (pil.mode == "P" and "transparency" in pil.info):
        rgba = _convert(pil, "RGBA")
        alpha = rgba.getchannel("A")
        rgb = np.asarray(rgba.convert("RGB"))
    else:
        rgb = np.asarray(pil if pil.mode == "RGB" else _convert(pil, "RGB"))
    return rgb, alpha


def _load(pil: "PILImage.Image") -> None:
    """Read the pixels of a lazily opened image now, so a damaged file is an InpaintError."""
    try:
        pil.load()
    except Exception as exc:  # noqa: BLE001 - Pillow's decoders raise many types on damaged data
        raise InpaintError(f"cannot read the PIL image's pixels ({type(exc).__name__}: {exc})") from None


#: Modes Pillow converts only through another one: premultiplied grey-alpha only to LA.
_CONVERT_VIA = {"La": "LA"}


def _convert(pil: "PILImage.Image", mode: str) -> "PILImage.Image":
    """``pil`` in ``mode``; InpaintError for a mode Pillow cannot convert (e.g. "LAB")."""
    try:
        via = _CONVERT_VIA.get(pil.mode)
        return (pil.convert(via) if via else pil).convert(mode)
    except (ValueError, OSError) as exc:
        raise InpaintError(f"cannot use a PIL image in mode {pil.mode!r} ({exc}); convert it to RGB first") from None


def _mask_array(mask: Any, size: tuple[int, int]) -> np.ndarray:
    """The hole as uint8 0/255 (H, W): any non-zero value, of any channel, is a hole."""
    if isinstance(mask, np.ndarray):
        if mask.ndim not in (2, 3) or mask.dtype.kind not in "biuf":
            raise InpaintError(f"expected a mask as an (H, W) or (H, W, C) numeric array, got {mask.dtype} {mask.shape}")
        hole = mask != 0 if mask.ndim == 2 else (mask != 0).any(axis=2)
    else:
        pil = _pil_image(mask)
        if pil is None:
            raise InpaintError(f"expected the mask as a numpy array or a PIL image, got {type(mask).__name__}")
        _load(pil)
        from lamapaint.io.images import mask_from_pil

        try:
            hole = mask_from_pil(pil)  # as ``lamapaint-cli remove`` and the editor read mask files
        except (ValueError, OSError):  # a mode Pillow converts only through another one ("La")
            hole = mask_from_pil(_convert(pil, "RGBA"))
    if hole.shape != size:
        raise InpaintError(
            f"the mask is {hole.shape[1]}x{hole.shape[0]} but the image is {size[1]}x{size[0]}; they must be the same size"
        )
    return hole.view(np.uint8)


def _pil_image(obj: Any) -> "PILImage.Image | None":
    from PIL import Image

    return obj if isinstance(obj, Image.Image) else None


def _to_pil(rgb: np.ndarray, alpha: "PILImage.Image | None") -> "PILImage.Image":
    from PIL import Image

    out = Image.fromarray(rgb)  # uint8 (H, W, 3): mode RGB
    if alpha is not None:
        out.putalpha(alpha)  # RGBA: the alpha channel comes back untouched
    return out


class Selector:
    """A selection model kept for many prompts: ``Selector()(image, points=[(x, y)])`` -> the object's mask.

    ``model="auto"`` takes the fastest installed Segment Anything model (``lamapaint-cli models
    download mobile-sam``); with none it uses the classical select (GrabCut for a box, the
    similar-colour wand for points), logs a warning and says why in ``fallback_reason``. A name
    (``mobile-sam``, ``sam-vit-b``, ...), ``classical`` or ``weights=FILE`` picks one. The model
    loads on the first photo; the photo's embedding is kept until a photo with other pixels comes.
    Points are (x, y) pixels of the image with ``labels`` 1 (on the object, the default) or 0 (not
    on it); ``box`` is (x0, y0, x1, y1). Raises ``SelectError`` (``lamapaint.select.errors``) for
    bad prompts or images and ``WeightsError`` (``lamapaint.models.errors``) for unusable weights.
    """

    def __init__(
        self, model: str = "auto", weights: str | Path | None = None, device: str = "auto", precision: str = "auto"
    ) -> None:
        from lamapaint.select.selector import Selector as Engine

        self._engine = Engine(model, weights, device=device, precision=precision)

    def __repr__(self) -> str:
        e = self._engine
        return f"Selector(model={e.model_name!r}, device={e.device!r}, precision={e.precision!r})"

    def __call__(self, image: Picture, points: Any = None, labels: Any = None, box: Any = None, *, grow: int = 0) -> Picture:
        """The mask (bool array, or a mode "1" PIL image for a PIL image) of what the prompts point at."""
        self.set_image(image)
        mask = self.select(points, labels, box, grow=grow)
        if isinstance(image, np.ndarray):
            return mask
        from PIL import Image

        return Image.fromarray(mask)

    def set_image(self, image: Any) -> None:
        """The photo to select in (computes its embedding unless it has the last photo's pixels)."""
        from lamapaint.select.errors import SelectError

        try:
            rgb, _ = _image_array(image)
        except InpaintError as exc:
            raise SelectError(str(exc)) from None
        first = self._engine.info is None and self._engine.fallback_reason is None
        self._engine.set_image(rgb)
        if first and self._engine.fallback_reason:
            log.warning("%s", self._engine.fallback_reason)

    def select(self, points: Any = None, labels: Any = None, box: Any = None, *, grow: int = 0) -> np.ndarray:
        """The mask (bool (H, W) array) for prompts on the photo given last; ``grow`` pixels wider (narrower if negative)."""
        return self._engine.select(points, labels, box, grow_pixels=grow)

    @property
    def engine(self) -> str:
        """``sam`` or ``classical`` (loads the model to know)."""
        return self._engine.engine

    @property
    def fallback_reason(self) -> str | None:
        """Why the classical select is used instead of a SAM model (None when it is not); loads the model."""
        _ = self._engine.engine
        return self._engine.fallback_reason


def select_mask(
    image: Picture,
    points: Any = None,
    labels: Any = None,
    box: Any = None,
    *,
    model: str = "auto",
    weights: str | Path | None = None,
    grow: int = 0,
) -> Picture:
    """The mask of the object the prompts point at: a bool array for an array, a mode "1" PIL image for a PIL image.

    Keeps a :class:`Selector` per model (the last ``CACHED_REMOVERS`` used) and its last photo's
    embedding, so several prompts on one photo, or one prompt on many, load the model once.
    """
    return _cached_selector(model, None if weights is None else str(weights))(image, points, labels, box, grow=grow)


@lru_cache(maxsize=CACHED_REMOVERS)
def _cached_selector(model: str, weights: str | None) -> Selector:
    return Selector(model=model, weights=weights)
