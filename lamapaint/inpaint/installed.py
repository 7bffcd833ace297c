"""Whether any LaMa weights are on disk, told by listing folders only: no torch, no file opened.

The engine asks this before choosing the basic fill for ``model="auto"`` (so a removal without
a model never waits for torch to load), and the editor asks it at start (to offer the model). It
looks where the weights package looks (``weights.model_store``): the models folder and the torch
hub cache where IOPaint keeps its downloads. A yes only means "worth loading torch to look".
"""

from __future__ import annotations

import os
from pathlib import Path

from lamapaint.settings import app_paths

#: Files the engine picks up from the models folder (installed, or converted on first use).
WEIGHT_SUFFIXES = (".safetensors", ".pt", ".pth", ".ckpt", ".bin", ".zip")
#: The catalogue's files that IOPaint keeps in the torch hub cache (a test holds them to the catalogue).
HUB_FILENAMES = ("big-lama.pt", "anime-manga-big-lama.pt")


def torch_hub_checkpoints() -> Path:
    """IOPaint/lama-cleaner keep big-lama.pt here (honours TORCH_HOME and XDG_CACHE_HOME)."""
    home = os.environ.get("TORCH_HOME") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "torch"
    )
    return Path(home) / "hub" / "checkpoints"


def weights_on_disk() -> bool:
    """True when a weights file lies where the engine looks; False means no LaMa can be loaded."""
    folder = app_paths().models_dir
    if folder.is_dir() and any(p.is_file() and p.suffix.lower() in WEIGHT_SUFFIXES for p in folder.iterdir()):
        return True
    hub = torch_hub_checkpoints()
    return any((hub / name).is_file() for name in HUB_FILENAMES)
