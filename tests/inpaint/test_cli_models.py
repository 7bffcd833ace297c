"""``lamapaint-cli models list | download | import``: output, exit codes, progress on stderr."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import pytest
import torch

from lamapaint.cli import EXIT_MODEL, EXIT_NETWORK, EXIT_OK, EXIT_OUTPUT, main
from lamapaint.cli.models import ProgressPrinter
from lamapaint.inpaint import weights
from lamapaint.inpaint.weights import KnownModel
from lamapaint.settings import app_paths
from tests.inpaint.test_weights_support import ServerState, http_server, layout_state_dict


@pytest.fixture(autouse=True)
def no_user_caches(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    torch_home = tmp_path / "torch-home"
    monkeypatch.setenv("TORCH_HOME", str(torch_home))
    return torch_home


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small (shared-storage) lama-fourier Lightning-style checkpoint."""
    path = tmp_path_factory.mktemp("ckpt") / "best.ckpt"
    torch.save({"state_dict": {"generator." + k: v for k, v in layout_state_dict("lama-fourier").items()}}, path)
    return path


def test_list_with_nothing_installed(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["models", "list"]) == EXIT_OK
    out = capsys.readouterr().out
    assert "none: run `lamapaint-cli models download big-lama`" in out
    for name in ("big-lama", "anime-manga-big-lama", "big-lama-official"):
        assert f"  {name} " in out
    assert "Apache-2.0" in out
    assert main(["models"]) == EXIT_OK  # bare `models` lists too


def test_import_then_list(checkpoint: Path, capsys: pytest.CaptureFixture[str], no_user_caches: Path) -> None:
    assert main(["models", "import", str(checkpoint), "--name", "my-model"]) == EXIT_OK
    target = app_paths().models_dir / "my-model.safetensors"
    assert f"Installed my-model (lama-fourier) as {target}" in capsys.readouterr().out
    cached = no_user_caches / "hub" / "checkpoints" / "big-lama.pt"
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"not checked until imported")
    assert main(["models", "list"]) == EXIT_OK
    out = capsys.readouterr().out
    sha = hashlib.sha256(checkpoint.read_bytes()).hexdigest()[:12]
    line = next(line for line in out.splitlines() if "my-model" in line)
    assert "lama-fourier" in line and f"sha256 {sha}" in line and str(checkpoint) in line
    assert "Found on disk, not imported yet" in out and str(cached) in out


def test_import_of_a_bad_file_exits_4_with_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.pt"
    torch.save({"conv.weight": torch.ones(2)}, bad)
    assert main(["models", "import", str(bad)]) == EXIT_MODEL
    err = capsys.readouterr().err
    assert err.startswith("lamapaint-cli: error: ") and str(bad) in err and err.count("\n") == 1


def test_unknown_model_exits_4(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["models", "download", "nope"]) == EXIT_MODEL
    assert "unknown model 'nope'" in capsys.readouterr().err


def test_download_with_progress_lines(
    checkpoint: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    data = checkpoint.read_bytes()
    spec = KnownModel(
        name="lama-fourier", url="http://127.0.0.1:9/unused", filename="best.ckpt", config="lama-fourier",
        md5=hashlib.md5(data).hexdigest(), sha256=None, size=len(data), description="test", license="test",
    )
    monkeypatch.setitem(weights.KNOWN_MODELS, spec.name, spec)
    with http_server(ServerState(files={"/best.ckpt": data})) as url:
        monkeypatch.setenv("LAMAPAINT_MODEL_URL_LAMA_FOURIER", f"{url}/best.ckpt")
        assert main(["models", "download", "lama-fourier"]) == EXIT_OK
    captured = capsys.readouterr()
    assert f"Installed lama-fourier (lama-fourier) as {app_paths().models_dir / 'lama-fourier.safetensors'}" in captured.out
    lines = captured.err.splitlines()
    assert "\r" not in captured.err  # not a terminal: plain lines
    assert lines[-1] == "100% Installed lama-fourier"
    assert any("Downloading lama-fourier:" in line and "MB/s" in line for line in lines)


@pytest.mark.parametrize(("path", "md5", "message"), [("/missing", None, "HTTP 404"), ("/data", "0" * 32, "md5 mismatch")])
def test_download_failures_exit_6(
    path: str, md5: str | None, message: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = KnownModel(
        name="test-model", url="http://127.0.0.1:9/unused", filename="data.bin", config="lama-fourier",
        md5=md5, sha256=None, size=None, description="test", license="test",
    )
    monkeypatch.setitem(weights.KNOWN_MODELS, spec.name, spec)
    with http_server(ServerState(files={"/data": b"x" * 1000})) as url:
        assert main(["models", "download", "test-model", "--url", url + path]) == EXIT_NETWORK
    assert message in capsys.readouterr().err


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_bar_on_a_terminal_redraws_one_line() -> None:
    stream = _Terminal()
    printer = ProgressPrinter(stream)
    printer(0.0, "0.0 of 10.0 MB")
    printer(1.0, "10.0 of 10.0 MB, 5.0 MB/s")
    printer.finish()
    text = stream.getvalue()
    assert text.count("\r") == 2 and text.endswith("\n") and text.count("\n") == 1
    assert "[" + "#" * ProgressPrinter.WIDTH + "] 100% 10.0 of 10.0 MB, 5.0 MB/s" in text


def test_import_onto_a_full_disk_exits_7(checkpoint: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    import errno
    from contextlib import contextmanager

    from lamapaint.models import store

    @contextmanager
    def full(*args: object, **kwargs: object):  # type: ignore[no-untyped-def]
        raise OSError(errno.ENOSPC, "No space left on device")
        yield

    monkeypatch.setattr(store, "atomic_write", full)
    assert main(["models", "import", str(checkpoint)]) == EXIT_OUTPUT
    err = capsys.readouterr().err
    assert "cannot write" in err and "No space left" in err and err.count("\n") == 1
