"""Resumable, verified HTTP downloads with urllib (no third-party HTTP stack).

A download goes to ``<dest>.part``; an interrupted one resumes with an HTTP ``Range`` request (a
server that ignores it sends the whole file again and we restart). Only when the bytes are complete
and their checksums match does the file get renamed to ``dest`` in one step. Nothing here exits the
process: every failure is a one-line :class:`DownloadError`. HTTPS is verified against certifi's CA
bundle (see :func:`ssl_context`).
"""

from __future__ import annotations

import errno
import hashlib
import http.client
import logging
import os
import re
import ssl
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import certifi

from lamapaint._version import __version__
from lamapaint.models.errors import ChecksumError, DownloadError
from lamapaint.jobs import CancelToken, ProgressCallback

log = logging.getLogger(__name__)

CHUNK_BYTES = 1 << 20
TIMEOUT_SECONDS = 30.0
ATTEMPTS = 3  # a dropped connection is resumed this many times in all before giving up


class _ConnectionLost(Exception):
    """The transfer stopped early; resumable."""


@dataclass(frozen=True)
class FetchResult:
    path: Path
    size: int
    md5: str
    sha256: str


def ssl_context() -> ssl.SSLContext:
    """Certificate verification that works wherever lamapaint runs.

    OpenSSL's default CA paths are the build machine's in a frozen bundle and empty in python.org's
    macOS Python, so the certificates come from certifi, which ships with lamapaint. SSL_CERT_FILE or
    SSL_CERT_DIR, when set (a company proxy's CA), are used instead.
    """
    cafile, capath = os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR")
    if cafile or capath:
        return ssl.create_default_context(cafile=cafile or None, capath=capath or None)
    return ssl.create_default_context(cafile=certifi.where())


def file_digests(path: Path, chunk: int = 8 << 20) -> tuple[str, str]:
    """(md5, sha256) of a file, read once."""
    md5, sha = hashlib.md5(usedforsecurity=False), hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            md5.update(block)
            sha.update(block)
    return md5.hexdigest(), sha.hexdigest()


def fetch(
    url: str,
    dest: Path,
    *,
    md5: str | None = None,
    sha256: str | None = None,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
) -> FetchResult:
    """Download ``url`` to ``dest`` (resuming ``dest.part``), verify, rename. Cancel keeps the partial."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    for attempt in range(1, ATTEMPTS + 1):
        try:
            _fetch_once(url, part, progress, cancel)
            break
        except _ConnectionLost as exc:
            if attempt == ATTEMPTS:
                raise DownloadError(
                    f"download of {url} failed: {exc}; run the same command again to resume"
                ) from None
            log.warning("Download of %s interrupted (%s); resuming (attempt %d of %d)", url, exc, attempt + 1, ATTEMPTS)
    got_md5, got_sha = file_digests(part)
    for kind, expected, got in (("md5", md5, got_md5), ("sha256", sha256, got_sha)):
        if expected and expected.lower() != got:
            part.unlink(missing_ok=True)
            raise ChecksumError(f"{url}: {kind} mismatch (expected {expected}, got {got}); the file was deleted")
    size = part.stat().st_size
    os.replace(part, dest)
    log.info("Downloaded %s (%d bytes, sha256 %s)", url, size, got_sha)
    return FetchResult(dest, size, got_md5, got_sha)


def _fetch_once(url: str, part: Path, progress: ProgressCallback | None, cancel: CancelToken | None) -> None:
    start = part.stat().st_size if part.exists() else 0
    headers = {"User-Agent": f"lamapaint/{__version__}"}
    if start:
        headers["Range"] = f"bytes={start}-"
    request = urllib.request.Request(url, headers=headers)
    host = urllib.parse.urlsplit(url).netloc or url
    try:
        response = urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS, context=ssl_context())
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and start:
            # Our partial file is not a prefix the server can continue: start over.
            part.unlink(missing_ok=True)
            raise _ConnectionLost("server refused to resume; restarting") from None
        raise DownloadError(f"{url}: HTTP {exc.code} {exc.reason}") from None
    except urllib.error.URLError as exc:
        raise DownloadError(f"cannot reach {host} ({exc.reason}); check the network connection") from None
    except (TimeoutError, OSError) as exc:
        raise DownloadError(f"cannot reach {host} ({exc}); check the network connection") from None
    with response:
        mode = "wb"
        if start and response.status == 206 and _range_start(response.headers.get("Content-Range")) == start:
            mode = "ab"
        else:
            if start:
                log.info("Server ignored the resume request for %s; downloading from the start", url)
            start = 0
        length = response.headers.get("Content-Length")
        total = start + int(length) if length and length.isdigit() else None
        done = start
        began, last_report = time.monotonic(), 0.0
        try:
            fh = open(part, mode, buffering=0)  # noqa: SIM115 - opened apart from the with, to word an OSError
        except OSError as exc:
            raise DownloadError(f"cannot write {part}: {exc.strerror or exc}") from None
        with fh:
            while True:
                if cancel is not None:
                    cancel.raise_if_cancelled()
                try:
                    chunk = response.read(CHUNK_BYTES)
                except (http.client.HTTPException, OSError) as exc:
                    raise _ConnectionLost(f"connection lost after {done / 1e6:.1f} MB ({type(exc).__name__})") from None
                if not chunk:
                    break
                _write(fh, chunk, part)
                done += len(chunk)
                now = time.monotonic()
                if progress is not None and (now - last_report >= 0.1 or done == total):
                    last_report = now
                    progress(done / total if total else 0.0, _describe(done, total, start, now - began))
    if total is not None and done < total:
        raise _ConnectionLost(f"connection closed after {done / 1e6:.1f} of {total / 1e6:.1f} MB")


def _write_all(fh: BinaryIO, data: bytes) -> None:
    """Unbuffered writes may be short; loop so that ENOSPC surfaces here, not at close."""
    view = memoryview(data)
    while view:
        written = fh.write(view)
        if not written:
            raise OSError(errno.ENOSPC, "no bytes written")
        view = view[written:]


def _write(fh: BinaryIO, chunk: bytes, part: Path) -> None:
    try:
        _write_all(fh, chunk)
    except OSError as exc:
        if exc.errno == errno.ENOSPC:
            raise DownloadError(
                f"disk full while writing {part}; free some space and run again to resume"
            ) from None
        raise DownloadError(f"cannot write {part}: {exc.strerror or exc}") from None


def _range_start(content_range: str | None) -> int | None:
    match = re.fullmatch(r"bytes (\d+)-\d+/(\d+|\*)", (content_range or "").strip())
    return int(match.group(1)) if match else None


def _describe(done: int, total: int | None, resumed_from: int, seconds: float) -> str:
    speed = (done - resumed_from) / seconds / 1e6 if seconds > 0 else 0.0
    of = f" of {total / 1e6:.1f}" if total else ""
    return f"{done / 1e6:.1f}{of} MB, {speed:.1f} MB/s"
