"""Device, precision and thread selection: explicit choices, clear errors, `auto` as documented."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from lamapaint.models import device as dev
from lamapaint.models.device import (
    DeviceError,
    configure_threads,
    precision_dtype,
    select_device,
    select_precision,
)

CPU = torch.device("cpu")
CUDA = torch.device("cuda")
MPS = torch.device("mps")


@pytest.fixture
def fresh_bf16_probe():
    dev.cpu_has_native_bf16.cache_clear()
    yield
    dev.cpu_has_native_bf16.cache_clear()


def _fake_cpuinfo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, flags: str) -> None:
    info = tmp_path / "cpuinfo"
    info.write_text(f"processor\t: 0\nmodel name\t: Test CPU\nflags\t\t: {flags}\n\nprocessor\t: 1\n")
    monkeypatch.setattr(dev, "_CPUINFO", info)


def test_cpu_is_always_available() -> None:
    assert select_device("cpu") == CPU
    assert select_device(" CPU ") == CPU


def test_auto_prefers_cuda_then_mps_then_cpu(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(dev, "_mps_available", lambda: False)
    assert select_device("auto") == CPU
    monkeypatch.setattr(dev, "_mps_available", lambda: True)
    assert select_device("auto") == MPS
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert select_device("auto") == CUDA


def test_unavailable_device_is_an_error_not_a_silent_cpu_fallback(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(dev, "_mps_available", lambda: False)
    with pytest.raises(DeviceError, match="CUDA was requested"):
        select_device("cuda")
    with pytest.raises(DeviceError, match="MPS"):
        select_device("mps")


def test_cuda_index_beyond_the_devices_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    assert select_device("cuda:0") == torch.device("cuda:0")
    with pytest.raises(DeviceError, match="only 1 CUDA"):
        select_device("cuda:3")


@pytest.mark.parametrize("name", ["gpu", "tpu", "cuda:x", ""])
def test_unknown_device_names(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(dev, "_mps_available", lambda: False)
    if name == "":
        assert select_device(name) == CPU  # empty means auto
    else:
        with pytest.raises(DeviceError):
            select_device(name)


@pytest.mark.parametrize(
    "flags, native",
    [("fpu sse avx512f avx512_bf16", True), ("fpu amx_tile amx_bf16", True), ("fpu sse avx2 avx512f", False)],
)
def test_native_bf16_is_read_from_cpu_flags(
    flags: str, native: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_bf16_probe: None
) -> None:
    _fake_cpuinfo(tmp_path, monkeypatch, flags)
    assert dev.cpu_has_native_bf16() is native
    assert select_precision("auto", CPU) == ("bf16" if native else "fp32")


def test_without_cpuinfo_torch_capability_decides(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_bf16_probe: None
) -> None:
    monkeypatch.setattr(dev, "_CPUINFO", tmp_path / "missing")
    monkeypatch.setattr(dev, "_cpu_capability", lambda: "avx512")
    assert dev.cpu_has_native_bf16() is False
    dev.cpu_has_native_bf16.cache_clear()
    monkeypatch.setattr(dev, "_cpu_capability", lambda: "amx")
    assert dev.cpu_has_native_bf16() is True


@pytest.mark.parametrize(
    "capability, expected", [((8, 0), "bf16"), ((9, 0), "bf16"), ((7, 5), "fp16"), ((6, 1), "fp16")]
)
def test_auto_on_cuda_follows_compute_capability(
    capability: tuple[int, int], expected: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda device=None: capability)
    assert select_precision("auto", CUDA) == expected


def test_auto_on_mps_is_fp16() -> None:
    assert select_precision("auto", MPS) == "fp16"


def test_explicit_precisions_are_kept() -> None:
    assert select_precision("fp32", CPU) == "fp32"
    assert select_precision("BF16", CPU) == "bf16"
    assert select_precision("fp16", MPS) == "fp16"


def test_fp16_on_cpu_and_unknown_precision_are_errors() -> None:
    with pytest.raises(DeviceError, match="fp16 is not supported on the CPU"):
        select_precision("fp16", CPU)
    with pytest.raises(DeviceError, match="unknown precision"):
        select_precision("int8", CPU)


def test_precision_dtype() -> None:
    assert precision_dtype("fp32") is torch.float32
    assert precision_dtype("bf16") is torch.bfloat16
    assert precision_dtype("fp16") is torch.float16
    with pytest.raises(DeviceError, match="not resolved"):
        precision_dtype("auto")


def test_threads_default_to_the_cores_this_process_may_use() -> None:
    before = torch.get_num_threads()
    try:
        expected = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
        assert configure_threads(0) == expected
        assert torch.get_num_threads() == expected
        assert configure_threads(1) == 1
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)
    with pytest.raises(ValueError):
        configure_threads(-1)


def test_available_cores_follows_the_affinity_mask(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 3, 5}, raising=False)
    assert dev.available_cores() == 3


_FREED_MEMORY_ROUNDS = """
import resource, sys
import numpy as np
if sys.argv[1] == "keep":
    from lamapaint.models.device import keep_freed_memory
    assert keep_freed_memory()
def allocate_and_free():
    arrays = [np.ones(8 << 20, np.uint8) for _ in range(12)]  # 96 MiB, as a layer's activations
    del arrays
allocate_and_free()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(3):
    allocate_and_free()
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc")
def test_freed_memory_is_reused_without_touching_new_pages() -> None:
    """Page faults in rounds of allocating and freeing 96 MiB: none once the memory is kept, thousands by default."""

    def faults(mode: str) -> int:
        env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
        done = subprocess.run([sys.executable, "-c", _FREED_MEMORY_ROUNDS, mode], env=env, capture_output=True, text=True, check=True)
        return int(done.stdout)

    assert faults("keep") < 500
    assert faults("default") > 5000  # what the setting is for: glibc hands the memory back and faults it in again
