"""Generator weights: deterministic test weights, and (below) finding, loading and converting files."""

from __future__ import annotations

import functools
import hashlib
import itertools
import logging
import math
import os
import re
import shutil
import tempfile
import time
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

import safetensors
import safetensors.torch
import torch

from lamapaint.inpaint.download import fetch
from lamapaint.inpaint.lama import CONFIGS, build_generator
from lamapaint.inpaint.safe_pickle import TorchArchive, is_torch_zip, placeholder_tensors, read_torch_zip
from lamapaint.inpaint.types import ChecksumError, DownloadError, NoWeightsError, UnsafePickleError, WeightsError
from lamapaint.io.atomic import atomic_write
from lamapaint.jobs import CancelToken, ProgressCallback, no_progress
from lamapaint.settings import app_paths


def _deterministic_tensor(key: str, shape: tuple[int, ...]) -> torch.Tensor:
    """The reference README's rule, operation for operation (order matters for bit-exactness)."""
    if key.endswith("num_batches_tracked"):
        return torch.zeros(shape, dtype=torch.int64)
    g = torch.Generator().manual_seed(zlib.crc32(key.encode("utf-8")))
    if key.endswith("running_var"):
        return 0.5 + torch.rand(shape, generator=g, dtype=torch.float32)
    if key.endswith("running_mean"):
        return 0.1 * torch.randn(shape, generator=g, dtype=torch.float32)
    if key.endswith(".weight") and len(shape) == 1:
        return 1.0 + 0.1 * torch.randn(shape, generator=g, dtype=torch.float32)
    if key.endswith(".bias"):
        return 0.05 * torch.randn(shape, generator=g, dtype=torch.float32)
    if key.endswith(".weight"):
        fan_in = math.prod(shape[1:])
        group = key.split(".")[2]
        gain = math.sqrt(2.0) if group == "ffc" else 0.55 if group in ("conv1", "conv2") else 1.0
        scale = math.sqrt(1.0 / fan_in) * gain
        return torch.randn(shape, generator=g, dtype=torch.float32) * scale
    raise ValueError(f"no deterministic rule for state-dict key {key!r}")


def deterministic_state_dict(config: str) -> dict[str, torch.Tensor]:
    """Seeded weights that give a well-behaved generator; tests and benchmarks use them offline."""
    layout = build_generator(config).state_dict()
    return {key: _deterministic_tensor(key, tuple(t.shape)) for key, t in layout.items()}


# --------------------------------------------------------------------------------------------------
# Finding, loading, converting and installing real weights.
# --------------------------------------------------------------------------------------------------

log = logging.getLogger(__name__)

__all__ = [
    "KNOWN_MODELS",
    "ChecksumError",
    "DownloadError",
    "InstalledModel",
    "KnownModel",
    "LoadedWeights",
    "ModelInfo",
    "NoWeightsError",
    "UnsafePickleError",
    "WeightsError",
    "deterministic_state_dict",
    "download_model",
    "find_existing_weights",
    "import_model",
    "installed_models",
    "load_generator",
    "load_weights_file",
]


@dataclass(frozen=True)
class KnownModel:
    name: str
    url: str
    filename: str
    config: str
    md5: str | None
    sha256: str | None
    size: int | None
    description: str
    license: str


_LAMA_LICENSE = "Apache-2.0 (advimman/lama)"
#: Where the published weights live (facts from the LaMa and IOPaint projects).
KNOWN_MODELS: dict[str, KnownModel] = {
    "big-lama": KnownModel(
        name="big-lama",
        url="https://github.com/Sanster/models/releases/download/add_big_lama/big-lama.pt",
        filename="big-lama.pt",
        config="big-lama",
        md5="e3aa4aaa15225a33ec84f9f4bc47e500",
        sha256=None,
        size=None,
        description="Big LaMa, TorchScript export as used by IOPaint/lama-cleaner (checksum published)",
        license=_LAMA_LICENSE,
    ),
    "anime-manga-big-lama": KnownModel(
        name="anime-manga-big-lama",
        url="https://github.com/Sanster/models/releases/download/add_big_lama/anime-manga-big-lama.pt",
        filename="anime-manga-big-lama.pt",
        config="big-lama",
        md5="29f284f36a0a510bcacf39ecf4c4d54f",
        sha256=None,
        size=None,
        description="Big LaMa fine-tuned on anime and manga (IOPaint release)",
        license=_LAMA_LICENSE,
    ),
    "big-lama-official": KnownModel(
        name="big-lama-official",
        url="https://huggingface.co/smartywu/big-lama/resolve/main/big-lama.zip",
        filename="big-lama.zip",
        config="big-lama",
        md5=None,
        sha256=None,
        size=None,
        description="Big LaMa, the official release archive (no published checksum; structure checked)",
        license=_LAMA_LICENSE,
    ),
}

#: Top-level modules of LaMa's training wrapper that are not the generator (relative to the wrapper).
IGNORED_PREFIXES = ("discriminator.", "loss_", "adversarial_loss.", "val_evaluator.", "test_evaluator.", "evaluator.")
#: File stems that say nothing about the model; imports named so get the configuration's name.
_GENERIC_STEMS = frozenset({"best", "last", "model", "checkpoint", "weights", "generator", "state_dict"})
_CANDIDATE_SUFFIXES = (".pt", ".pth", ".ckpt", ".bin", ".zip")  # .safetensors there are installed models
_ANCHOR = "model.1.ffc.convl2l.weight"  # the stem convolution: present in every FFC generator
_BLOCK_KEY = re.compile(r"model\.(\d+)\.conv1\.ffc\.convl2l\.weight")
_META_PREFIX = "lamapaint_"
_MAX_ZIP_BYTES = 3 << 30


@dataclass(frozen=True)
class LoadedWeights:
    config: str
    state_dict: dict[str, torch.Tensor]
    source_format: str  # safetensors | lightning-ckpt | state-dict | torchscript | lama-zip
    sha256: str


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


# ---- reading files ---------------------------------------------------------------------------------


@functools.lru_cache(maxsize=None)
def _layout(config: str) -> dict[str, tuple[int, ...]]:
    """Key -> shape of a configuration, from a generator built on the meta device (no memory, no init)."""
    with torch.device("meta"):
        generator = build_generator(config)
    return {key: tuple(t.shape) for key, t in generator.state_dict().items()}


def _config_from_keys(keys: Iterable[str], prefix: str = "") -> str | None:
    blocks = set()
    for key in keys:
        if key.startswith(prefix):
            match = _BLOCK_KEY.fullmatch(key[len(prefix) :])
            if match:
                blocks.add(int(match.group(1)))
    for name, cfg in CONFIGS.items():
        if len(blocks) == cfg.n_blocks:
            return name
    return None


def _generator_state_dict(entries: dict[str, Any], source: str) -> tuple[str, dict[str, torch.Tensor]]:
    """Find the generator inside a file's flat key->value map, recognise its config, check it strictly."""
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
    config = _config_from_keys(entries, prefix)
    if config is None:
        raise WeightsError(f"{source}: unrecognised LaMa configuration (neither big-lama nor lama-fourier)")
    layout = _layout(config)
    state = {key[len(prefix) :]: value for key, value in entries.items() if key.startswith(prefix)}
    missing = [key for key in layout if key not in state]
    if missing:
        raise WeightsError(
            f"{source}: {len(missing)} {config} weights missing, e.g. {', '.join(missing[:3])}"
        )
    unexpected += [prefix + key for key in state if key not in layout]
    if unexpected:
        raise WeightsError(f"{source}: unexpected entries, e.g. {', '.join(unexpected[:3])}")
    checked: dict[str, torch.Tensor] = {}
    for key, shape in layout.items():
        value = state[key]
        if not isinstance(value, torch.Tensor):
            raise WeightsError(f"{source}: {prefix}{key} is not a tensor")
        if tuple(value.shape) != shape:
            raise WeightsError(f"{source}: {prefix}{key} has shape {tuple(value.shape)}, expected {shape}")
        if key.endswith("num_batches_tracked"):
            checked[key] = value.to(torch.int64)
        elif value.is_floating_point():
            checked[key] = value.to(torch.float32)
        else:
            raise WeightsError(f"{source}: {prefix}{key} has dtype {value.dtype}, expected floating point")
    return config, checked


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(8 << 20):
            digest.update(block)
    return digest.hexdigest()


def _is_safetensors(path: Path) -> bool:
    """8-byte little-endian header length followed by a JSON object."""
    with open(path, "rb") as fh:
        head = fh.read(9)
    return len(head) == 9 and head[8:9] == b"{" and int.from_bytes(head[:8], "little") < (100 << 20)


def _entries_of_archive(archive: TorchArchive, source: str) -> tuple[dict[str, Any], str]:
    if archive.torchscript:
        return placeholder_tensors(archive.root), "torchscript"
    root = archive.root
    if isinstance(root, dict) and isinstance(root.get("state_dict"), dict):
        return dict(root["state_dict"]), "lightning-ckpt"
    if isinstance(root, dict):
        return dict(root), "state-dict"
    raise WeightsError(f"{source}: the checkpoint holds a {type(root).__name__}, not a state dict")


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
    if len(tops) != 1 or total > _MAX_ZIP_BYTES:
        raise WeightsError(f"{source}: not a LaMa model archive (expected one folder with models/best.ckpt)")
    top = tops.pop()
    names = {info.filename: info for info in infos}
    ckpt = names.get(f"{top}/models/best.ckpt")
    if ckpt is None or f"{top}/config.yaml" not in names:
        raise WeightsError(f"{source}: not a LaMa model archive (missing {top}/config.yaml or {top}/models/best.ckpt)")
    return ckpt


def _read_lama_zip(path: Path) -> dict[str, Any]:
    source = str(path)
    cache_dir = app_paths().cache_dir
    cache_dir.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path) as zf:
        member = _lama_zip_member(zf, source)
        fd, tmp_name = tempfile.mkstemp(prefix="best-", suffix=".ckpt", dir=cache_dir)
        tmp = Path(tmp_name)
        try:
            with os.fdopen(fd, "wb") as out, zf.open(member) as src:
                shutil.copyfileobj(src, out, 8 << 20)
            archive = read_torch_zip(tmp)
        finally:
            tmp.unlink(missing_ok=True)
    entries, _ = _entries_of_archive(archive, f"{source}:{member.filename}")
    return entries


def load_weights_file(path: str | os.PathLike[str]) -> LoadedWeights:
    """Read any supported weights file without executing code; the generator's config comes from its keys."""
    file = Path(path)
    source = str(file)
    if not file.is_file():
        raise WeightsError(f"{source}: no such file")
    try:
        if _is_safetensors(file):
            try:
                entries: dict[str, Any] = dict(safetensors.torch.load_file(file))
            except Exception as exc:  # noqa: BLE001 - safetensors raises its own error types
                raise WeightsError(f"{source}: unreadable safetensors file ({exc})") from None
            source_format = "safetensors"
        elif is_torch_zip(file):
            entries, source_format = _entries_of_archive(read_torch_zip(file), source)
        elif zipfile.is_zipfile(file):
            entries, source_format = _read_lama_zip(file), "lama-zip"
        else:
            raise WeightsError(
                f"{source}: unsupported format (expected .safetensors, a torch.save/Lightning "
                "checkpoint from torch >= 1.6, a TorchScript .pt or the official big-lama.zip)"
            )
    except OSError as exc:
        raise WeightsError(f"{source}: cannot read ({exc.strerror or exc})") from None
    except zipfile.BadZipFile as exc:
        raise WeightsError(f"{source}: damaged archive ({exc})") from None
    config, state_dict = _generator_state_dict(entries, source)
    return LoadedWeights(config, state_dict, source_format, _sha256(file))


# ---- building the generator ---------------------------------------------------------------------


def _build(config: str, state_dict: dict[str, torch.Tensor], source: str) -> torch.nn.Module:
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


# ---- the installed models (models_dir/<name>.safetensors) ---------------------------------------


def _models_dir() -> Path:
    return app_paths().models_dir


def _header(path: Path) -> tuple[dict[str, str], list[str]]:
    """Metadata and key names of a .safetensors file, reading only its header."""
    try:
        with safetensors.safe_open(str(path), framework="pt") as fh:
            return dict(fh.metadata() or {}), list(fh.keys())
    except Exception as exc:  # noqa: BLE001 - safetensors raises its own error types
        raise WeightsError(f"{path}: unreadable safetensors file ({exc})") from None


def _source_stamp(path: Path) -> dict[str, str]:
    """What identifies a source file cheaply, so a second --weights FILE finds its converted copy."""
    stat = path.stat()
    return {
        "source_path": str(path.resolve()),
        "source_size": str(stat.st_size),
        "source_mtime_ns": str(stat.st_mtime_ns),
    }


def _save_installed(loaded: LoadedWeights, name: str, metadata: dict[str, str]) -> Path:
    """Write ``models_dir/<name>.safetensors`` atomically with where it came from in its metadata."""
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
        f"{_META_PREFIX}name": name,
        f"{_META_PREFIX}config": loaded.config,
        f"{_META_PREFIX}source_format": loaded.source_format,
        f"{_META_PREFIX}source_sha256": loaded.sha256,
        f"{_META_PREFIX}created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        **{f"{_META_PREFIX}{k}": v for k, v in metadata.items()},
    }
    target = _models_dir() / f"{name}.safetensors"
    with atomic_write(target) as fh:
        fh.write(safetensors.torch.save(tensors, metadata=meta))
    log.info("Stored %s weights as %s", loaded.config, target)
    return target


def _valid_name(name: str) -> str:
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,80}", name) or name.endswith(".safetensors"):
        raise WeightsError(f"invalid model name {name!r} (letters, digits, '.', '_' and '-' only)")
    return name


def _default_name(path: Path, loaded: LoadedWeights) -> str:
    """The file's stem for telling names ('anime-manga-big-lama.pt'), the config for generic ones ('best.ckpt')."""
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", path.stem).strip("-.") or loaded.config
    if stem.lower() in _GENERIC_STEMS or not stem[0].isalnum():
        stem = loaded.config
    existing = _models_dir() / f"{stem}.safetensors"
    if existing.exists():
        meta, _ = _header(existing)
        if meta.get(f"{_META_PREFIX}source_sha256") not in (None, loaded.sha256):
            stem = f"{stem}-{loaded.sha256[:8]}"  # a different file of the same name: keep both
    return stem


def import_model(path: str | os.PathLike[str], name: str | None = None) -> Path:
    """Validate a file the user has (by loading it) and install it as ``<name>.safetensors``."""
    file = Path(path)
    if name is not None:
        _valid_name(name)
    loaded = load_weights_file(file)
    target_name = name or _default_name(file, loaded)
    target = _save_installed(loaded, target_name, {"source": str(file.resolve()), **_source_stamp(file)})
    _load_installed(target, time.perf_counter())  # verify what was written loads strictly
    return target


def _installed_entry(path: Path) -> InstalledModel | None:
    try:
        meta, keys = _header(path)
    except WeightsError as exc:
        log.warning("Ignoring %s", exc)
        return None
    config = meta.get(f"{_META_PREFIX}config") or _config_from_keys(keys) or _config_from_keys(keys, "generator.")
    return InstalledModel(
        name=meta.get(f"{_META_PREFIX}name", path.stem),
        config=config,
        path=path,
        size_bytes=path.stat().st_size,
        installed=True,
        source=meta.get(f"{_META_PREFIX}source", meta.get(f"{_META_PREFIX}source_path", "")),
        sha256=meta.get(f"{_META_PREFIX}source_sha256", ""),
    )


def _rank(model: InstalledModel) -> tuple[int, str]:
    """big-lama itself first, then other big-lama weights, then lama-fourier."""
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
    models = _models_dir()
    if models.is_dir():
        found += sorted(p for p in models.iterdir() if p.is_file() and p.suffix in _CANDIDATE_SUFFIXES)
    hub = _torch_hub_checkpoints()
    found += [
        hub / spec.filename
        for spec in KNOWN_MODELS.values()
        if spec.filename.endswith(".pt") and (hub / spec.filename).is_file()
    ]
    return found


def installed_models() -> list[InstalledModel]:
    """Converted models (best first), then candidates found on disk that were not imported yet."""
    models_dir = _models_dir()
    installed: list[InstalledModel] = []
    if models_dir.is_dir():
        for path in sorted(models_dir.glob("*.safetensors")):
            entry = _installed_entry(path)
            if entry is not None:
                installed.append(entry)
    installed.sort(key=_rank)
    candidates = []
    for path in find_existing_weights():
        if _cached_conversion(path) is not None:
            continue
        known = next((spec for spec in KNOWN_MODELS.values() if spec.filename == path.name), None)
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


def _cached_conversion(path: Path) -> Path | None:
    """The installed .safetensors made from exactly this file (same path, size and mtime), if any."""
    models_dir = _models_dir()
    if not models_dir.is_dir():
        return None
    stamp = {f"{_META_PREFIX}{k}": v for k, v in _source_stamp(path).items()}
    for candidate in sorted(models_dir.glob("*.safetensors")):
        try:
            meta, _ = _header(candidate)
        except WeightsError:
            continue
        if all(meta.get(k) == v for k, v in stamp.items()):
            return candidate
    return None


def _load_installed(path: Path, started: float) -> tuple[torch.nn.Module, ModelInfo]:
    """The fast path: our own .safetensors, no hashing, no pickle, no random init."""
    meta, _ = _header(path)
    try:
        # One sequential read: load_file's memory map is lazy, and the first pass over the weights
        # (BatchNorm folding, casting) then pays ~50k page faults, twice the time of this read.
        tensors = safetensors.torch.load(path.read_bytes())
    except Exception as exc:  # noqa: BLE001 - safetensors raises its own error types
        raise WeightsError(f"{path}: unreadable safetensors file ({exc})") from None
    config = meta.get(f"{_META_PREFIX}config")
    if config not in CONFIGS:
        raise WeightsError(f"{path}: unknown configuration {config!r} in its metadata")
    generator = _build(config, tensors, str(path))
    info = ModelInfo(
        name=meta.get(f"{_META_PREFIX}name", path.stem),
        config=config,
        path=path,
        source_format=meta.get(f"{_META_PREFIX}source_format", "safetensors"),
        sha256=meta.get(f"{_META_PREFIX}source_sha256", ""),
        load_seconds=time.perf_counter() - started,
    )
    return generator, info


def load_generator(
    path: str | os.PathLike[str] | None = None, config: str | None = None
) -> tuple[torch.nn.Module, ModelInfo]:
    """The generator ready for inference (eval, float32, CPU) and what was loaded.

    ``path`` None picks the best installed model (``config`` narrows the choice); when none is
    installed, weights found on disk (IOPaint's cache) are converted first. Any other file is
    converted to ``models_dir/<name>.safetensors`` on its first load so the next start is fast.
    """
    started = time.perf_counter()
    if config is not None and config not in CONFIGS:
        raise WeightsError(f"unknown configuration {config!r}; expected one of {', '.join(CONFIGS)}")
    if path is None:
        return _load_best(config, started)
    file = Path(path)
    if not file.is_file():
        raise WeightsError(f"{file}: no such file")
    if _is_safetensors(file) and f"{_META_PREFIX}config" in _header(file)[0]:
        generator, info = _load_installed(file, started)
    elif (cached := _cached_conversion(file)) is not None:
        log.info("Using %s, converted earlier from %s", cached, file)
        generator, info = _load_installed(cached, started)
    else:
        loaded = load_weights_file(file)
        if config is not None and loaded.config != config:
            raise WeightsError(f"{file}: holds {loaded.config} weights, not {config}")
        generator = _build(loaded.config, loaded.state_dict, str(file))
        stored = file
        if loaded.source_format != "safetensors":
            try:
                name = _default_name(file, loaded)
                stored = _save_installed(loaded, name, {"source": str(file.resolve()), **_source_stamp(file)})
            except (OSError, WeightsError) as exc:
                log.warning("Could not store a fast-loading copy of %s: %s", file, exc)
        elapsed = time.perf_counter() - started
        info = ModelInfo(stored.stem, loaded.config, stored, loaded.source_format, loaded.sha256, elapsed)
    if config is not None and info.config != config:
        raise WeightsError(f"{file}: holds {info.config} weights, not {config}")
    log.info("Loaded %s (%s) from %s in %.2f s", info.name, info.config, info.path, info.load_seconds)
    return generator, info


def _load_best(config: str | None, started: float) -> tuple[torch.nn.Module, ModelInfo]:
    everything = installed_models()
    for model in everything:
        if model.installed and (config is None or model.config == config):
            return _load_installed(model.path, started)
    for model in everything:
        if not model.installed and (config is None or model.config in (None, config)):
            try:
                target = import_model(model.path)
            except WeightsError as exc:
                log.warning("Skipping %s", exc)
                continue
            generator, info = _load_installed(target, started)
            if config is None or info.config == config:
                log.info("Imported %s from %s", info.name, model.path)
                return generator, info
    wanted = f"{config} " if config else ""
    raise NoWeightsError(
        f"no {wanted}LaMa weights installed; run `lamapaint-cli models download big-lama` "
        "(or `lamapaint-cli models import FILE` for a file you have)"
    )


# ---- downloading -----------------------------------------------------------------------------------


def _url_for(spec: KnownModel, url_override: str | None) -> str:
    env = "LAMAPAINT_MODEL_URL_" + re.sub(r"[^A-Z0-9]", "_", spec.name.upper())
    return url_override or os.environ.get(env) or spec.url


def download_model(
    name: str,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
    url_override: str | None = None,
) -> Path:
    """Download a known model, verify it, convert it and return the installed ``.safetensors``.

    Resumes a partial download; a cancel raises :class:`lamapaint.jobs.Cancelled` and keeps it.
    """
    spec = KNOWN_MODELS.get(name)
    if spec is None:
        raise WeightsError(f"unknown model {name!r}; known: {', '.join(KNOWN_MODELS)}")
    report = progress or no_progress
    url = _url_for(spec, url_override)
    downloads = app_paths().cache_dir / "downloads"
    fetched = fetch(
        url,
        downloads / spec.filename,
        md5=spec.md5,
        sha256=spec.sha256,
        progress=lambda fraction, message: report(0.9 * fraction, f"Downloading {name}: {message}"),
        cancel=cancel,
    )
    report(0.9, f"Verifying {name}")
    try:
        loaded = load_weights_file(fetched.path)
        if loaded.config != spec.config:
            raise WeightsError(f"{url}: holds {loaded.config} weights, expected {spec.config}")
        target = _save_installed(
            loaded, spec.name, {"source": url, "source_md5": fetched.md5, "source_size": str(fetched.size)}
        )
        _load_installed(target, time.perf_counter())  # verify what was written loads strictly
    finally:
        fetched.path.unlink(missing_ok=True)
    report(1.0, f"Installed {name}")
    return target
