"""Downloading a catalogue LaMa model, verifying it and installing it."""

from __future__ import annotations

import time
from pathlib import Path

from lamapaint.inpaint.types import WeightsError
from lamapaint.inpaint.weights.checkpoints import load_weights_file
from lamapaint.inpaint.weights.model_store import load_converted
from lamapaint.jobs import CancelToken, ProgressCallback
from lamapaint.models.catalogue import KnownModel
from lamapaint.models.download import FetchResult
from lamapaint.models.families import LAMA
from lamapaint.models.install import download_and_install, known_model
from lamapaint.models.store import save_installed


def download_model(
    name: str,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
    url_override: str | None = None,
) -> Path:
    """Download a known model, verify it, convert it and return the installed ``.safetensors``.

    Resumes a partial download; a cancel raises :class:`lamapaint.jobs.Cancelled` and keeps it.
    """
    spec = known_model(name, LAMA)

    def install(file: Path, url: str, fetched: FetchResult) -> Path:
        return _install(spec, file, url, fetched)

    return download_and_install(spec, install, progress, cancel, url_override)


def _install(spec: KnownModel, file: Path, url: str, fetched: FetchResult) -> Path:
    loaded = load_weights_file(file)
    if loaded.config != spec.config:
        raise WeightsError(f"{url}: holds {loaded.config} weights, expected {spec.config}")
    target = save_installed(loaded, spec.name, {"source": url, "source_md5": fetched.md5, "source_size": str(fetched.size)})
    load_converted(target, time.perf_counter())  # verify what was written loads strictly
    return target
