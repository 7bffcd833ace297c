"""Downloads against a real HTTP server on 127.0.0.1: resume, checksums, errors, cancel, end to end."""

from __future__ import annotations

import errno
import hashlib
import os
import socket
from pathlib import Path

import pytest
import torch

from lamapaint.inpaint import weights
from lamapaint.models import download
from lamapaint.inpaint.lama import build_generator
from lamapaint.models.download import ChecksumError, DownloadError, fetch
from lamapaint.inpaint.weights import KnownModel, deterministic_state_dict, download_model, load_generator
from lamapaint.jobs import CancelToken, Cancelled
from lamapaint.settings import app_paths
from tests.inpaint.test_weights_support import ServerState, http_server

PAYLOAD = os.urandom(3 * (1 << 20) + 12345)
PAYLOAD_MD5 = hashlib.md5(PAYLOAD).hexdigest()


@pytest.fixture(autouse=True)
def no_user_caches(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch-home"))


@pytest.fixture
def state() -> ServerState:
    return ServerState(files={"/model.bin": PAYLOAD})


@pytest.fixture
def base_url(state: ServerState):  # type: ignore[no-untyped-def]
    with http_server(state) as url:
        yield url


@pytest.fixture
def test_model(monkeypatch: pytest.MonkeyPatch) -> KnownModel:
    """A KNOWN_MODELS entry that exists only in this test."""
    spec = KnownModel(
        name="test-model", url="http://127.0.0.1:9/unused", filename="model.bin", config="lama-fourier",
        md5=PAYLOAD_MD5, sha256=None, size=None, description="test", license="test",
    )
    monkeypatch.setitem(weights.KNOWN_MODELS, spec.name, spec)
    return spec


def test_fetch_verifies_and_renames(tmp_path: Path, base_url: str) -> None:
    reports: list[tuple[float, str]] = []
    dest = tmp_path / "model.bin"
    result = fetch(f"{base_url}/model.bin", dest, md5=PAYLOAD_MD5, progress=lambda f, m: reports.append((f, m)))
    assert dest.read_bytes() == PAYLOAD
    assert not (tmp_path / "model.bin.part").exists()
    assert result.sha256 == hashlib.sha256(PAYLOAD).hexdigest() and result.size == len(PAYLOAD)
    fractions = [f for f, _ in reports]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert "MB/s" in reports[-1][1] and "of 3.2 MB" in reports[-1][1]


def test_resume_continues_with_range(tmp_path: Path, base_url: str, state: ServerState) -> None:
    dest = tmp_path / "model.bin"
    (tmp_path / "model.bin.part").write_bytes(PAYLOAD[:1_000_000])
    fetch(f"{base_url}/model.bin", dest, md5=PAYLOAD_MD5)
    assert dest.read_bytes() == PAYLOAD
    assert state.ranges_seen == ["bytes=1000000-"]


def test_server_ignoring_range_restarts(tmp_path: Path, base_url: str, state: ServerState) -> None:
    state.honour_range = False
    dest = tmp_path / "model.bin"
    (tmp_path / "model.bin.part").write_bytes(PAYLOAD[:1_000_000])
    fetch(f"{base_url}/model.bin", dest, md5=PAYLOAD_MD5)
    assert dest.read_bytes() == PAYLOAD


def test_oversized_partial_restarts_after_416(tmp_path: Path, base_url: str, state: ServerState) -> None:
    dest = tmp_path / "model.bin"
    (tmp_path / "model.bin.part").write_bytes(PAYLOAD + b"junk")
    fetch(f"{base_url}/model.bin", dest, md5=PAYLOAD_MD5)
    assert dest.read_bytes() == PAYLOAD
    assert state.ranges_seen == [f"bytes={len(PAYLOAD) + 4}-", None]


def test_dropped_connection_is_resumed(tmp_path: Path, base_url: str, state: ServerState) -> None:
    state.drop_after, state.drops_left = 500_000, 1
    dest = tmp_path / "model.bin"
    fetch(f"{base_url}/model.bin", dest, md5=PAYLOAD_MD5)
    assert dest.read_bytes() == PAYLOAD
    assert state.ranges_seen == [None, "bytes=500000-"]


def test_connection_that_keeps_dropping_fails_and_keeps_partial(tmp_path: Path, base_url: str, state: ServerState) -> None:
    state.drop_after, state.drops_left = 300_000, 100
    dest = tmp_path / "model.bin"
    with pytest.raises(DownloadError, match="run the same command again to resume"):
        fetch(f"{base_url}/model.bin", dest, md5=PAYLOAD_MD5)
    part = tmp_path / "model.bin.part"
    assert part.stat().st_size == download.ATTEMPTS * 300_000
    state.drops_left = 0
    fetch(f"{base_url}/model.bin", dest, md5=PAYLOAD_MD5)
    assert dest.read_bytes() == PAYLOAD


def test_bad_checksum_deletes_the_partial(base_url: str, test_model: KnownModel, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(weights.KNOWN_MODELS, "test-model", KnownModel(**{**test_model.__dict__, "md5": "0" * 32}))
    with pytest.raises(ChecksumError, match="md5 mismatch"):
        download_model("test-model", url_override=f"{base_url}/model.bin")
    downloads = app_paths().cache_dir / "downloads"
    assert list(downloads.iterdir()) == []


def test_http_error_is_one_line(base_url: str, test_model: KnownModel) -> None:
    with pytest.raises(DownloadError, match=r"HTTP 404 Not Found$"):
        download_model("test-model", url_override=f"{base_url}/missing.bin")


def test_no_network_is_a_clear_error(test_model: KnownModel) -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(DownloadError, match="cannot reach 127.0.0.1.*check the network connection"):
        download_model("test-model", url_override=f"http://127.0.0.1:{port}/model.bin")


def test_disk_full_is_a_clear_error(tmp_path: Path, base_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    def full(fh: object, data: bytes) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(download, "_write_all", full)
    with pytest.raises(DownloadError, match="disk full while writing .*model.bin.part"):
        fetch(f"{base_url}/model.bin", tmp_path / "model.bin")
    assert not (tmp_path / "model.bin").exists()


def test_cancel_keeps_the_partial_for_later(base_url: str, test_model: KnownModel) -> None:
    token = CancelToken()
    with pytest.raises(Cancelled):
        download_model("test-model", progress=lambda f, m: token.cancel(), cancel=token, url_override=f"{base_url}/model.bin")
    part = app_paths().cache_dir / "downloads" / "model.bin.part"
    assert 0 < part.stat().st_size < len(PAYLOAD)


def test_environment_variable_overrides_the_url(
    base_url: str, test_model: KnownModel, state: ServerState, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LAMAPAINT_MODEL_URL_TEST_MODEL", f"{base_url}/elsewhere.bin")
    with pytest.raises(DownloadError, match="elsewhere.bin: HTTP 404"):
        download_model("test-model")
    assert state.ranges_seen == [None]


def test_unknown_model_name() -> None:
    with pytest.raises(weights.WeightsError, match="unknown model 'nope'; known: big-lama"):
        download_model("nope")


def test_end_to_end_download_converts_and_loads(
    tmp_path: Path, state: ServerState, monkeypatch: pytest.MonkeyPatch
) -> None:
    sd = deterministic_state_dict("lama-fourier")
    ckpt = tmp_path / "best.ckpt"
    torch.save({"state_dict": {"generator." + k: v for k, v in sd.items()}, "epoch": 3}, ckpt)
    data = ckpt.read_bytes()
    state.files["/lama-fourier.ckpt"] = data
    spec = KnownModel(
        name="lama-fourier", url="http://127.0.0.1:9/unused", filename="lama-fourier.ckpt", config="lama-fourier",
        md5=hashlib.md5(data).hexdigest(), sha256=hashlib.sha256(data).hexdigest(), size=len(data),
        description="test", license="Apache-2.0",
    )
    monkeypatch.setitem(weights.KNOWN_MODELS, spec.name, spec)
    reports: list[float] = []
    with http_server(state) as url:
        installed = download_model("lama-fourier", progress=lambda f, m: reports.append(f), url_override=f"{url}/lama-fourier.ckpt")
    assert installed == app_paths().models_dir / "lama-fourier.safetensors"
    assert reports[-1] == 1.0
    assert list((app_paths().cache_dir / "downloads").iterdir()) == []
    generator, info = load_generator()
    assert (info.path, info.sha256, info.source_format) == (installed, spec.sha256, "lightning-ckpt")
    [model] = weights.installed_models()
    assert model.source == f"{url}/lama-fourier.ckpt"
    reference = build_generator("lama-fourier")
    reference.load_state_dict(sd)
    x = torch.rand(1, 4, 32, 32, generator=torch.Generator().manual_seed(0))
    with torch.inference_mode():
        assert torch.equal(generator(x), reference(x))
