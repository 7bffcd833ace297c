"""Loading Segment Anything weights: the official file format, layouts checked, family detected, unsafe files refused."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
import safetensors.torch
import torch

from lamapaint.inpaint.weights import installed_models, load_generator
from lamapaint.models.errors import NoWeightsError, UnsafePickleError, WeightsError
from lamapaint.models.families import family_of_file
from lamapaint.select import weights
from lamapaint.select.sam import deterministic_state_dict
from lamapaint.settings import app_paths
from tests.inpaint.test_weights_support import layout_state_dict as lama_layout_state_dict
from tests.select.sam_files import layout_state_dict
from tests.shared_data import SAM_REFERENCE, require_shared


class ShellPayload:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple:
        return (os.system, (f"touch {self.marker}",))


class SubprocessPayload:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple:
        return (subprocess.call, (["touch", str(self.marker)],))


def test_the_official_format_loads_exactly(mobile_sam_file: Path) -> None:
    loaded = weights.load_sam_file(mobile_sam_file)
    assert loaded.config == "vit_t" and loaded.source_format == "state-dict"
    expected = deterministic_state_dict("vit_t")
    assert list(loaded.state_dict) == list(expected)
    assert all(torch.equal(loaded.state_dict[k], v) for k, v in expected.items())
    assert family_of_file(mobile_sam_file) == "sam"


@pytest.mark.parametrize("config", ["vit_t", "vit_b", "vit_l", "vit_h"])
def test_each_configuration_is_told_from_its_keys(config: str, tmp_path: Path) -> None:
    reference = json.loads(require_shared(SAM_REFERENCE / f"state_dict_{config}.json").read_text())
    assert weights.config_from_keys(entry["key"] for entry in reference) == config
    path = tmp_path / "sam.pth"
    torch.save(layout_state_dict(config), path)
    assert path.stat().st_size < 1 << 20
    loaded = weights.load_sam_file(path)
    assert loaded.config == config
    assert {k: tuple(v.shape) for k, v in loaded.state_dict.items()} == {e["key"]: tuple(e["shape"]) for e in reference}


def test_safetensors_load_too(tmp_path: Path) -> None:
    path = tmp_path / "sam.safetensors"
    safetensors.torch.save_file({k: v.contiguous() for k, v in layout_state_dict("vit_t").items()}, path)
    assert weights.load_sam_file(path).config == "vit_t"
    assert family_of_file(path) == "sam"


def test_a_lama_file_is_named_as_such(tmp_path: Path) -> None:
    path = tmp_path / "big-lama.ckpt"
    torch.save({"state_dict": {"generator." + k: v for k, v in lama_layout_state_dict("lama-fourier").items()}}, path)
    assert family_of_file(path) == "lama"
    with pytest.raises(WeightsError, match="holds LaMa inpainting weights, not Segment Anything weights"):
        weights.load_sam_file(path)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda sd: sd.pop("mask_decoder.iou_prediction_head.layers.2.bias"), r"1 vit_t weights missing, e\.g\. mask_decoder\.iou_prediction_head"),
        (lambda sd: sd.update({"extra.weight": torch.zeros(3)}), r"unexpected entries, e\.g\. extra\.weight"),
        (lambda sd: sd.update({"mask_decoder.iou_token.weight": torch.zeros(1, 255)}), r"mask_decoder\.iou_token\.weight has shape \(1, 255\), expected \(1, 256\)"),
        (lambda sd: sd.update({"image_encoder.neck.0.weight": torch.zeros(256, 320, 1, 1, dtype=torch.int32)}), "has dtype torch.int32, expected floating point"),
        (lambda sd: sd.update({"image_encoder.neck.1.bias": [0.0] * 256}), r"image_encoder\.neck\.1\.bias is not a tensor"),
        (lambda sd: [sd.pop(k) for k in list(sd) if k.startswith("image_encoder.layers.")], "unrecognised Segment Anything configuration"),
    ],
)
def test_wrong_layouts_are_one_clear_error(edit, message: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    sd = layout_state_dict("vit_t")
    edit(sd)
    path = tmp_path / "bad.pt"
    torch.save(sd, path)
    with pytest.raises(WeightsError, match=message) as info:
        weights.load_sam_file(path)
    assert str(path) in str(info.value)


@pytest.mark.parametrize("payload", [ShellPayload, SubprocessPayload])
def test_code_running_pickles_are_refused_and_nothing_runs(payload: type, tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    sd: dict[str, object] = dict(layout_state_dict("vit_t"))
    sd["image_encoder.neck.1.bias"] = payload(marker)
    path = tmp_path / "evil.pt"
    torch.save(sd, path)
    with pytest.raises(UnsafePickleError, match="could run code"):
        weights.load_sam_file(path)
    with pytest.raises(UnsafePickleError):
        family_of_file(path)
    assert not marker.exists()


def test_storage_beyond_the_configuration_is_not_read(tmp_path: Path) -> None:
    sd = layout_state_dict("vit_t")
    big = torch.zeros(weights.storage_budget("vit_t") // 4 + 1)  # one storage larger than all of vit_t in float64
    sd["mask_decoder.iou_token.weight"] = big[:256].view(1, 256)
    path = tmp_path / "big.pt"
    torch.save(sd, path)
    with pytest.raises(WeightsError, match="more than this model needs"):
        weights.load_sam_file(path)


@pytest.mark.parametrize(("content", "message"), [(b"", "unsupported format"), (b"PK\x03\x04broken", "unsupported format|damaged")])
def test_unreadable_files_are_weights_errors(content: bytes, message: str, tmp_path: Path) -> None:
    path = tmp_path / "x.pth"
    path.write_bytes(content)
    with pytest.raises(WeightsError, match=message):
        weights.load_sam_file(path)
    with pytest.raises(WeightsError, match="no such file"):
        weights.load_sam_file(tmp_path / "missing.pth")


def test_import_installs_under_the_catalogue_name_apart_from_lama(mobile_sam_file: Path) -> None:
    with pytest.raises(NoWeightsError, match="models download mobile-sam"):
        weights.load_sam()
    target = weights.import_sam(mobile_sam_file)
    assert target == app_paths().models_dir / "mobile-sam.safetensors"
    [entry] = weights.installed_sam_models()
    assert (entry.name, entry.config, entry.path) == ("mobile-sam", "vit_t", target)
    assert installed_models() == []  # LaMa's list does not offer a selection model
    model, info = weights.load_sam()
    assert info.name == "mobile-sam" and info.config == "vit_t" and not model.training
    reference = deterministic_state_dict("vit_t")
    assert all(torch.equal(model.state_dict()[k], v) for k, v in reference.items())
    with pytest.raises(NoWeightsError, match="models download sam-vit-b"):
        weights.load_sam("sam-vit-b")


def test_official_sam_files_on_disk_are_not_lama_candidates(mobile_sam_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """LaMa's ``auto`` imports weights found on disk; the SAM release files (in the models folder or torch's hub cache) are not LaMa's."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch-home"))
    hub = tmp_path / "torch-home" / "hub" / "checkpoints"
    hub.mkdir(parents=True)
    (hub / "mobile_sam.pt").write_bytes(mobile_sam_file.read_bytes())
    models = app_paths().models_dir
    models.mkdir(parents=True, exist_ok=True)
    (models / "sam_vit_b_01ec64.pth").write_bytes(b"not read")
    assert installed_models() == []
    with pytest.raises(NoWeightsError, match="no LaMa weights installed"):
        load_generator()
