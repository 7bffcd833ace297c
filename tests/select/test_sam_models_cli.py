"""SAM models through ``lamapaint-cli models`` and the download machinery, against a local HTTP server."""

from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path

import pytest

from lamapaint.cli import EXIT_MODEL, EXIT_NETWORK, EXIT_OK, main
from lamapaint.jobs import CancelToken, Cancelled
from lamapaint.models.catalogue import KNOWN_MODELS
from lamapaint.select.weights import download_sam, installed_sam_models
from lamapaint.settings import app_paths
from tests.inpaint.test_weights_support import ServerState, http_server


@pytest.fixture(autouse=True)
def no_user_caches(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch-home"))


@pytest.fixture
def served(mobile_sam_file: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """The deterministic file served as mobile-sam, the catalogue's checksum set to its md5."""
    data = mobile_sam_file.read_bytes()
    spec = dataclasses.replace(KNOWN_MODELS["mobile-sam"], md5=hashlib.md5(data).hexdigest())
    monkeypatch.setitem(KNOWN_MODELS, "mobile-sam", spec)
    state = ServerState(files={"/mobile_sam.pt": data})
    with http_server(state) as url:
        monkeypatch.setenv("LAMAPAINT_MODEL_URL_MOBILE_SAM", f"{url}/mobile_sam.pt")
        yield state, data


def test_catalogue_has_the_four_official_files_with_md5s() -> None:
    md5s = {name: (KNOWN_MODELS[name].config, KNOWN_MODELS[name].md5) for name in ("mobile-sam", "sam-vit-b", "sam-vit-l", "sam-vit-h")}
    assert md5s == {
        "mobile-sam": ("vit_t", "f3c0d8cda613564d499310dab6c812cd"),
        "sam-vit-b": ("vit_b", "01ec64d29a2fca3f0661936605ae66f8"),
        "sam-vit-l": ("vit_l", "0b3195507c641ddb6910d2bb5adee89c"),
        "sam-vit-h": ("vit_h", "4b8939a88964f0f4ff5f5b2642c598a6"),
    }
    assert all(KNOWN_MODELS[name].family == "sam" for name in md5s)


def test_download_installs_and_lists(served, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    assert main(["models", "download", "mobile-sam"]) == EXIT_OK
    captured = capsys.readouterr()
    target = app_paths().models_dir / "mobile-sam.safetensors"
    assert f"Installed mobile-sam (vit_t) as {target}" in captured.out
    assert captured.err.splitlines()[-1] == "100% Installed mobile-sam"
    assert any("Downloading mobile-sam:" in line and "MB/s" in line for line in captured.err.splitlines())
    assert not list((app_paths().cache_dir / "downloads").iterdir())  # the download is not kept
    assert main(["models", "list"]) == EXIT_OK
    out = capsys.readouterr().out
    selection = out.split("Selection models")[1].split("Available to download")[0]
    assert "mobile-sam" in selection and "vit_t" in selection
    assert "none: run `lamapaint-cli models download big-lama`" in out  # no LaMa model came with it
    available = out.split("Available to download")[1]
    assert all(f"  {name} " in available for name in ("big-lama", "mobile-sam", "sam-vit-b", "sam-vit-l", "sam-vit-h"))


def test_download_resumes_a_partial_file(served) -> None:  # type: ignore[no-untyped-def]
    state, data = served
    part = app_paths().cache_dir / "downloads" / "mobile_sam.pt.part"
    part.parent.mkdir(parents=True)
    part.write_bytes(data[:1_000_000])
    assert download_sam("mobile-sam") == app_paths().models_dir / "mobile-sam.safetensors"
    assert state.ranges_seen == ["bytes=1000000-"]


def test_cancel_keeps_the_partial(served) -> None:  # type: ignore[no-untyped-def]
    token = CancelToken()
    with pytest.raises(Cancelled):
        download_sam("mobile-sam", progress=lambda f, m: token.cancel(), cancel=token)
    assert (app_paths().cache_dir / "downloads" / "mobile_sam.pt.part").stat().st_size > 0
    assert installed_sam_models() == []


def test_the_official_checksum_is_enforced(served, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setitem(KNOWN_MODELS, "mobile-sam", dataclasses.replace(KNOWN_MODELS["mobile-sam"], md5="f3c0d8cda613564d499310dab6c812cd"))
    assert main(["models", "download", "mobile-sam"]) == EXIT_NETWORK
    assert "md5 mismatch (expected f3c0d8cda613564d499310dab6c812cd" in capsys.readouterr().err
    assert installed_sam_models() == []


def test_import_tells_the_family_from_the_keys(mobile_sam_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["models", "import", str(mobile_sam_file)]) == EXIT_OK
    assert f"Installed mobile-sam (vit_t) as {app_paths().models_dir / 'mobile-sam.safetensors'}" in capsys.readouterr().out
    copy = tmp_path / "my_sam.pth"
    copy.write_bytes(mobile_sam_file.read_bytes())
    assert main(["models", "import", str(copy), "--name", "second"]) == EXIT_OK
    assert [m.name for m in installed_sam_models()] == ["mobile-sam", "second"]
    truncated = tmp_path / "cut.pt"
    truncated.write_bytes(mobile_sam_file.read_bytes()[: 1 << 20])
    assert main(["models", "import", str(truncated)]) == EXIT_MODEL
    assert capsys.readouterr().err.count("\n") == 1
