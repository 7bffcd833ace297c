"""The Select tool's engine side: the embedding, the prompts and the candidate, off the GUI thread.

The photo is embedded as the person sees it (the composite of the original and the visible
removal layers), on the inference lane, as soon as the Select tool is chosen; a removal or an
undo that changes the layers makes the embedding stale and it is recomputed when next needed.
Prompts given meanwhile are kept and answered once it is ready. Every answer is a preview at
SAM's 1024-wide size (its low-res logits, upscaled once, kept as floats too), drawn scaled by the
canvas; zoomed in beyond the preview's detail the canvas draws the visible part at screen pixels
from those logits (tools/candidate_image.py). The photo-sized mask is made only when the candidate
is accepted, on the lane, which hands the GUI thread just its grown box to merge into the mask.

Zoomed in on a large photo (the view shows under half of the photo's longer side, and the photo is
at least twice SAM's input size), a selection's first prompt embeds just the visible area, at full
detail, so a small object selects as well as a big one; the prompts are mapped into that crop and
the candidate placed back. A later prompt outside the crop embeds the whole photo again.

Without a SAM model the classical select answers (a box -> GrabCut, points -> the colour wand);
the window says so once.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

import numpy as np
from PySide6.QtCore import QObject, Signal

from lamapaint.core.geometry import Rect, mask_bbox
from lamapaint.core.layers import LayerStack
from lamapaint.core.document import HOLE
from lamapaint.core.mask import grow
from lamapaint.qt.jobs import JobRunner
from lamapaint.qt.worker import INFERENCE_LANE

if TYPE_CHECKING:
    from lamapaint.core.document import Document

log = logging.getLogger(__name__)

#: The preview's longer side (SAM's input size): the candidate is drawn from this, never from the photo's size.
PREVIEW_SIDE = 1024
#: Embed the visible area when it is under this share of the photo's longer side ...
CROP_SHARE = 0.5
#: ... and the photo's longer side is at least this (SAM sees it at half detail or less).
CROP_MIN_PHOTO_SIDE = 2 * PREVIEW_SIDE
CLASSICAL_NOTICE = (
    "No Segment Anything model is installed: selecting with the classical select (GrabCut, the colour wand). "
    "MobileSAM (~39 MB) selects better."
)


@dataclass
class Prompts:
    """What the person gave so far, in image pixels."""

    points: list[tuple[float, float]] = field(default_factory=list)
    labels: list[int] = field(default_factory=list)
    box: tuple[float, float, float, float] | None = None

    def __bool__(self) -> bool:
        return bool(self.points) or self.box is not None

    def moved(self, dx: float, dy: float) -> "Prompts":
        """A copy shifted by (dx, dy): photo pixels -> the embedded crop's pixels."""
        box = None if self.box is None else (self.box[0] + dx, self.box[1] + dy, self.box[2] + dx, self.box[3] + dy)
        return Prompts([(x + dx, y + dy) for x, y in self.points], list(self.labels), box)


@dataclass(frozen=True)
class Candidate:
    """SAM's answers, largest part first: previews (C, h, w) bool at the preview size and, per
    candidate, what makes the full-size mask (SAM: the low-res logits; classical: the mask)."""

    previews: np.ndarray
    sources: tuple[Any, ...]
    image_size: tuple[int, int]  # (H, W) of the embedded area
    engine: str  # "sam" or "classical"
    region: Rect  # where the embedded area lies in the photo (the whole photo, or the view's crop)
    logits: np.ndarray | None  # SAM: the previews' float logits (C, h, w), drawn from when zoomed in; classical: None


class _Engine:
    """Touched only on the inference lane's thread: the model, the predictor and the embedded pixels."""

    def __init__(self) -> None:
        self.loaded = False
        self.predictor: Any = None
        self.rgb: np.ndarray | None = None
        self.key: object = None

    @property
    def kind(self) -> str:
        return "sam" if self.predictor is not None else "classical"

    def load(self) -> None:
        if self.loaded:
            return
        from lamapaint.models.errors import NoWeightsError
        from lamapaint.select.weights import load_sam

        try:
            model, info = load_sam("auto")
        except NoWeightsError:
            log.info("No SAM model installed: the Select tool uses the classical select")
        else:
            from lamapaint.select.sam.predictor import Predictor

            self.predictor = Predictor(model, device="auto", precision="auto")
            log.info("Select tool: %s (%s)", info.name, info.config)
        self.loaded = True

    def embed(self, rgb: np.ndarray, key: object) -> str:
        self.load()
        self.rgb, self.key = None, None
        if self.predictor is not None:
            self.predictor.set_image(rgb)
        self.rgb, self.key = rgb, key
        return self.kind

    def answer(self, prompts: Prompts, region: Rect) -> tuple[Candidate, int]:
        """The candidates and the index of the one to show first (SAM's best by its IoU estimate);
        ``prompts`` are already in the embedded area's pixels."""
        assert self.rgb is not None
        height, width = self.rgb.shape[:2]
        if self.predictor is None:
            from lamapaint.select import classical

            mask = classical.select(self.rgb, prompts.points, prompts.labels, prompts.box)
            return Candidate(_preview_of(mask)[None], (mask,), (height, width), "classical", region, None), 0
        points = np.asarray(prompts.points, np.float32) if prompts.points else None
        labels = np.asarray(prompts.labels, np.int64) if prompts.points else None
        box = np.asarray(prompts.box, np.float32) if prompts.box is not None else None
        masks, iou, low_res = self.predictor.predict(points, labels, box, multimask=True, return_full=False)
        order = np.argsort([-int(m.sum()) for m in masks], kind="stable")  # largest, middle, smallest part
        from lamapaint.select.sam.transforms import resized_shape

        logits = preview_logits(low_res[order], resized_shape(height, width))
        return Candidate(masks[order], tuple(low_res[i] for i in order), (height, width), "sam", region, logits), int(np.argmax(iou[order]))

    @staticmethod
    def full_mask(candidate: Candidate, index: int) -> np.ndarray:
        source = candidate.sources[index]
        if candidate.engine == "classical":
            return source
        import torch

        from lamapaint.select.sam import transforms

        with torch.inference_mode():
            preview = transforms.preview_logits(torch.as_tensor(source)[None, None], candidate.image_size)[0]
            return transforms.full_size_masks(preview, candidate.image_size)[0]


def preview_logits(low_res: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """SAM's low-res logits (C, 256, 256) at the preview's size (h, w): bilinear to SAM's input
    size, cropped, as ``transforms.preview_logits`` makes them. cv2's INTER_LINEAR has torch's
    half-pixel centres and agrees within 1e-5, in about 1 ms for three where torch takes about 10
    (the click's budget is 100 ms)."""
    import cv2

    h, w = shape
    return np.stack([cv2.resize(channel, (PREVIEW_SIDE, PREVIEW_SIDE), interpolation=cv2.INTER_LINEAR)[:h, :w] for channel in low_res])


def _preview_of(mask: np.ndarray) -> np.ndarray:
    """A full-size bool mask at the preview size (the classical path makes full-size masks)."""
    import cv2

    height, width = mask.shape
    scale = PREVIEW_SIDE / max(height, width)
    if scale >= 1.0:
        return mask
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return cv2.resize(mask.view(np.uint8), size, interpolation=cv2.INTER_AREA) != 0


def crop_region(width: int, height: int, visible: Rect | None) -> Rect:
    """The area to embed: the visible part when zoomed in on a large photo, else the whole photo."""
    whole = Rect(0, 0, width, height)
    if visible is None:
        return whole
    view = visible.clip(width, height)
    long_side = max(width, height)
    if long_side < CROP_MIN_PHOTO_SIDE or view.is_empty or max(view.width, view.height) >= CROP_SHARE * long_side:
        return whole
    if min(view.width, view.height) < 16:
        return whole
    return view


def _contains(region: Rect, x: float, y: float) -> bool:
    return region.x0 <= x < region.x1 and region.y0 <= y < region.y1


def pixels_key(doc: "Document") -> tuple:
    """What decides the composite: the original and the visible layers, by their pixel arrays."""
    return (id(doc.original), tuple((layer.rect, id(layer.rgb), id(layer.coverage)) for layer in doc.layers if layer.visible))


class SelectionController(QObject):
    """Prompts in, candidate out; ``accept`` turns the candidate into the hole mask (one undo step)."""

    candidateChanged = Signal()
    busyChanged = Signal(bool)
    message = Signal(str)
    accepted = Signal()
    classicalInUse = Signal()  # once per session: no SAM model was found

    def __init__(
        self, jobs: JobRunner, document: Callable[[], "Document | None"], visible: Callable[[], Rect | None], parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self._visible = visible
        self._jobs = jobs
        jobs.lane(INFERENCE_LANE, keep_thread=True)
        self._document = document
        self._engine = _Engine()
        self.prompts = Prompts()
        self.candidate: Candidate | None = None
        self.index = 0
        self.region: Rect | None = None  # the current selection's embedded area; None: the whole photo
        self.engine_kind: str | None = None  # known after the first embedding
        self._embedded_key: object = None  # the pixels the engine holds (GUI side's view)
        self._embedding_key: object = None  # the pixels being embedded now
        self._generation = 0
        self._pending_answers = 0
        self._noticed = False
        self._accept_later: tuple[int, bool] | None = None  # Enter pressed before the answer came

    # -- state ------------------------------------------------------------------------------
    @property
    def busy(self) -> bool:
        """True while the embedding is computed or prompts wait for an answer."""
        return self._embedding_key is not None or self._pending_answers > 0

    @property
    def embedding_ready(self) -> bool:
        doc = self._document()
        return doc is not None and self._embedding_key is None and self._embedded_key == self._key(doc, self.region)

    def preview(self) -> np.ndarray | None:
        """The shown candidate at the preview size, or None."""
        return None if self.candidate is None else self.candidate.previews[self.index]

    # -- embedding --------------------------------------------------------------------------
    @staticmethod
    def _key(doc: "Document", region: Rect | None) -> tuple:
        return (pixels_key(doc), region or doc.bounds)

    def prepare(self) -> None:
        """Embed the photo as shown (the current selection's area of it), unless that is already done or under way."""
        doc = self._document()
        if doc is None:
            return
        region = self.region or doc.bounds
        key = self._key(doc, region)
        if key in (self._embedded_key, self._embedding_key):
            return
        original, layers = doc.original, tuple(doc.layers)
        self._embedding_key = key
        self.busyChanged.emit(True)

        def run(_progress: Any, _cancel: Any) -> str:
            return self._engine.embed(LayerStack(list(layers)).composite(original, region), key)

        self._jobs.submit(INFERENCE_LANE, "Analysing the photo for the Select tool", run, lambda kind: self._embedded(key, kind), self._failed)

    def _embedded(self, key: object, kind: str) -> None:
        if self._embedding_key == key:
            self._embedding_key = None
        self._embedded_key = key
        self.engine_kind = kind
        if kind == "classical" and not self._noticed:
            self._noticed = True
            self.message.emit(CLASSICAL_NOTICE)
            self.classicalInUse.emit()
        self.busyChanged.emit(self.busy)

    def model_installed(self) -> None:
        """A SAM model was installed: the engine looks again and the photo is embedded anew."""

        def forget(_progress: Any, _cancel: Any) -> None:
            self._engine.loaded, self._engine.predictor, self._engine.key = False, None, None

        self._jobs.submit(INFERENCE_LANE, "Forget the select engine", forget)
        self._embedded_key = None
        self.engine_kind = None

    def _failed(self, exc: BaseException) -> None:
        self._embedding_key = None
        self._pending_answers = 0
        log.warning("Select failed: %s", exc)
        self.message.emit(f"Could not select: {exc}")
        self.busyChanged.emit(False)

    # -- prompts ----------------------------------------------------------------------------
    def _place(self, xs: list[float], ys: list[float]) -> None:
        """Choose the embedded area for the prompts given: the view's crop at a selection's first
        prompt when zoomed in on a large photo; the whole photo once a prompt falls outside it."""
        doc = self._document()
        if doc is None:
            return
        if not self.prompts:
            region = crop_region(doc.width, doc.height, self._visible())
            self.region = None if region == doc.bounds else region
        elif self.region is not None and not all(_contains(self.region, x, y) for x, y in zip(xs, ys)):
            self.region = None

    def add_point(self, x: float, y: float, include: bool = True) -> None:
        self._place([x], [y])
        self.prompts.points.append((x, y))
        self.prompts.labels.append(1 if include else 0)
        self._ask()

    def set_box(self, box: tuple[float, float, float, float], points: list[tuple[float, float]] = ()) -> None:  # type: ignore[assignment]
        """A box (a drag, or a stroke's bounds) and, for a stroke over the object, a few points on it."""
        self._place([box[0], max(box[0], box[2] - 1), *(p[0] for p in points)], [box[1], max(box[1], box[3] - 1), *(p[1] for p in points)])
        self.prompts.box = box
        for x, y in points:
            self.prompts.points.append((x, y))
            self.prompts.labels.append(1)
        self._ask()

    def _ask(self) -> None:
        """Queue an answer for the prompts as they are now; it runs after the embedding on the same lane."""
        doc = self._document()
        if doc is None or not self.prompts:
            return
        self.prepare()  # no-op when the embedding is current
        self._generation += 1
        generation = self._generation
        region = self.region or doc.bounds
        prompts = self.prompts.moved(-region.x0, -region.y0)
        self._pending_answers += 1
        self.busyChanged.emit(True)
        self._jobs.submit(
            INFERENCE_LANE, "Selecting", lambda _p, _c: self._engine.answer(prompts, region), lambda result: self._answered(generation, result), self._answer_failed
        )

    def _answered(self, generation: int, result: Any) -> None:
        self._pending_answers = max(0, self._pending_answers - 1)
        if generation == self._generation and self.prompts:
            self.candidate, self.index = result
            self.candidateChanged.emit()
            if self._accept_later is not None and self._pending_answers == 0:
                grow_pixels, subtract = self._accept_later
                self.accept(grow_pixels, subtract)
        self.busyChanged.emit(self.busy)

    def _answer_failed(self, exc: BaseException) -> None:
        self._pending_answers = max(0, self._pending_answers - 1)
        self.message.emit(f"Could not select: {exc}")
        self.busyChanged.emit(self.busy)

    def cycle(self) -> None:
        """Show the next of SAM's candidates (largest, middle, smallest part)."""
        if self.candidate is not None and len(self.candidate.previews) > 1:
            self.index = (self.index + 1) % len(self.candidate.previews)
            self.candidateChanged.emit()

    def drop(self) -> bool:
        """Forget the prompts and the candidate; False when there was nothing to drop."""
        had = bool(self.prompts) or self.candidate is not None
        self.prompts = Prompts()
        self.candidate = None
        self.region = None
        self._accept_later = None
        self._generation += 1  # answers on their way are dropped
        if had:
            self.candidateChanged.emit()
        return had

    @property
    def has_candidate(self) -> bool:
        return self.candidate is not None

    # -- accepting --------------------------------------------------------------------------
    def accept(self, grow_pixels: int, subtract: bool = False) -> bool:
        """Add (or subtract) the candidate, grown by ``grow_pixels``, to the hole mask as one undo
        step. The lane makes the full-size mask and cuts out its grown box; the GUI thread only
        merges that box into the mask. False when there is no candidate."""
        candidate, index = self.candidate, self.index
        if self._pending_answers and self.prompts:
            self._accept_later = (grow_pixels, subtract)  # done when the answer to the last click comes
            return True
        if candidate is None:
            return False
        self.drop()

        doc = self._document()
        if doc is None:
            return False
        bounds = doc.bounds
        grow_pixels = 0 if subtract else max(grow_pixels, 0)

        def run(_progress: Any, _cancel: Any) -> tuple[Rect, np.ndarray] | None:
            return placed_patch(self._engine.full_mask(candidate, index), candidate.region, bounds, grow_pixels)

        self._jobs.submit(INFERENCE_LANE, "Adding the selection to the mask", run, lambda patch: self._apply(doc, patch, subtract), self._answer_failed)
        return True

    def _apply(self, doc: "Document", patch: tuple[Rect, np.ndarray] | None, subtract: bool) -> None:
        """On the GUI thread: merge the grown candidate's box into the mask; costs the box, not the photo."""
        if self._document() is not doc:
            return
        if patch is not None:
            doc.merge_mask(*patch, subtract=subtract, label="Select subtract" if subtract else "Select")
        self.accepted.emit()


def placed_patch(mask: np.ndarray, region: Rect, bounds: Rect, grow_pixels: int) -> tuple[Rect, np.ndarray] | None:
    """The candidate's full-size mask (``region``'s size) as a 0/255 patch placed in the photo:
    its bounding box, padded by the grow distance and clipped to ``bounds``, grown. None when empty.

    Growing the patch gives the same pixels as growing a photo-sized mask: the grow works inside
    the hole's box padded by the distance, which is exactly the patch (clipped where the photo ends).
    """
    box = mask_bbox(mask)
    if box.is_empty:
        return None
    placed = box.translate(region.x0, region.y0)
    rect = placed.pad(grow_pixels).intersect(bounds)
    patch = np.zeros((rect.height, rect.width), np.uint8)
    patch[placed.relative_to(rect).slices] = mask[box.slices].view(np.uint8) * np.uint8(HOLE)
    if grow_pixels > 0:
        grow(patch, grow_pixels)
    return rect, patch
