"""Reading a weights file of any supported format into the generator's checked state dict.

Formats: ``.safetensors``, ``torch.save`` zips (plain or Lightning state dicts, any key prefix),
TorchScript ``.pt`` read as a zip (never ``torch.jit.load``), and the official ``big-lama.zip``. No
code from the file runs (see :mod:`lamapaint.models.safe_pickle`), and nothing big is read before
the keys and declared shapes match a generator layout: the storages read are bounded by what that
configuration needs (:func:`storage_budget`), whatever sizes the file claims. Only
:class:`WeightsError` (and subclasses) leaves :func:`load_weights_file`.
"""

from __future__ import annotations

import functools
import itertools
import logging
import math
import os
import re
import shutil
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping

import safetensors
import torch

from lamapaint.inpaint.lama import CONFIGS, build_generator
from lamapaint.models.families import LAMA_ANCHOR
from lamapaint.models.safe_pickle import TensorRecord, TorchArchive, is_torch_zip, open_torch_zip, placeholder_tensors
from lamapaint.inpaint.types import WeightsError
from lamapaint.models.store import LoadedWeights, is_safetensors, reading_weights, sha256_of
from lamapaint.settings import app_paths

log = logging.getLogger(__name__)

#: Top-level modules of LaMa's training wrapper that are not the generator (relative to the wrapper).
IGNORED_PREFIXES = ("discriminator.", "loss_", "adversarial_loss.", "val_evaluator.", "test_evaluator.", "evaluator.")
_ANCHOR = LAMA_ANCHOR  # the stem convolution: present in every FFC generator
_BLOCK_KEY = re.compile(r"model\.(\d+)\.conv1\.ffc\.convl2l\.weight")
#: The official archive is ~400 MB; its best.ckpt is extracted to the cache folder, so this bounds disk use.
MAX_ZIP_BYTES = 2 << 30
_SAFETENSORS_DTYPES = {
    "F64": torch.float64, "F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16,
    "I64": torch.int64, "I32": torch.int32, "I16": torch.int16, "I8": torch.int8, "U8": torch.uint8, "BOOL": torch.bool,
}


@dataclass(frozen=True)
class _Declared:
    """A safetensors entry as its header declares it (nothing read)."""

    shape: tuple[int, ...]
    dtype: torch.dtype | None


@functools.lru_cache(maxsize=None)
def generator_layout(config: str) -> dict[str, tuple[int, ...]]:
    """Key -> shape of a configuration, from a generator built on the meta device (no memory, no init)."""
    with torch.device("meta"):
        generator = build_generator(config)
    return {key: tuple(t.shape) for key, t in generator.state_dict().items()}


def storage_budget(config: str) -> int:
    """The most storage bytes a file of this configuration can need: every value in float64, plus slack."""
    return sum(math.prod(shape) for shape in generator_layout(config).values()) * 8 + (1 << 20)


def config_from_keys(keys: Iterable[str], prefix: str = "") -> str | None:
    """The configuration with as many residual blocks as the keys under ``prefix`` have."""
    blocks = set()
    for key in keys:
        if isinstance(key, str) and key.startswith(prefix):
            match = _BLOCK_KEY.fullmatch(key[len(prefix) :])
            if match:
                blocks.add(int(match.group(1)))
    for name, cfg in CONFIGS.items():
        if len(blocks) == cfg.n_blocks:
            return name
    return None


def _locate_generator(entries: Mapping[str, Any], source: str) -> tuple[str, str]:
    """(prefix, config) of the one generator among the keys; every other key must be ignorable."""
    prefixes = {key[: -len(_ANCHOR)] for key in entries if key.endswith(_ANCHOR)}
    prefixes = {p for p in prefixes if p == "" or p.endswith(".")}
    if not prefixes:
        raise WeightsError(f"{source}: no LaMa generator weights found (no key like 'generator.{_ANCHOR}')")
    if len(prefixes) > 1:
        raise WeightsError(f"{source}: several generators in one file ({', '.join(sorted(prefixes))})")
    prefix = prefixes.pop()
    wrapper = prefix[: -len("generator.")] if prefix.endswith("generator.") else ""
    unexpected = []
    for key in entries:
        if key.startswith(prefix):
            continue
        relative = key[len(wrapper) :] if key.startswith(wrapper) else key
        if not relative.startswith(IGNORED_PREFIXES):
            unexpected.append(key)
    config = config_from_keys(entries, prefix)
    if config is None:
        raise WeightsError(f"{source}: unrecognised LaMa configuration (neither big-lama nor lama-fourier)")
    layout = generator_layout(config)
    state = {key[len(prefix) :] for key in entries if key.startswith(prefix)}
    missing = [key for key in layout if key not in state]
    if missing:
        raise WeightsError(f"{source}: {len(missing)} {config} weights missing, e.g. {', '.join(missing[:3])}")
    unexpected += [prefix + key for key in state if key not in layout]
    if unexpected:
        raise WeightsError(f"{source}: unexpected entries, e.g. {', '.join(unexpected[:3])}")
    return prefix, config


def _check_declared(entries: Mapping[str, Any], prefix: str, config: str, source: str) -> dict[str, Any]:
    """The generator's entries (prefix removed) once each is a tensor of the layout's shape and a usable dtype."""
    declared: dict[str, Any] = {}
    for key, shape in generator_layout(config).items():
        value = entries[prefix + key]
        if not isinstance(value, (TensorRecord, _Declared)):
            raise WeightsError(f"{source}: {prefix}{key} is not a tensor")
        if tuple(value.shape) != shape:
            raise WeightsError(f"{source}: {prefix}{key} has shape {tuple(value.shape)}, expected {shape}")
        dtype = value.dtype
        if not key.endswith("num_batches_tracked") and (dtype is None or not dtype.is_floating_point):
            raise WeightsError(f"{source}: {prefix}{key} has dtype {dtype}, expected floating point")
        declared[key] = value
    return declared


def _as_generator_dtypes(tensors: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {
        key: value.to(torch.int64) if key.endswith("num_batches_tracked") else value.to(torch.float32)
        for key, value in tensors.items()
    }


def _read_safetensors(path: Path, source: str) -> tuple[str, dict[str, torch.Tensor]]:
    """Keys and shapes from the header first; then only the generator's tensors are read."""
    with safetensors.safe_open(str(path), framework="pt") as fh:
        entries: dict[str, Any] = {}
        for key in fh.keys():  # noqa: SIM118 (safe_open is not a mapping)
            view = fh.get_slice(key)
            entries[key] = _Declared(tuple(view.get_shape()), _SAFETENSORS_DTYPES.get(view.get_dtype()))
        prefix, config = _locate_generator(entries, source)
        _check_declared(entries, prefix, config, source)
        tensors = {key: fh.get_tensor(prefix + key) for key in generator_layout(config)}
    return config, _as_generator_dtypes(tensors)


def _archive_entries(archive: TorchArchive, source: str) -> tuple[dict[str, Any], str]:
    if archive.torchscript:
        return dict(placeholder_tensors(archive.root)), "torchscript"
    root = archive.root
    if isinstance(root, dict) and isinstance(root.get("state_dict"), dict):
        entries, source_format = root["state_dict"], "lightning-ckpt"
    elif isinstance(root, dict):
        entries, source_format = root, "state-dict"
    else:
        raise WeightsError(f"{source}: the checkpoint holds a {type(root).__name__}, not a state dict")
    bad = next((key for key in entries if not isinstance(key, str)), None)
    if bad is not None:
        raise WeightsError(f"{source}: the state dict has a key that is not a name ({type(bad).__name__} {bad!r:.40})")
    return dict(entries), source_format


def _read_torch_zip(path: Path, source: str) -> tuple[str, dict[str, torch.Tensor], str]:
    """Unpickle (no storage read), check keys and shapes, then read only the generator's storages."""
    archive = open_torch_zip(path)
    entries, source_format = _archive_entries(archive, source)
    prefix, config = _locate_generator(entries, source)
    records = _check_declared(entries, prefix, config, source)
    tensors = archive.read_tensors(records, storage_budget(config))
    return config, _as_generator_dtypes(tensors), source_format


def _lama_zip_member(zf: zipfile.ZipFile, source: str) -> zipfile.ZipInfo:
    """Check the official archive's layout strictly and return its ``<top>/models/best.ckpt`` entry."""
    infos = zf.infolist()
    tops = set()
    total = 0
    for info in infos:
        name = info.filename
        parts = name.split("/")
        if name.startswith("/") or "\\" in name or ".." in parts or ":" in parts[0]:
            raise WeightsError(f"{source}: unsafe member name {name!r} in archive")
        tops.add(parts[0])
        total += info.file_size
    if len(tops) != 1 or total > MAX_ZIP_BYTES:
        raise WeightsError(f"{source}: not a LaMa model archive (expected one folder with models/best.ckpt)")
    top = tops.pop()
    names = {info.filename: info for info in infos}
    ckpt = names.get(f"{top}/models/best.ckpt")
    if ckpt is None or f"{top}/config.yaml" not in names:
        raise WeightsError(f"{source}: not a LaMa model archive (missing {top}/config.yaml or {top}/models/best.ckpt)")
    return ckpt


def _read_lama_zip(path: Path, source: str) -> tuple[str, dict[str, torch.Tensor]]:
    cache_dir = app_paths().cache_dir
    cache_dir.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path) as zf:
        member = _lama_zip_member(zf, source)
        fd, tmp_name = tempfile.mkstemp(prefix="best-", suffix=".ckpt", dir=cache_dir)
        tmp = Path(tmp_name)
        try:
            with os.fdopen(fd, "wb") as out, zf.open(member) as src:
                shutil.copyfileobj(src, out, 8 << 20)
            config, state_dict, _ = _read_torch_zip(tmp, f"{source}:{member.filename}")
        finally:
            tmp.unlink(missing_ok=True)
    return config, state_dict


def load_weights_file(path: str | os.PathLike[str]) -> LoadedWeights:
    """Read any supported weights file without executing code; the generator's config comes from its keys."""
    file = Path(path)
    source = str(file)
    with reading_weights(file):
        if is_safetensors(file):
            config, state_dict = _read_safetensors(file, source)
            source_format = "safetensors"
        elif is_torch_zip(file):
            config, state_dict, source_format = _read_torch_zip(file, source)
        elif zipfile.is_zipfile(file):
            (config, state_dict), source_format = _read_lama_zip(file, source), "lama-zip"
        else:
            raise WeightsError(
                f"{source}: unsupported format (expected .safetensors, a torch.save/Lightning "
                "checkpoint from torch >= 1.6, a TorchScript .pt or the official big-lama.zip)"
            )
        return LoadedWeights(config, state_dict, source_format, sha256_of(file))


def build_checked_generator(config: str, state_dict: dict[str, torch.Tensor], source: str) -> torch.nn.Module:
    """Generator from checked weights; built on the meta device so no random init is paid."""
    with torch.device("meta"):
        generator = build_generator(config)
    try:
        generator.load_state_dict(state_dict, strict=True, assign=True)
    except RuntimeError as exc:
        raise WeightsError(f"{source}: weights do not fit {config}: {str(exc).splitlines()[0]}") from None
    for name, tensor in itertools.chain(generator.named_parameters(), generator.named_buffers()):
        if tensor.is_meta:
            raise WeightsError(f"{source}: {name} was not loaded")
        if tensor.is_floating_point() and tensor.dtype != torch.float32:
            raise WeightsError(f"{source}: {name} is {tensor.dtype}, expected float32")
    return generator.eval()
