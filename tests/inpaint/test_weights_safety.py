"""A weights file can never run code: the restricted unpickler and the torch zip reader."""

from __future__ import annotations

import os
import subprocess
import zipfile
from pathlib import Path

import pytest
import torch

from lamapaint.models.safe_pickle import Placeholder, TensorRecord, UnsafePickleError, open_torch_zip
from lamapaint.inpaint.weights import WeightsError, load_weights_file
from tests.inpaint.test_weights_support import layout_state_dict

MARKER_ENV = "LAMAPAINT_TEST_MARKER"


def write_marker(path: str) -> str:
    """What a malicious pickle would like to call: leaves a trace if it ever runs."""
    Path(path).write_text("ran")
    return "ran"


class ShellPayload:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple:
        return (os.system, (f"touch {self.marker}",))


class EvalPayload:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple:
        return (eval, (f"open({str(self.marker)!r}, 'w').write('ran')",))


class SubprocessPayload:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple:
        return (subprocess.call, (["touch", str(self.marker)],))


class FunctionPayload:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple:
        return (write_marker, (str(self.marker),))


class NoisyClass:
    """A class whose own construction/state code writes the marker: it must never be called."""

    def __new__(cls, *args: object) -> "NoisyClass":
        write_marker(os.environ[MARKER_ENV])
        return super().__new__(cls)

    def __setstate__(self, state: object) -> None:
        write_marker(os.environ[MARKER_ENV])


def read_all(path: Path) -> dict:
    """Every top-level tensor of a torch.save'd dict, read (the loader reads only what it checked)."""
    archive = open_torch_zip(path)
    records = {k: v for k, v in archive.root.items() if isinstance(v, TensorRecord)}
    return {**archive.root, **archive.read_tensors(records, 1 << 30)}


@pytest.fixture(scope="module")
def layout() -> dict[str, torch.Tensor]:
    return layout_state_dict("lama-fourier")


@pytest.mark.parametrize("payload", [ShellPayload, EvalPayload, SubprocessPayload])
def test_code_running_pickles_are_refused_and_nothing_runs(
    tmp_path: Path, layout: dict[str, torch.Tensor], payload: type
) -> None:
    marker = tmp_path / "marker"
    path = tmp_path / "evil.ckpt"
    torch.save({"state_dict": {"generator." + k: v for k, v in layout.items()}, "callbacks": payload(marker)}, path)
    with pytest.raises(UnsafePickleError, match="could run code") as info:
        load_weights_file(path)
    assert isinstance(info.value, WeightsError)
    assert str(path) in str(info.value)
    assert not marker.exists()


def test_unknown_functions_become_inert_and_cannot_pose_as_weights(
    tmp_path: Path, layout: dict[str, torch.Tensor]
) -> None:
    marker = tmp_path / "marker"
    sd = {"generator." + k: v for k, v in layout.items()}
    sd["generator.model.1.ffc.convl2l.weight"] = FunctionPayload(marker)
    path = tmp_path / "evil.ckpt"
    torch.save({"state_dict": sd}, path)
    with pytest.raises(WeightsError, match=r"model\.1\.ffc\.convl2l\.weight is not a tensor"):
        load_weights_file(path)
    assert not marker.exists()


def test_foreign_objects_outside_the_weights_are_ignored_without_running(
    tmp_path: Path, layout: dict[str, torch.Tensor], monkeypatch: pytest.MonkeyPatch
) -> None:
    marker = tmp_path / "marker"
    monkeypatch.setenv(MARKER_ENV, str(marker))
    noisy = object.__new__(NoisyClass)
    noisy.__dict__["x"] = 1
    path = tmp_path / "ok.ckpt"
    torch.save({"state_dict": layout, "hyper_parameters": noisy, "extra": FunctionPayload(marker)}, path)
    assert not marker.exists()
    loaded = load_weights_file(path)
    assert loaded.config == "lama-fourier"
    assert not marker.exists()
    root = open_torch_zip(path).root
    assert isinstance(root["hyper_parameters"], Placeholder)
    assert root["hyper_parameters"].qualname.endswith("NoisyClass")


def _rewrite_member(src: Path, dst: Path, name_suffix: str, transform) -> None:  # type: ignore[no-untyped-def]
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_STORED) as zout:
        for info in zin.infolist():
            data = zin.read(info)
            if info.filename.endswith(name_suffix):
                data = transform(data, info.filename)
            zout.writestr(info.filename, data)


def test_big_endian_archives_are_byte_swapped(tmp_path: Path) -> None:
    tensors = {"a": torch.arange(6, dtype=torch.float32).reshape(2, 3), "n": torch.tensor(7, dtype=torch.int64)}
    little = tmp_path / "little.pt"
    torch.save(tensors, little)
    big = tmp_path / "big.pt"
    with zipfile.ZipFile(little) as zin, zipfile.ZipFile(big, "w") as zout:
        for info in zin.infolist():
            data = zin.read(info)
            if info.filename.endswith("byteorder"):
                data = b"big"
            elif "/data/" in info.filename:
                itemsize = 8 if len(data) == 8 else 4  # the int64 scalar vs the float32 matrix
                data = b"".join(data[i : i + itemsize][::-1] for i in range(0, len(data), itemsize))
            zout.writestr(info, data)
    root = read_all(big)
    assert torch.equal(root["a"], tensors["a"]) and torch.equal(root["n"], tensors["n"])


def test_truncated_storage_is_an_error(tmp_path: Path) -> None:
    good = tmp_path / "good.pt"
    torch.save({"a": torch.ones(100)}, good)
    bad = tmp_path / "bad.pt"
    _rewrite_member(good, bad, "/data/0", lambda data, name: data[:40])
    with pytest.raises(WeightsError, match="has 40 bytes, expected 400"):
        read_all(bad)


def test_view_outside_its_storage_is_an_error(tmp_path: Path) -> None:
    good = tmp_path / "good.pt"
    torch.save({"a": torch.ones(4)}, good)
    bad = tmp_path / "bad.pt"
    # The pickle says the tensor has 4 elements; claim the storage holds 2 and shrink it to match.
    _rewrite_member(good, bad, "/data/0", lambda data, name: data[:8])
    with zipfile.ZipFile(bad) as zf:
        pkl_name = next(n for n in zf.namelist() if n.endswith("data.pkl"))
        pkl = zf.read(pkl_name)
    patched = pkl.replace(b"K\x04t", b"K\x02t", 1)  # numel in the storage record: 4 -> 2
    assert patched != pkl
    worse = tmp_path / "worse.pt"
    _rewrite_member(bad, worse, "data.pkl", lambda data, name: patched)
    with pytest.raises(WeightsError, match="outside its storage") as info:
        read_all(worse)
    assert str(info.value).startswith(str(worse))


def test_every_tensor_record_kind_rebuilds(tmp_path: Path) -> None:
    """Parameters, tensors with Python attributes (_rebuild_from_type_v2), untyped storages (v3), views."""
    tagged = torch.arange(3, dtype=torch.float32)
    tagged.note = "attribute"  # type: ignore[attr-defined]
    base = torch.arange(12, dtype=torch.float64).reshape(3, 4)
    objects = {
        "parameter": torch.nn.Parameter(torch.full((2, 2), 1.5)),
        "tagged": tagged,
        "uint16": torch.tensor([0, 1, 65535], dtype=torch.int32).to(torch.uint16),
        "bf16": torch.linspace(0, 1, 7, dtype=torch.bfloat16),
        "column": base[:, 1],  # a strided view into a shared storage
        "base": base,
    }
    path = tmp_path / "kinds.pt"
    torch.save(objects, path)
    root = read_all(path)
    for key, expected in objects.items():
        assert root[key].dtype == expected.dtype, key
        assert torch.equal(root[key], expected.detach()), key
