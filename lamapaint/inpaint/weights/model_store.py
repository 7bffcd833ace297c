"""The installed models: ``models_dir/<name>.safetensors`` with where each came from in its metadata.

Installing (``models import``, a download) is the only way a model gets here; the list is ordered
best first (what ``auto`` picks). Weights found elsewhere on disk (IOPaint's torch hub cache, loose
files dropped into the models folder) are listed as candidates until they are imported.
"""

from __future__ import annotations

import logging
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path

import safetensors
import safetensors.torch
import torch

from lamapaint.inpaint.installed import torch_hub_checkpoints
from lamapaint.inpaint.lama import CONFIGS
from lamapaint.inpaint.types import WeightsError
from lamapaint.inpaint.weights.catalogue import KNOWN_MODELS, known_model_for_file
from lamapaint.inpaint.weights.checkpoints import (
    LoadedWeights,
    build_checked_generator,
    config_from_keys,
    is_safetensors,
    load_weights_file,
    open_regular,
    storage_budget,
)
from lamapaint.io.atomic import atomic_write
from lamapaint.settings import app_paths

log = logging.getLogger(__name__)

META_PREFIX = "lamapaint_"
#: File stems that say nothing about the model; imports named so get the configuration's name.
_GENERIC_STEMS = frozenset({"best", "last", "model", "checkpoint", "weights", "generator", "state_dict"})
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


def models_dir() -> Path:
    return app_paths().models_dir


def read_header(path: Path) -> tuple[dict[str, str], list[str]]:
    """Metadata and key names of a .safetensors file, reading only its header."""
    try:
        if not is_safetensors(path):
            raise WeightsError(f"{path}: not a safetensors file")
        with safetensors.safe_open(str(path), framework="pt") as fh:
            return dict(fh.metadata() or {}), list(fh.keys())
    except WeightsError:
        raise
    except Exception as exc:  # noqa: BLE001 - safetensors raises its own error types; OSError too
        raise WeightsError(f"{path}: unreadable safetensors file ({exc})") from None


def source_stamp(path: Path) -> dict[str, str]:
    """What identifies a source file cheaply, so a second load of the same file finds its converted copy."""
    stat = path.stat()
    return {
        "source_path": str(path.resolve()),
        "source_size": str(stat.st_size),
        "source_mtime_ns": str(stat.st_mtime_ns),
    }


def find_by_stamp(folder: Path, path: Path) -> Path | None:
    """The .safetensors in ``folder`` converted from exactly this file (same path, size and mtime), if any."""
    if not folder.is_dir():
        return None
    stamp = {f"{META_PREFIX}{k}": v for k, v in source_stamp(path).items()}
    for candidate in sorted(folder.glob("*.safetensors")):
        try:
            meta, _ = read_header(candidate)
        except WeightsError:
            continue
        if all(meta.get(k) == v for k, v in stamp.items()):
            return candidate
    return None


def write_safetensors(loaded: LoadedWeights, target: Path, name: str, metadata: dict[str, str]) -> Path:
    """Write ``target`` atomically with where the weights came from in its metadata."""
    tensors = {}
    storages: set[int] = set()
    for key, tensor in loaded.state_dict.items():
        tensor = tensor.contiguous()
        storage = tensor.untyped_storage()
        if storage.data_ptr() in storages or storage.nbytes() != tensor.numel() * tensor.element_size():
            tensor = tensor.clone()  # a view into a bigger or shared storage: safetensors wants its own
        storages.add(tensor.untyped_storage().data_ptr())
        tensors[key] = tensor
    meta = {
        "format": "pt",
        f"{META_PREFIX}name": name,
        f"{META_PREFIX}config": loaded.config,
        f"{META_PREFIX}source_format": loaded.source_format,
        f"{META_PREFIX}source_sha256": loaded.sha256,
        f"{META_PREFIX}created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        **{f"{META_PREFIX}{k}": v for k, v in metadata.items()},
    }
    try:
        with atomic_write(target) as fh:
            fh.write(safetensors.torch.save(tensors, metadata=meta))
    except OSError as exc:
        raise WeightsError(f"cannot write {target}: {exc.strerror or exc}") from exc  # the CLI's exit 7
    log.info("Stored %s weights as %s", loaded.config, target)
    return target


def save_installed(loaded: LoadedWeights, name: str, metadata: dict[str, str]) -> Path:
    """Install as ``models_dir/<name>.safetensors``."""
    return write_safetensors(loaded, models_dir() / f"{name}.safetensors", name, metadata)


def _valid_name(name: str) -> str:
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,80}", name) or name.endswith(".safetensors"):
        raise WeightsError(f"invalid model name {name!r} (letters, digits, '.', '_' and '-' only)")
    return name


def name_for_file(path: Path, config: str) -> str:
    """The file's stem for telling names ('anime-manga-big-lama.pt'), the config for generic ones ('best.ckpt')."""
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", path.stem).strip("-.")[:64] or config
    if stem.lower() in _GENERIC_STEMS or not stem[0].isalnum():
        stem = config
    return stem


def _install_name(path: Path, loaded: LoadedWeights) -> str:
    """:func:`name_for_file`, with the source's hash added when another file already has that name."""
    stem = name_for_file(path, loaded.config)
    existing = models_dir() / f"{stem}.safetensors"
    if existing.exists():
        meta, _ = read_header(existing)
        if meta.get(f"{META_PREFIX}source_sha256") not in (None, loaded.sha256):
            stem = f"{stem}-{loaded.sha256[:8]}"  # a different file of the same name: keep both
    return stem


def import_model(path: str | os.PathLike[str], name: str | None = None) -> Path:
    """Validate a file the user has (by loading it) and install it as ``<name>.safetensors``."""
    file = Path(path)
    if name is not None:
        _valid_name(name)
    loaded = load_weights_file(file)
    target_name = name or _install_name(file, loaded)
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


def find_existing_weights() -> list[Path]:
    """Weights files already on disk that are not converted yet: loose files in models_dir, the torch hub cache."""
    found: list[Path] = []
    models = models_dir()
    if models.is_dir():
        found += sorted(p for p in models.iterdir() if p.is_file() and p.suffix in _CANDIDATE_SUFFIXES)
    hub = torch_hub_checkpoints()
    found += [
        hub / spec.filename
        for spec in KNOWN_MODELS.values()
        if spec.filename.endswith(".pt") and (hub / spec.filename).is_file()
    ]
    return found


def installed_models() -> list[InstalledModel]:
    """Converted models (best first), then candidates found on disk that were not imported yet."""
    folder = models_dir()
    installed: list[InstalledModel] = []
    if folder.is_dir():
        for path in sorted(folder.glob("*.safetensors")):  # a FIFO among them is refused, unopened
            entry = _installed_entry(path)
            if entry is not None:
                installed.append(entry)
    installed.sort(key=_rank)
    candidates = []
    for path in find_existing_weights():
        if installed_conversion(path) is not None:
            continue
        known = known_model_for_file(path.name)
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
        with open_regular(path) as fh:
            tensors = safetensors.torch.load(fh.read())
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
