"""The installed-model store both families share: ``models_dir/<name>.safetensors`` with where each came from.

An installed file's metadata (``lamapaint_*``) names its configuration (``big-lama``, ``vit_t``,
...), hence its family (:mod:`lamapaint.models.families`), its source and the source's sha256.
Writing is atomic; reading a header reads no tensor.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import stat
import time
import zipfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Iterator

import safetensors
import safetensors.torch
import torch

from lamapaint.io.atomic import atomic_write
from lamapaint.models.errors import WeightsError
from lamapaint.settings import app_paths

log = logging.getLogger(__name__)

META_PREFIX = "lamapaint_"
#: A safetensors header lists names, dtypes and offsets (~100 KB for big-lama).
MAX_SAFETENSORS_HEADER = 16 << 20
#: File stems that say nothing about the model; imports named so get the configuration's name.
_GENERIC_STEMS = frozenset({"best", "last", "model", "checkpoint", "weights", "generator", "state_dict"})


@dataclass(frozen=True)
class LoadedWeights:
    """A checked state dict read from a file, and what it was."""

    config: str
    state_dict: dict[str, torch.Tensor]
    source_format: str  # safetensors | lightning-ckpt | state-dict | torchscript | lama-zip
    sha256: str


def open_regular(path: Path) -> BinaryIO:
    """``path`` opened for reading if it is a regular file (after symlinks); a FIFO, a device or a
    socket raises WeightsError without blocking: opened non-blocking, checked on the descriptor."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise WeightsError(f"{path}: not a regular file (a folder, device, pipe or socket)")
    except BaseException:
        os.close(fd)
        raise
    return os.fdopen(fd, "rb")


@contextmanager
def reading_weights(file: Path) -> Iterator[None]:
    """Read a weights file inside this: it must be a regular file, and whatever reading it raises
    (OSError, a damaged zip, a parser's own error types) becomes one WeightsError line."""
    source = str(file)
    try:
        if not file.is_file():
            raise WeightsError(f"{source}: {'not a regular file' if file.exists() else 'no such file'}")
        yield
    except WeightsError:
        raise
    except OSError as exc:
        raise WeightsError(f"{source}: cannot read ({exc.strerror or exc})") from None
    except zipfile.BadZipFile as exc:
        raise WeightsError(f"{source}: damaged archive ({exc})") from None
    except Exception as exc:  # noqa: BLE001 - safetensors, zipfile and zlib raise many types on damaged files
        log.debug("reading %s failed", source, exc_info=True)
        raise WeightsError(f"{source}: damaged or unsupported weights file ({type(exc).__name__}: {exc})") from None


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open_regular(path) as fh:
        while block := fh.read(8 << 20):
            digest.update(block)
    return digest.hexdigest()


def is_safetensors(path: Path) -> bool:
    """8-byte little-endian header length followed by a JSON object (WeightsError: not a regular file)."""
    with open_regular(path) as fh:
        head = fh.read(9)
    return len(head) == 9 and head[8:9] == b"{" and int.from_bytes(head[:8], "little") <= MAX_SAFETENSORS_HEADER


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


def valid_name(name: str) -> str:
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,80}", name) or name.endswith(".safetensors"):
        raise WeightsError(f"invalid model name {name!r} (letters, digits, '.', '_' and '-' only)")
    return name


def name_for_file(path: Path, config: str) -> str:
    """The file's stem for telling names ('anime-manga-big-lama.pt'), the config for generic ones ('best.ckpt')."""
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", path.stem).strip("-.")[:64] or config
    if stem.lower() in _GENERIC_STEMS or not stem[0].isalnum():
        stem = config
    return stem


def install_name(path: Path, loaded: LoadedWeights) -> str:
    """:func:`name_for_file`, with the source's hash added when another file already has that name."""
    stem = name_for_file(path, loaded.config)
    existing = models_dir() / f"{stem}.safetensors"
    if existing.exists():
        meta, _ = read_header(existing)
        if meta.get(f"{META_PREFIX}source_sha256") not in (None, loaded.sha256):
            stem = f"{stem}-{loaded.sha256[:8]}"  # a different file of the same name: keep both
    return stem
