"""Fast-loading copies of weights files used once (``--weights FILE``, the editor's file choice).

Converting a checkpoint takes ~1 s and hashing it more, so the converted ``.safetensors`` is kept,
but in the cache folder (``cache_dir/converted``), not among the installed models: using a file
never changes what ``auto`` picks (``lamapaint-cli models import`` installs). The cache holds at
most :data:`MAX_COPIES` copies and :data:`MAX_BYTES` in all; the least recently used go first.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from lamapaint.models.store import LoadedWeights, find_by_stamp, name_for_file, source_stamp, write_safetensors
from lamapaint.settings import app_paths

log = logging.getLogger(__name__)

MAX_COPIES = 2
MAX_BYTES = 1 << 30


def cache_folder() -> Path:
    return app_paths().cache_dir / "converted"


def cached_copy(path: Path) -> Path | None:
    """The copy converted from exactly this file (same path, size, mtime), marked as just used."""
    copy = find_by_stamp(cache_folder(), path)
    if copy is not None:
        try:
            os.utime(copy)
        except OSError as exc:
            log.debug("cannot touch %s: %s", copy, exc)
    return copy


def store_copy(loaded: LoadedWeights, path: Path) -> Path:
    """Write the converted copy of ``path``, then evict the least recently used beyond the bounds."""
    name = name_for_file(path, loaded.config)
    target = cache_folder() / f"{name}-{loaded.sha256[:12]}.safetensors"
    write_safetensors(loaded, target, name, {"source": str(path.resolve()), **source_stamp(path)})
    evict(keep=target)
    return target


def evict(keep: Path | None = None) -> list[Path]:
    """Delete the least recently used copies until at most MAX_COPIES and MAX_BYTES remain (``keep`` stays)."""
    entries = []
    for copy in cache_folder().glob("*.safetensors"):
        try:
            stat = copy.stat()
        except OSError:
            continue
        entries.append((copy != keep, -stat.st_mtime_ns, stat.st_size, copy))
    entries.sort()  # keep first, then the most recently used
    removed = []
    count = total = 0
    for _, _, size, copy in entries:
        if copy == keep or (count < MAX_COPIES and total + size <= MAX_BYTES):
            count += 1
            total += size
            continue
        try:
            copy.unlink()
            removed.append(copy)
            log.info("Evicted the converted copy %s", copy)
        except OSError as exc:
            log.warning("Could not evict %s: %s", copy, exc)
    return removed
