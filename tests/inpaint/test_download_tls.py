"""Model downloads verify HTTPS against certifi's CA bundle (bundles have no usable system paths)."""

from __future__ import annotations

import ssl
import urllib.request
from pathlib import Path

import certifi
import pytest

from lamapaint.models import download


@pytest.fixture(autouse=True)
def no_cert_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)


def _spy_contexts(monkeypatch: pytest.MonkeyPatch) -> list[dict]:
    calls: list[dict] = []
    real = ssl.create_default_context

    def spy(*args: object, **kwargs: object) -> ssl.SSLContext:
        calls.append(kwargs)
        return real(*args, **kwargs)

    monkeypatch.setattr(download.ssl, "create_default_context", spy)
    return calls


def test_context_verifies_against_certifi(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _spy_contexts(monkeypatch)
    context = download.ssl_context()
    assert calls == [{"cafile": certifi.where()}]
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    reference = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    reference.load_verify_locations(cafile=certifi.where())
    assert len(context.get_ca_certs()) == len(reference.get_ca_certs()) > 50


def test_ssl_cert_file_overrides_certifi(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", certifi.where())  # any valid bundle: a company proxy's CA
    calls = _spy_contexts(monkeypatch)
    download.ssl_context()
    assert calls == [{"cafile": certifi.where(), "capath": None}]


def test_fetch_opens_urls_with_that_context(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[str, object] = {}

    def fake_urlopen(request: urllib.request.Request, timeout: float, context: ssl.SSLContext | None = None) -> None:
        seen["context"] = context
        raise OSError("stop here")

    monkeypatch.setattr(download.urllib.request, "urlopen", fake_urlopen)
    with pytest.raises(download.DownloadError):
        download.fetch("https://example.invalid/model.bin", tmp_path / "model.bin")
    context = seen["context"]
    assert isinstance(context, ssl.SSLContext) and context.verify_mode == ssl.CERT_REQUIRED
