"""Loading every weights format users have, recognising the configuration, strict key checks, the cache."""

from __future__ import annotations

import hashlib
import os
import zipfile
from pathlib import Path

import pytest
import safetensors
import safetensors.torch
import torch

from lamapaint.inpaint.lama import build_generator
from lamapaint.inpaint.weights import choice, conversion_cache, model_store
from lamapaint.inpaint.weights import (
    LoadedWeights,
    NoWeightsError,
    WeightsError,
    deterministic_state_dict,
    find_existing_weights,
    import_model,
    installed_models,
    load_generator,
    load_weights_file,
)
from lamapaint.settings import app_paths
from tests.inpaint.test_weights_support import layout_state_dict, save_torchscript


class FakeDictConfig:
    """Like OmegaConf's DictConfig: a custom class in the checkpoint that torch's weights_only refuses."""

    def __init__(self, content: dict) -> None:
        self._content = content
        self._parent = None


@pytest.fixture(autouse=True)
def no_user_caches(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Never look at the user's real torch hub cache."""
    torch_home = tmp_path / "torch-home"
    monkeypatch.setenv("TORCH_HOME", str(torch_home))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    return torch_home


@pytest.fixture(scope="module")
def fourier() -> dict[str, torch.Tensor]:
    return deterministic_state_dict("lama-fourier")


@pytest.fixture(scope="module")
def fourier_layout() -> dict[str, torch.Tensor]:
    return layout_state_dict("lama-fourier")


def _assert_same(loaded: dict[str, torch.Tensor], expected: dict[str, torch.Tensor]) -> None:
    assert list(loaded) == list(expected)
    for key, value in expected.items():
        assert loaded[key].dtype == value.dtype, key
        assert torch.equal(loaded[key], value), key


def _reference(config: str, state_dict: dict[str, torch.Tensor]) -> torch.nn.Module:
    gen = build_generator(config)
    gen.load_state_dict(state_dict, strict=True)
    return gen


def test_official_style_lightning_checkpoint_loads(tmp_path: Path, fourier: dict[str, torch.Tensor]) -> None:
    ckpt = {
        "state_dict": {
            **{"generator." + k: v for k, v in fourier.items()},
            "discriminator.model0.0.weight": torch.ones(2, 2),
            "loss_resnet_pl.impl.conv1.weight": torch.ones(3),
        },
        "hyper_parameters": FakeDictConfig({"generator": {"kind": "ffc_resnet", "n_blocks": 9}}),
        "epoch": 3,
        "pytorch-lightning_version": "1.2.9",
    }
    path = tmp_path / "best.ckpt"
    torch.save(ckpt, path)
    with pytest.raises(Exception):  # why a restricted unpickler is needed at all
        torch.load(path, weights_only=True)
    loaded = load_weights_file(path)
    assert loaded.config == "lama-fourier"
    assert loaded.source_format == "lightning-ckpt"
    assert loaded.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    _assert_same(loaded.state_dict, fourier)


@pytest.mark.parametrize("shape", ["bare", "generator-prefix", "nested", "nested-prefix"])
def test_plain_state_dicts_load(tmp_path: Path, fourier_layout: dict[str, torch.Tensor], shape: str) -> None:
    sd = fourier_layout
    if "prefix" in shape:
        sd = {"generator." + k: v for k, v in sd.items()}
    obj = {"state_dict": sd} if shape.startswith("nested") else sd
    path = tmp_path / "weights.pth"
    torch.save(obj, path)
    assert path.stat().st_size < 10_000_000  # views share one storage: the test stays cheap
    loaded = load_weights_file(path)
    assert loaded.config == "lama-fourier"
    _assert_same(loaded.state_dict, fourier_layout)


def test_big_lama_is_recognised_by_its_block_count(tmp_path: Path) -> None:
    sd = layout_state_dict("big-lama")
    path = tmp_path / "big.pt"
    torch.save({"state_dict": {"generator." + k: v for k, v in sd.items()}}, path)
    loaded = load_weights_file(path)
    assert loaded.config == "big-lama"
    assert len(loaded.state_dict) == 989


def test_safetensors_file_loads(tmp_path: Path, fourier_layout: dict[str, torch.Tensor]) -> None:
    path = tmp_path / "lama.safetensors"
    safetensors.torch.save_file({k: v.clone() for k, v in fourier_layout.items()}, path)
    loaded = load_weights_file(path)
    assert (loaded.config, loaded.source_format) == ("lama-fourier", "safetensors")
    _assert_same(loaded.state_dict, fourier_layout)


@pytest.mark.slow  # saves, converts and loads whole generator checkpoints (several seconds)
def test_torchscript_weights_are_read_without_running_torchscript(
    tmp_path: Path, fourier: dict[str, torch.Tensor], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = save_torchscript(tmp_path / "big-lama.pt", "lama-fourier", fourier)

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("torch.jit.load must not be used on a downloaded file")

    monkeypatch.setattr(torch.jit, "load", refuse)
    loaded = load_weights_file(path)
    assert (loaded.config, loaded.source_format) == ("lama-fourier", "torchscript")
    _assert_same(loaded.state_dict, fourier)


def _lama_zip(path: Path, ckpt: Path, members: dict[str, bytes] | None = None) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("big-lama/config.yaml", "generator:\n  kind: ffc_resnet\n")
        zf.write(ckpt, "big-lama/models/best.ckpt")
        for name, data in (members or {}).items():
            zf.writestr(name, data)
    return path


def test_official_zip_loads(tmp_path: Path, fourier_layout: dict[str, torch.Tensor]) -> None:
    ckpt = tmp_path / "best.ckpt"
    torch.save({"state_dict": {"generator." + k: v for k, v in fourier_layout.items()}}, ckpt)
    path = _lama_zip(tmp_path / "big-lama.zip", ckpt)
    loaded = load_weights_file(path)
    assert (loaded.config, loaded.source_format) == ("lama-fourier", "lama-zip")
    assert loaded.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    _assert_same(loaded.state_dict, fourier_layout)
    assert not list(app_paths().cache_dir.glob("*.ckpt"))  # the extracted temp file is gone


@pytest.mark.parametrize(
    ("extra", "message"),
    [({"../evil.txt": b"x"}, "unsafe member"), ({"other/readme": b"x"}, "not a LaMa model archive")],
)
def test_zip_structure_is_checked(tmp_path: Path, fourier_layout: dict[str, torch.Tensor], extra: dict, message: str) -> None:
    ckpt = tmp_path / "best.ckpt"
    torch.save(fourier_layout, ckpt)
    path = _lama_zip(tmp_path / "big-lama.zip", ckpt, extra)
    with pytest.raises(WeightsError, match=message):
        load_weights_file(path)


def _save_variant(tmp_path: Path, sd: dict[str, torch.Tensor]) -> Path:
    path = tmp_path / "variant.pt"
    torch.save({"state_dict": sd}, path)
    return path


def test_missing_key_is_an_error_naming_file_and_key(tmp_path: Path, fourier_layout: dict[str, torch.Tensor]) -> None:
    sd = {"generator." + k: v for k, v in fourier_layout.items() if k != "model.5.conv2.ffc.convg2g.fu.bn.running_var"}
    path = _save_variant(tmp_path, sd)
    with pytest.raises(WeightsError) as info:
        load_weights_file(path)
    assert str(path) in str(info.value)
    assert "model.5.conv2.ffc.convg2g.fu.bn.running_var" in str(info.value)
    assert "missing" in str(info.value)


def test_unexpected_key_is_an_error(tmp_path: Path, fourier_layout: dict[str, torch.Tensor]) -> None:
    sd = {"generator." + k: v for k, v in fourier_layout.items()}
    path = _save_variant(tmp_path, {**sd, "generator.model.99.weight": torch.ones(1), "discriminator.a": torch.ones(1)})
    with pytest.raises(WeightsError, match=r"unexpected entries, e\.g\. generator\.model\.99\.weight"):
        load_weights_file(path)
    path = _save_variant(tmp_path, {**sd, "encoder.weight": torch.ones(1)})
    with pytest.raises(WeightsError, match="encoder.weight"):
        load_weights_file(path)


def test_wrong_shape_is_an_error(tmp_path: Path, fourier_layout: dict[str, torch.Tensor]) -> None:
    sd = dict(fourier_layout)
    sd["model.1.ffc.convl2l.weight"] = torch.zeros(64, 4, 5, 5)
    with pytest.raises(WeightsError, match=r"model\.1\.ffc\.convl2l\.weight has shape \(64, 4, 5, 5\)"):
        load_weights_file(_save_variant(tmp_path, sd))


@pytest.mark.parametrize("kind", ["garbage", "not-lama", "legacy-torch-format"])
def test_unusable_files_give_clear_errors(tmp_path: Path, kind: str) -> None:
    path = tmp_path / f"{kind}.pt"
    if kind == "garbage":
        path.write_bytes(b"\x00\x01 not a model" * 10)
    elif kind == "not-lama":
        torch.save({"conv.weight": torch.ones(2, 2)}, path)
    else:
        torch.save({"conv.weight": torch.ones(2, 2)}, path, _use_new_zipfile_serialization=False)
    with pytest.raises(WeightsError) as info:
        load_weights_file(path)
    assert str(path) in str(info.value)
    assert "\n" not in str(info.value)


@pytest.mark.slow  # saves, converts and loads whole generator checkpoints (several seconds)
def test_load_generator_converts_once_then_loads_fast(
    tmp_path: Path, fourier: dict[str, torch.Tensor], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "best.ckpt"
    torch.save({"state_dict": {"generator." + k: v for k, v in fourier.items()}, "epoch": 1}, path)
    generator, info = load_generator(path)
    assert not generator.training
    assert all(p.dtype == torch.float32 and p.device.type == "cpu" for p in generator.parameters())
    assert (info.name, info.config, info.source_format) == ("lama-fourier", "lama-fourier", "lightning-ckpt")
    assert info.path.parent == conversion_cache.cache_folder()
    assert info.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    with safetensors.safe_open(str(info.path), framework="pt") as fh:
        meta = fh.metadata()
    assert meta["lamapaint_config"] == "lama-fourier"
    assert meta["lamapaint_source_sha256"] == info.sha256

    x = torch.rand(1, 4, 32, 32, generator=torch.Generator().manual_seed(1))
    with torch.inference_mode():
        assert torch.equal(generator(x), _reference("lama-fourier", fourier)(x))

    def no_second_conversion(path: object) -> None:
        raise AssertionError("the converted copy should have been used")

    monkeypatch.setattr(choice, "load_weights_file", no_second_conversion)
    again, info2 = load_generator(path)
    assert info2.path == info.path and info2.sha256 == info.sha256 and info2.name == "lama-fourier"
    with torch.inference_mode():
        assert torch.equal(again(x), generator(x))


def test_a_file_used_once_is_not_installed_and_auto_is_unchanged(
    tmp_path: Path, fourier_layout: dict[str, torch.Tensor]
) -> None:
    """Issue 12: `--weights FILE` installed a copy, and the first such file became the `auto` default."""
    path = tmp_path / "experiment.ckpt"
    torch.save({"state_dict": {"generator." + k: v for k, v in fourier_layout.items()}}, path)
    load_generator(path)
    assert installed_models() == []
    assert not app_paths().models_dir.exists() or not list(app_paths().models_dir.iterdir())
    with pytest.raises(NoWeightsError):
        load_generator()


def test_the_conversion_cache_keeps_the_most_recently_used_copies(monkeypatch: pytest.MonkeyPatch) -> None:
    folder = conversion_cache.cache_folder()
    folder.mkdir(parents=True)
    copies = []
    for i in range(4):
        copy = folder / f"run{i}-0123456789ab.safetensors"
        copy.write_bytes(b"x" * 1000)
        os.utime(copy, ns=(i * 10**9, i * 10**9))
        copies.append(copy)
    assert conversion_cache.evict(keep=copies[0]) == [copies[2], copies[1]]  # the just-written one stays
    assert sorted(folder.iterdir()) == [copies[0], copies[3]]
    monkeypatch.setattr(conversion_cache, "MAX_BYTES", 1500)  # room for one copy only
    assert conversion_cache.evict() == [copies[0]]


def test_no_weights_error_says_how_to_get_them() -> None:
    with pytest.raises(NoWeightsError, match="lamapaint-cli models download big-lama"):
        load_generator()
    assert issubclass(NoWeightsError, WeightsError)


def test_config_request_must_match(tmp_path: Path, fourier_layout: dict[str, torch.Tensor]) -> None:
    path = _save_variant(tmp_path, fourier_layout)
    with pytest.raises(WeightsError, match="holds lama-fourier weights, not big-lama"):
        load_generator(path, config="big-lama")
    with pytest.raises(NoWeightsError):
        load_generator(config="big-lama")


def _fake_installed(name: str, config: str) -> Path:
    """A header-valid .safetensors claiming a config (its tensors do not fit: loading it fails)."""
    path = app_paths().models_dir / f"{name}.safetensors"
    path.parent.mkdir(parents=True, exist_ok=True)
    safetensors.torch.save_file({"x": torch.zeros(1)}, path, metadata={"lamapaint_config": config, "lamapaint_name": name})
    return path


def test_big_lama_is_preferred_over_lama_fourier(fourier_layout: dict[str, torch.Tensor]) -> None:
    _fake_installed("big-lama", "big-lama")
    _fake_installed("anime-manga-big-lama", "big-lama")
    model_store.save_installed(LoadedWeights("lama-fourier", fourier_layout, "state-dict", "ab" * 32), "lama-fourier", {})
    assert [m.name for m in installed_models()] == ["big-lama", "anime-manga-big-lama", "lama-fourier"]
    with pytest.raises(WeightsError, match="big-lama.safetensors"):
        load_generator()  # chose big-lama (which is broken here)
    _, info = load_generator(config="lama-fourier")
    assert info.name == "lama-fourier"


def test_iopaint_cache_is_found_and_imported_on_first_use(
    no_user_caches: Path, fourier_layout: dict[str, torch.Tensor]
) -> None:
    cached = no_user_caches / "hub" / "checkpoints" / "big-lama.pt"
    cached.parent.mkdir(parents=True)
    torch.save(fourier_layout, cached)  # content decides the config, not the name
    assert find_existing_weights() == [cached]
    [candidate] = installed_models()
    assert (candidate.installed, candidate.name, candidate.path) == (False, "big-lama", cached)

    _, info = load_generator()
    assert info.config == "lama-fourier"
    assert info.path == app_paths().models_dir / "big-lama.safetensors"
    [model] = installed_models()  # imported: no longer offered as a candidate
    assert model.installed and model.config == "lama-fourier" and model.source == str(cached)


def test_import_model_names(tmp_path: Path, fourier_layout: dict[str, torch.Tensor]) -> None:
    best = tmp_path / "best.ckpt"
    torch.save({"state_dict": fourier_layout}, best)
    assert import_model(best).name == "lama-fourier.safetensors"
    other = tmp_path / "other" / "best.ckpt"
    other.parent.mkdir()
    torch.save({"state_dict": layout_state_dict("lama-fourier", seed=1)}, other)
    second = import_model(other)
    assert second.name.startswith("lama-fourier-") and second.name != "lama-fourier.safetensors"
    with pytest.raises(WeightsError, match="invalid model name"):
        import_model(best, name="../escape")
    names = sorted(m.name for m in installed_models())
    assert names == sorted(["lama-fourier", second.stem])


def test_loose_files_in_the_models_folder_are_candidates(fourier_layout: dict[str, torch.Tensor]) -> None:
    models = app_paths().models_dir
    models.mkdir(parents=True)
    loose = models / "manual-download.ckpt"
    torch.save({"state_dict": fourier_layout}, loose)
    (models / "notes.txt").write_text("not weights")
    assert find_existing_weights() == [loose]
    [candidate] = installed_models()
    assert (candidate.name, candidate.installed, candidate.config) == ("manual-download", False, None)
    installed = import_model(loose)
    assert [(m.name, m.installed) for m in installed_models()] == [(installed.stem, True)]
