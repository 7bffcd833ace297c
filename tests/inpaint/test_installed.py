"""The torch-free look for weights on disk agrees with the weights package it stands in for."""

from __future__ import annotations

from pathlib import Path

import pytest

from lamapaint.inpaint.installed import HUB_FILENAMES, weights_on_disk
from lamapaint.settings import app_paths


def test_the_hub_names_are_the_catalogues() -> None:
    from lamapaint.inpaint.weights import KNOWN_MODELS

    from lamapaint.models.families import LAMA

    lama_hub_files = {spec.filename for spec in KNOWN_MODELS.values() if spec.filename.endswith(".pt") and spec.family == LAMA}
    assert set(HUB_FILENAMES) == lama_hub_files


def test_weights_on_disk_looks_where_the_engine_looks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from lamapaint.inpaint.weights import find_existing_weights

    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    assert not weights_on_disk() and not find_existing_weights()
    hub = tmp_path / "torch" / "hub" / "checkpoints"
    hub.mkdir(parents=True)
    (hub / "resnet50.pt").write_bytes(b"x")  # not LaMa: neither looks at it
    assert not weights_on_disk() and not find_existing_weights()
    (hub / "big-lama.pt").write_bytes(b"x")
    assert weights_on_disk() and find_existing_weights() == [hub / "big-lama.pt"]
    (hub / "big-lama.pt").unlink()
    models = app_paths().models_dir
    models.mkdir(parents=True, exist_ok=True)
    (models / "best.ckpt").write_bytes(b"x")
    assert weights_on_disk() and find_existing_weights() == [models / "best.ckpt"]
