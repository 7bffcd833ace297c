"""Segment Anything weights: reading the official files safely, installing, listing, loading.

The official ``mobile_sam.pt`` and ``sam_vit_{b,l,h}_*.pth`` are ``torch.save`` pickles of the plain
state dict. They are read with the restricted unpickler (:mod:`lamapaint.models.safe_pickle`: no
code runs, the pickle is bounded), the keys and declared shapes are checked against the layout of
the configuration the keys name (built on the meta device from :func:`lamapaint.select.sam.build_model`),
and only then are the storages read, within what that configuration needs. Installed models are
``models_dir/<name>.safetensors`` (:mod:`lamapaint.models.store`) with ``lamapaint_config`` = ``vit_t``
... ``vit_h``. Only :class:`WeightsError` (and subclasses) leaves this module's loaders.
"""

from __future__ import annotations

import functools
import itertools
import logging
import math
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping

import safetensors
import safetensors.torch
import torch

from lamapaint.jobs import CancelToken, ProgressCallback
from lamapaint.models.catalogue import KNOWN_MODELS, known_model_for_file
from lamapaint.models.download import FetchResult
from lamapaint.models.errors import NoWeightsError, WeightsError
from lamapaint.models.families import FAMILY_CONFIGS, FAMILY_WORDS, SAM, family_of_config, family_of_keys
from lamapaint.models.install import download_and_install, known_model
from lamapaint.models.safe_pickle import TensorRecord, is_torch_zip, open_torch_zip
from lamapaint.models.store import (
    META_PREFIX,
    LoadedWeights,
    install_name,
    is_safetensors,
    models_dir,
    read_header,
    reading_weights,
    save_installed,
    sha256_of,
    source_stamp,
    valid_name,
)
from lamapaint.select.sam import build_model

log = logging.getLogger(__name__)

CONFIGS = FAMILY_CONFIGS[SAM]
#: ``auto`` takes the fastest installed model: MobileSAM first (the one offered), then ViT-B, -L, -H.
SPEED_ORDER = CONFIGS
_VIT_BLOCK = re.compile(r"image_encoder\.blocks\.(\d+)\.norm1\.weight")
_VIT_DEPTHS = {12: "vit_b", 24: "vit_l", 32: "vit_h"}


@dataclass(frozen=True)
class SamInfo:
    """What was loaded: the installed name (or the file's stem), its configuration and where from."""

    name: str
    config: str
    path: Path
    sha256: str  # of the original source file
    load_seconds: float


@dataclass(frozen=True)
class InstalledSam:
    name: str
    config: str
    path: Path
    size_bytes: int
    source: str
    sha256: str


@functools.lru_cache(maxsize=None)
def sam_layout(config: str) -> dict[str, tuple[int, ...]]:
    """Key -> shape of a configuration, from a model built on the meta device (no memory, no init)."""
    with torch.device("meta"):
        model = build_model(config)
    return {key: tuple(t.shape) for key, t in model.state_dict().items()}


def storage_budget(config: str) -> int:
    """The most storage bytes a file of this configuration can need: every value in float64, plus slack."""
    return sum(math.prod(shape) for shape in sam_layout(config).values()) * 8 + (1 << 20)


def config_from_keys(keys: Iterable[object]) -> str | None:
    """``vit_t`` for TinyViT's keys, else the ViT whose depth the encoder's blocks give."""
    blocks = set()
    for key in keys:
        if not isinstance(key, str):
            continue
        if key.startswith("image_encoder.layers."):
            return "vit_t"
        match = _VIT_BLOCK.fullmatch(key)
        if match:
            blocks.add(int(match.group(1)))
    return _VIT_DEPTHS.get(len(blocks))


def _check_entries(entries: Mapping[str, Any], source: str) -> tuple[str, dict[str, Any]]:
    """(config, the entries) once the keys are exactly one configuration's and every shape and dtype fits."""
    family = family_of_keys(entries)
    if family != SAM:
        held = f"holds {FAMILY_WORDS[family]} weights, not" if family else "has no"
        raise WeightsError(f"{source}: {held} Segment Anything weights (no key 'mask_decoder.iou_token.weight')")
    config = config_from_keys(entries)
    if config is None:
        raise WeightsError(f"{source}: unrecognised Segment Anything configuration (neither vit_t, vit_b, vit_l nor vit_h)")
    layout = sam_layout(config)
    missing = [key for key in layout if key not in entries]
    if missing:
        raise WeightsError(f"{source}: {len(missing)} {config} weights missing, e.g. {', '.join(missing[:3])}")
    unexpected = [key for key in entries if key not in layout]
    if unexpected:
        raise WeightsError(f"{source}: unexpected entries, e.g. {', '.join(map(str, unexpected[:3]))}")
    for key, shape in layout.items():
        value = entries[key]
        if not isinstance(value, (TensorRecord, _Declared)):
            raise WeightsError(f"{source}: {key} is not a tensor")
        if tuple(value.shape) != shape:
            raise WeightsError(f"{source}: {key} has shape {tuple(value.shape)}, expected {shape}")
        dtype = value.dtype
        if not key.endswith("num_batches_tracked") and (dtype is None or not dtype.is_floating_point):
            raise WeightsError(f"{source}: {key} has dtype {dtype}, expected floating point")
    return config, dict(entries)


@dataclass(frozen=True)
class _Declared:
    """A safetensors entry as its header declares it (nothing read)."""

    shape: tuple[int, ...]
    dtype: torch.dtype | None


_SAFETENSORS_DTYPES = {"F64": torch.float64, "F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16, "I64": torch.int64}


def _as_model_dtypes(tensors: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {k: v.to(torch.int64) if k.endswith("num_batches_tracked") else v.to(torch.float32) for k, v in tensors.items()}


def _read_safetensors(path: Path, source: str) -> tuple[str, dict[str, torch.Tensor]]:
    with safetensors.safe_open(str(path), framework="pt") as fh:
        entries = {}
        for key in fh.keys():  # noqa: SIM118 (safe_open is not a mapping)
            view = fh.get_slice(key)
            entries[key] = _Declared(tuple(view.get_shape()), _SAFETENSORS_DTYPES.get(view.get_dtype()))
        config, _ = _check_entries(entries, source)
        tensors = {key: fh.get_tensor(key) for key in sam_layout(config)}
    return config, _as_model_dtypes(tensors)


def _read_torch_zip(path: Path, source: str) -> tuple[str, dict[str, torch.Tensor]]:
    archive = open_torch_zip(path)
    root = archive.root
    if archive.torchscript or not isinstance(root, dict):
        raise WeightsError(f"{source}: holds a {'TorchScript module' if archive.torchscript else type(root).__name__}, not a state dict")
    if isinstance(root.get("state_dict"), dict):  # a training checkpoint (LaMa's are): its weights are there
        root = root["state_dict"]
    bad = next((key for key in root if not isinstance(key, str)), None)
    if bad is not None:
        raise WeightsError(f"{source}: the state dict has a key that is not a name ({type(bad).__name__} {bad!r:.40})")
    config, records = _check_entries(root, source)
    tensors = archive.read_tensors({key: records[key] for key in sam_layout(config)}, storage_budget(config))
    return config, _as_model_dtypes(tensors)


def load_sam_file(path: str | os.PathLike[str]) -> LoadedWeights:
    """Read an official checkpoint (or a ``.safetensors``) without running code; the configuration comes from its keys."""
    file = Path(path)
    source = str(file)
    with reading_weights(file):
        if is_safetensors(file):
            (config, state_dict), source_format = _read_safetensors(file, source), "safetensors"
        elif is_torch_zip(file):
            (config, state_dict), source_format = _read_torch_zip(file, source), "state-dict"
        else:
            raise WeightsError(f"{source}: unsupported format (expected the official .pt/.pth, a torch.save state dict, or .safetensors)")
        return LoadedWeights(config, state_dict, source_format, sha256_of(file))


def build_checked_model(config: str, state_dict: Mapping[str, torch.Tensor], source: str) -> torch.nn.Module:
    """The model with checked weights, in eval mode (which also rebuilds any tables derived from them).

    Built on the CPU rather than the meta device: the models keep index tables (non-persistent
    buffers) that loading does not restore.
    """
    model = build_model(config)
    try:
        model.load_state_dict(state_dict, strict=True)
    except RuntimeError as exc:
        raise WeightsError(f"{source}: weights do not fit {config}: {str(exc).splitlines()[0]}") from None
    for name, tensor in itertools.chain(model.named_parameters(), model.named_buffers()):
        if tensor.is_floating_point() and tensor.dtype != torch.float32:
            raise WeightsError(f"{source}: {name} is {tensor.dtype}, expected float32")
    return model.eval()


def installed_sam_models() -> list[InstalledSam]:
    """Installed Segment Anything models, fastest first (the order ``auto`` takes)."""
    found = []
    folder = models_dir()
    for path in sorted(folder.glob("*.safetensors")) if folder.is_dir() else []:
        try:
            meta, _ = read_header(path)
        except WeightsError as exc:
            log.warning("Ignoring %s", exc)
            continue
        config = meta.get(f"{META_PREFIX}config")
        if family_of_config(config) != SAM:
            continue
        found.append(
            InstalledSam(
                name=meta.get(f"{META_PREFIX}name", path.stem),
                config=str(config),
                path=path,
                size_bytes=path.stat().st_size,
                source=meta.get(f"{META_PREFIX}source", ""),
                sha256=meta.get(f"{META_PREFIX}source_sha256", ""),
            )
        )
    return sorted(found, key=lambda m: (SPEED_ORDER.index(m.config), m.name != _catalogue_name(m.config), m.name))


def _catalogue_name(config: str) -> str:
    return next((spec.name for spec in KNOWN_MODELS.values() if spec.config == config), "")


def load_installed(path: Path) -> tuple[torch.nn.Module, SamInfo]:
    """An installed (or converted) ``.safetensors``: no pickle, no hashing."""
    started = time.perf_counter()
    meta, _ = read_header(path)
    config = meta.get(f"{META_PREFIX}config")
    if config not in CONFIGS:
        raise WeightsError(f"{path}: not a Segment Anything model (configuration {config!r} in its metadata)")
    try:
        if path.stat().st_size > storage_budget(config):
            raise WeightsError(f"{path}: larger than any {config} weights file")
        tensors = safetensors.torch.load(path.read_bytes())
    except WeightsError:
        raise
    except Exception as exc:  # noqa: BLE001 - safetensors raises its own error types; OSError too
        raise WeightsError(f"{path}: unreadable safetensors file ({exc})") from None
    _check_entries({k: _Declared(tuple(v.shape), v.dtype) for k, v in tensors.items()}, str(path))
    model = build_checked_model(config, _as_model_dtypes(tensors), str(path))
    name = meta.get(f"{META_PREFIX}name", path.stem)
    return model, SamInfo(name, config, path, meta.get(f"{META_PREFIX}source_sha256", ""), time.perf_counter() - started)


def load_sam(model: str = "auto", weights: str | os.PathLike[str] | None = None) -> tuple[torch.nn.Module, SamInfo]:
    """The model to select with: a file (``weights``), an installed name or catalogue name, or ``auto``.

    ``auto`` takes the fastest installed model; with none installed it raises :class:`NoWeightsError`.
    """
    started = time.perf_counter()
    if weights is not None:
        file = Path(weights)
        loaded = load_sam_file(file)
        net = build_checked_model(loaded.config, loaded.state_dict, str(file))
        return net, SamInfo(file.stem, loaded.config, file, loaded.sha256, time.perf_counter() - started)
    installed = installed_sam_models()
    if model != "auto":
        chosen = [m for m in installed if m.name == model]
        if not chosen:
            hint = f"`lamapaint-cli models download {model}`" if model in KNOWN_MODELS else "`lamapaint-cli models list`"
            raise NoWeightsError(f"the selection model {model!r} is not installed; see {hint}")
        installed = chosen
    if not installed:
        raise NoWeightsError("no Segment Anything model installed; run `lamapaint-cli models download mobile-sam`")
    return load_installed(installed[0].path)


def import_sam(path: str | os.PathLike[str], name: str | None = None) -> Path:
    """Validate a file the user has (by loading it) and install it as ``<name>.safetensors``."""
    file = Path(path)
    if name is not None:
        valid_name(name)
    loaded = load_sam_file(file)
    known = known_model_for_file(file.name)
    default = known.name if known is not None and known.config == loaded.config else None
    target_name = name or default or install_name(file, loaded)
    target = save_installed(loaded, target_name, {"source": str(file.resolve()), **source_stamp(file)})
    load_installed(target)  # verify what was written loads strictly
    return target


def download_sam(
    name: str,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
    url_override: str | None = None,
) -> Path:
    """Download a catalogue SAM model (resumable, checksum verified), check it and install it."""
    spec = known_model(name, SAM)

    def install(file: Path, url: str, fetched: FetchResult) -> Path:
        loaded = load_sam_file(file)
        if loaded.config != spec.config:
            raise WeightsError(f"{url}: holds {loaded.config} weights, expected {spec.config}")
        target = save_installed(loaded, spec.name, {"source": url, "source_md5": fetched.md5, "source_size": str(fetched.size)})
        load_installed(target)
        return target

    return download_and_install(spec, install, progress, cancel, url_override)
