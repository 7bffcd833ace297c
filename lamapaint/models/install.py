"""Downloading a catalogue entry and handing the verified file to its family's installer."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Callable

from lamapaint.jobs import CancelToken, ProgressCallback, no_progress
from lamapaint.models.catalogue import KNOWN_MODELS, KnownModel
from lamapaint.models.download import FetchResult, fetch
from lamapaint.models.errors import WeightsError
from lamapaint.settings import app_paths

#: ``install(file, url, fetched)``: check the downloaded file, install it, return the installed path.
Installer = Callable[[Path, str, FetchResult], Path]


def known_model(name: str, family: str | None = None) -> KnownModel:
    """The catalogue entry ``name`` (of ``family``, when given), or a one-line error listing the choices."""
    spec = KNOWN_MODELS.get(name)
    if spec is None or (family is not None and spec.family != family):
        choices = [n for n, s in KNOWN_MODELS.items() if family is None or s.family == family]
        raise WeightsError(f"unknown model {name!r}; known: {', '.join(choices)}")
    return spec


def url_for(spec: KnownModel, url_override: str | None) -> str:
    """``--url``, else ``LAMAPAINT_MODEL_URL_<NAME>`` (a mirror), else the catalogue's URL."""
    env = "LAMAPAINT_MODEL_URL_" + re.sub(r"[^A-Z0-9]", "_", spec.name.upper())
    return url_override or os.environ.get(env) or spec.url


def download_and_install(
    spec: KnownModel,
    install: Installer,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
    url_override: str | None = None,
) -> Path:
    """Download (resuming a partial one), verify the checksum, install; the download is deleted after.

    A cancel raises :class:`lamapaint.jobs.Cancelled` and keeps the partial file for the next try.
    """
    report = progress or no_progress
    url = url_for(spec, url_override)
    fetched = fetch(
        url,
        app_paths().cache_dir / "downloads" / spec.filename,
        md5=spec.md5,
        sha256=spec.sha256,
        progress=lambda fraction, message: report(0.9 * fraction, f"Downloading {spec.name}: {message}"),
        cancel=cancel,
    )
    report(0.9, f"Verifying {spec.name}")
    try:
        target = install(fetched.path, url, fetched)
    finally:
        fetched.path.unlink(missing_ok=True)
    report(1.0, f"Installed {spec.name}")
    return target
