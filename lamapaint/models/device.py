"""Where and how a model runs (the LaMa generator, SAM): device, numeric precision and CPU thread count.

Choices are explicit: a device the user asked for but which is not there is an error, never a silent
fall-back to the CPU. ``auto`` precision picks a half-precision type only where the hardware runs it
natively (docs/PERFORMANCE.md, "Speed", says why and what it costs in accuracy); ``fp32`` is the
exact reference path the parity tests use.
"""

from __future__ import annotations

import ctypes
import logging
import os
import sys
from functools import lru_cache
from pathlib import Path

import torch

from lamapaint.models.types import PRECISIONS, DeviceError

log = logging.getLogger(__name__)

_DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}
_CPUINFO = Path("/proc/cpuinfo")
_NATIVE_BF16_FLAGS = frozenset({"avx512_bf16", "amx_bf16"})
# glibc mallopt parameters and the values chosen: no fresh mapping below 32 MiB (its maximum), keep up
# to 1 GiB of freed memory at the heap's top, grow the heap 64 MiB at a time.
_MALLOPT_SETTINGS = ((-3, 32 << 20), (-1, 1 << 30), (-2, 64 << 20))  # M_MMAP_THRESHOLD, M_TRIM_THRESHOLD, M_TOP_PAD


def select_device(name: str = "auto") -> torch.device:
    """``auto`` prefers CUDA, then Apple's MPS, then the CPU; a named device must be available."""
    key = (name or "auto").strip().lower()
    if key == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if _mps_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        device = torch.device(key)
    except RuntimeError:
        raise DeviceError(f"unknown device {name!r}; expected auto, cpu, cuda, cuda:N or mps") from None
    if device.type == "cpu":
        return device
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise DeviceError("CUDA was requested but no CUDA GPU is available to this PyTorch build")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise DeviceError(f"{key} was requested but only {torch.cuda.device_count()} CUDA device(s) exist")
        return device
    if device.type == "mps":
        if not _mps_available():
            raise DeviceError("MPS (Apple GPU) was requested but is not available here")
        return device
    raise DeviceError(f"unsupported device {name!r}; expected auto, cpu, cuda, cuda:N or mps")


def select_precision(name: str, device: torch.device) -> str:
    """Resolve ``auto`` for ``device`` and refuse combinations that cannot run; returns fp32/bf16/fp16."""
    key = (name or "auto").strip().lower()
    if key not in PRECISIONS:
        raise DeviceError(f"unknown precision {name!r}; expected one of {', '.join(PRECISIONS)}")
    if key == "auto":
        chosen = _auto_precision(device)
        log.info("precision auto -> %s on %s", chosen, device)
        return chosen
    if key == "fp16" and device.type == "cpu":
        raise DeviceError("fp16 is not supported on the CPU (no fast kernels); use bf16 or fp32")
    if key == "bf16" and device.type == "cpu" and not cpu_has_native_bf16():
        log.warning("bf16 requested on a CPU without native bf16: it will run emulated and slower than fp32")
    if key == "bf16" and device.type == "cuda" and not torch.cuda.is_bf16_supported(including_emulation=False):
        log.warning("bf16 requested on a GPU without native bf16 (compute capability < 8): expect it to be slow")
    return key


def precision_dtype(precision: str) -> torch.dtype:
    """The torch dtype of a resolved precision name."""
    try:
        return _DTYPES[precision]
    except KeyError:
        raise DeviceError(f"precision {precision!r} is not resolved; expected fp32, bf16 or fp16") from None


def configure_threads(n: int = 0) -> int:
    """Set torch's intra-op threads; ``0`` means the cores this process may run on (affinity, not all).

    Also keeps freed memory for reuse (``keep_freed_memory``): both are process-wide settings for
    running a model on the CPU.
    """
    if n < 0:
        raise ValueError(f"thread count must be >= 0, got {n}")
    keep_freed_memory()
    count = n or available_cores()
    if torch.get_num_threads() != count:
        torch.set_num_threads(count)
        log.info("torch intra-op threads: %d", count)
    return count


@lru_cache(maxsize=1)
def keep_freed_memory() -> bool:
    """Ask glibc's malloc to keep freed memory for reuse rather than hand it back to the OS at once.

    A forward pass frees and allocates tensors of tens of MB layer after layer. By default glibc
    maps the larger ones afresh and unmaps them when freed, and the kernel then zeroes every new
    page on first touch: 10-15 % of a SAM ViT-B embedding or a big-lama 512^2 forward on a CPU
    (benchmarks/bench_select.py). The cost: up to 1 GiB of freed memory stays with the process for
    its next use. False where the C library is not glibc (nothing is changed there).
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None)
    except OSError:
        return False
    if not hasattr(libc, "gnu_get_libc_version"):  # musl and others: their malloc has other knobs
        return False
    done = all(libc.mallopt(param, value) == 1 for param, value in _MALLOPT_SETTINGS)
    log.debug("malloc keeps freed memory: %s", done)
    return done


def available_cores() -> int:
    """Cores this process may use: the affinity mask where the OS has one (containers, taskset)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # macOS and Windows have no sched_getaffinity
        return max(1, os.cpu_count() or 1)


@lru_cache(maxsize=1)
def cpu_has_native_bf16() -> bool:
    """True where the CPU multiplies bf16 in hardware (AVX512-BF16 or AMX), so bf16 pays off."""
    flags = _cpuinfo_flags()
    if flags is not None:
        return bool(flags & _NATIVE_BF16_FLAGS)
    capability = _cpu_capability()
    # Without /proc/cpuinfo (macOS, Windows) torch's dispatch level is the best hint available:
    # "amx" implies AMX-BF16; plain "avx512" does not imply BF16, so it is not taken as native.
    return "amx" in capability


def _auto_precision(device: torch.device) -> str:
    if device.type == "cuda":
        major, _minor = torch.cuda.get_device_capability(device)
        return "bf16" if major >= 8 else "fp16"
    if device.type == "mps":
        return "fp16"
    return "bf16" if cpu_has_native_bf16() else "fp32"


def _cpuinfo_flags() -> frozenset[str] | None:
    try:
        text = _CPUINFO.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith("flags"):
            return frozenset(line.partition(":")[2].split())
    return None


def _cpu_capability() -> str:
    try:
        return str(torch.backends.cpu.get_cpu_capability()).lower()
    except (AttributeError, RuntimeError):
        return ""


def _mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())
