"""Downloading a catalogue model, verifying it and installing it."""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

from lamapaint.inpaint.download import fetch
from lamapaint.inpaint.types import WeightsError
from lamapaint.inpaint.weights.catalogue import KNOWN_MODELS, KnownModel
from lamapaint.inpaint.weights.checkpoints import load_weights_file
from lamapaint.inpaint.weights.model_store import load_converted, save_installed
from lamapaint.jobs import CancelToken, ProgressCallback, no_progress
from lamapaint.settings import app_paths


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
        target = save_installed(
            loaded, spec.name, {"source": url, "source_md5": fetched.md5, "source_size": str(fetched.size)}
        )
        load_converted(target, time.perf_counter())  # verify what was written loads strictly
    finally:
        fetched.path.unlink(missing_ok=True)
    report(1.0, f"Installed {name}")
    return target
