"""Which model family a weights file belongs to, said in one place, from its keys alone.

``lama`` (the inpainting generator, :mod:`lamapaint.inpaint`) and ``sam`` (Segment Anything and
MobileSAM, :mod:`lamapaint.select`). Importing a file never asks the user what it is: the keys
tell (:func:`family_of_keys`), and an installed file's configuration tells (:func:`family_of_config`).
Torch-free but for :func:`family_of_file`, which reads a file's keys (never its tensors).
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path
from typing import Iterable

from lamapaint.models.errors import WeightsError

LAMA = "lama"
SAM = "sam"
#: The configurations of each family, as installed files name them in their metadata.
FAMILY_CONFIGS: dict[str, tuple[str, ...]] = {
    LAMA: ("big-lama", "lama-fourier"),
    SAM: ("vit_t", "vit_b", "vit_l", "vit_h"),
}
#: A key every file of the family has: LaMa's stem convolution (under any prefix), SAM's IoU token.
LAMA_ANCHOR = "model.1.ffc.convl2l.weight"
SAM_ANCHOR = "mask_decoder.iou_token.weight"
#: What each family is called in messages.
FAMILY_WORDS = {LAMA: "LaMa inpainting", SAM: "Segment Anything (selection)"}


def family_of_config(config: str | None) -> str | None:
    return next((family for family, configs in FAMILY_CONFIGS.items() if config in configs), None)


def family_of_keys(keys: Iterable[object]) -> str | None:
    """``sam`` for Segment Anything's keys, ``lama`` for a generator's (any prefix), else None."""
    found = None
    for key in keys:
        if not isinstance(key, str):
            continue
        if key == SAM_ANCHOR:
            return SAM
        if key.endswith(LAMA_ANCHOR):
            found = LAMA
    return found


def family_of_file(path: str | os.PathLike[str]) -> str | None:
    """The family of a weights file from its keys (no tensor read, no code run); None when unknown.

    The official ``big-lama.zip`` archive is LaMa. Unreadable files raise :class:`WeightsError`.
    """
    from lamapaint.models.safe_pickle import Placeholder, is_torch_zip, open_torch_zip, placeholder_tensors
    from lamapaint.models.store import is_safetensors, read_header

    file = Path(path)
    try:
        if not file.is_file():
            raise WeightsError(f"{file}: {'not a regular file' if file.exists() else 'no such file'}")
        if is_safetensors(file):
            return family_of_keys(read_header(file)[1])
        if is_torch_zip(file):
            archive = open_torch_zip(file)
            root = archive.root
            if archive.torchscript or isinstance(root, Placeholder):
                return family_of_keys(placeholder_tensors(root))
            if isinstance(root, dict) and isinstance(root.get("state_dict"), dict):
                root = root["state_dict"]
            return family_of_keys(root) if isinstance(root, dict) else None
        if zipfile.is_zipfile(file):
            return LAMA  # the official big-lama.zip; its loader checks the layout
    except OSError as exc:
        raise WeightsError(f"{file}: cannot read ({exc.strerror or exc})") from None
    return None
