"""The installed LaMa models: ``models_dir/<name>.safetensors`` (the shared store, :mod:`lamapaint.models.store`).

Installing (``models import``, a download) is the only way a model gets here; the list is ordered
best first (what ``auto`` picks). Weights found elsewhere on disk (IOPaint's torch hub cache, loose
files dropped into the models folder) are listed as candidates until they are imported.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path

import safetensors.torch
import torch

from lamapaint.inpaint.lama import CONFIGS
from lamapaint.inpaint.types import WeightsError
from lamapaint.inpaint.weights.checkpoints import build_checked_generator, config_from_keys, load_weights_file, storage_budget
from lamapaint.models.catalogue import KNOWN_MODELS, known_model_for_file
from lamapaint.models.families import LAMA, family_of_config
from lamapaint.models.store import (
    META_PREFIX,
    find_by_stamp,
    install_name,
    models_dir,
    read_header,
    save_installed,
    source_stamp,
    valid_name,
)

log = logging.getLogger(__name__)

_CANDIDATE_SUFFIXES = (".pt", ".pth", ".ckpt", ".bin", ".zip")  # .safetensors there are installed models


@dataclass(frozen=True)
class ModelInfo:
    name: str
    config: str
    path: Path
    source_format: str
    sha256: str  # of the original source file
    load_seconds: float


@dataclass(frozen=True)
class InstalledModel:
    name: str
    config: str | None
    path: Path
    size_bytes: int
    installed: bool  # False: a candidate found elsewhere, not converted yet
    source: str
    sha256: str


def import_model(path: str | os.PathLike[str], name: str | None = None) -> Path:
    """Validate a file the user has (by loading it) and install it as ``<name>.safetensors``."""
    file = Path(path)
    if name is not None:
        valid_name(name)
    loaded = load_weights_file(file)
    target_name = name or install_name(file, loaded)
    target = save_installed(loaded, target_name, {"source": str(file.resolve()), **source_stamp(file)})
    load_converted(target, time.perf_counter())  # verify what was written loads strictly
    return target


def _installed_entry(path: Path) -> InstalledModel | None:
    try:
        meta, keys = read_header(path)
    except WeightsError as exc:
        log.warning("Ignoring %s", exc)
        return None
    config = meta.get(f"{META_PREFIX}config") or config_from_keys(keys) or config_from_keys(keys, "generator.")
    if family_of_config(config) not in (None, LAMA):
        return None  # another family's model (Segment Anything), listed by lamapaint.select
    return InstalledModel(
        name=meta.get(f"{META_PREFIX}name", path.stem),
        config=config,
        path=path,
        size_bytes=path.stat().st_size,
        installed=True,
        source=meta.get(f"{META_PREFIX}source", meta.get(f"{META_PREFIX}source_path", "")),
        sha256=meta.get(f"{META_PREFIX}source_sha256", ""),
    )


def _rank(model: InstalledModel) -> tuple[int, str]:
    """The order ``auto`` prefers: big-lama itself first, then other big-lama weights, then lama-fourier."""
    if model.config == "big-lama":
        return (0 if model.name == "big-lama" else 1), model.name
    return (2 if model.config == "lama-fourier" else 3), model.name


def _torch_hub_checkpoints() -> Path:
    """IOPaint/lama-cleaner keep big-lama.pt here (honours TORCH_HOME and XDG_CACHE_HOME)."""
    home = os.environ.get("TORCH_HOME") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "torch"
    )
    return Path(home) / "hub" / "checkpoints"


def find_existing_weights() -> list[Path]:
    """Weights files already on disk that are not converted yet: loose files in models_dir, the torch hub cache."""
    found: list[Path] = []
    models = models_dir()
    if models.is_dir():
        found += sorted(p for p in models.iterdir() if p.is_file() and p.suffix in _CANDIDATE_SUFFIXES)
    hub = _torch_hub_checkpoints()
    found += [
        hub / spec.filename
        for spec in KNOWN_MODELS.values()
        if spec.family == LAMA and spec.filename.endswith(".pt") and (hub / spec.filename).is_file()
    ]
    return found


def installed_models() -> list[InstalledModel]:
    """Converted models (best first), then candidates found on disk that were not imported yet."""
    folder = models_dir()
    installed: list[InstalledModel] = []
    if folder.is_dir():
        for path in sorted(folder.glob("*.safetensors")):
            entry = _installed_entry(path)
            if entry is not None:
                installed.append(entry)
    installed.sort(key=_rank)
    candidates = []
    for path in find_existing_weights():
        if installed_conversion(path) is not None:
            continue
        known = known_model_for_file(path.name)
        if known is not None and known.family != LAMA:
            continue
        candidates.append(
            InstalledModel(
                name=known.name if known else path.stem,
                config=known.config if known else None,
                path=path,
                size_bytes=path.stat().st_size,
                installed=False,
                source=str(path),
                sha256="",
            )
        )
    return installed + candidates


def installed_conversion(path: Path) -> Path | None:
    """The installed model imported from exactly this file, if any."""
    return find_by_stamp(models_dir(), path)


def load_converted(path: Path, started: float) -> tuple[torch.nn.Module, ModelInfo]:
    """The fast path: our own .safetensors (installed or cached), no hashing, no pickle, no random init."""
    meta, _ = read_header(path)
    config = meta.get(f"{META_PREFIX}config")
    if config not in CONFIGS:
        raise WeightsError(f"{path}: unknown configuration {config!r} in its metadata")
    try:
        if path.stat().st_size > storage_budget(config):
            raise WeightsError(f"{path}: larger than any {config} weights file")
        # One sequential read: load_file's memory map is lazy, and the first pass over the weights
        # (BatchNorm folding, casting) then pays ~50k page faults, twice the time of this read.
        tensors = safetensors.torch.load(path.read_bytes())
    except WeightsError:
        raise
    except Exception as exc:  # noqa: BLE001 - safetensors raises its own error types; OSError too
        raise WeightsError(f"{path}: unreadable safetensors file ({exc})") from None
    generator = build_checked_generator(config, tensors, str(path))
    info = ModelInfo(
        name=meta.get(f"{META_PREFIX}name", path.stem),
        config=config,
        path=path,
        source_format=meta.get(f"{META_PREFIX}source_format", "safetensors"),
        sha256=meta.get(f"{META_PREFIX}source_sha256", ""),
        load_seconds=time.perf_counter() - started,
    )
    return generator, info
