"""Fuzzing the weights loaders from real seed files: only documented errors (WeightsError) may leave them.

The quick profile (fixed seed, a few seconds) runs with the suite. The heavy profile:

    LAMAPAINT_FUZZ_HEAVY=1 .venv/bin/python -m pytest -m fuzz_heavy tests/inpaint/test_weights_fuzz.py -s

Each run prints the number of cases, the outcomes and the slowest case (the closing note's figures).
"""

from __future__ import annotations

import collections
import os
import re
import resource
import time
import warnings
import zipfile
from pathlib import Path

import pytest
import safetensors.torch
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lamapaint.inpaint.weights import WeightsError, load_weights_file
from lamapaint.inpaint.weights.checkpoints import generator_layout

HEAVY_RUN = bool(os.environ.get("LAMAPAINT_FUZZ_HEAVY"))
QUICK = settings(max_examples=25, derandomize=True, deadline=None, database=None,
                 suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
HEAVY = settings(max_examples=1500, deadline=None, database=None,
                 suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


class _Tiny(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = torch.nn.Conv2d(4, 3, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)


def _seeds(folder: Path) -> dict[str, bytes]:
    """Small real files of every format: the mutations start from what users have."""
    # Every tensor a zero-stride view of one value: the right keys and shapes in a file of a few KB.
    one = torch.zeros(1)
    layout = {k: torch.zeros((), dtype=torch.int64) if k.endswith("num_batches_tracked") else one.expand(shape)
              for k, shape in generator_layout("lama-fourier").items()}
    torch.save(layout, folder / "state.pt")
    torch.save({"state_dict": {"generator." + k: v for k, v in layout.items()}, "epoch": 3,
                "hyper_parameters": {"generator": {"n_blocks": 9}}}, folder / "lightning.ckpt")
    # Enough keys to be recognised as lama-fourier (the stem and the blocks' first convolutions), few bytes.
    anchors = [k for k in layout if re.fullmatch(r"model\.(1|\d+\.conv1)\.ffc\.convl2l\.weight", k)]
    tiny = {"generator." + k: torch.zeros(2, 2) for k in anchors} | {"discriminator.x": torch.zeros(3)}
    safetensors.torch.save_file(tiny, folder / "tiny.safetensors")
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.jit.trace(_Tiny().eval(), torch.rand(1, 4, 8, 8)).save(str(folder / "script.pt"))
    torch.save({"state_dict": {"generator." + k: layout[k] for k in anchors}}, folder / "best.ckpt")
    with zipfile.ZipFile(folder / "big-lama.zip", "w") as zf:
        zf.writestr("big-lama/config.yaml", "generator:\n  kind: ffc_resnet\n")
        zf.write(folder / "best.ckpt", "big-lama/models/best.ckpt")
    names = ("state.pt", "lightning.ckpt", "tiny.safetensors", "script.pt", "big-lama.zip")
    return {name: (folder / name).read_bytes() for name in names}


@pytest.fixture(scope="module")
def seeds(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    return _seeds(tmp_path_factory.mktemp("seeds"))


@st.composite
def mutations(draw: st.DrawFn, size: int) -> list[tuple[str, int, bytes]]:
    """Byte edits aimed mostly at structure: the pickle and headers at the start, the zip directory at the end."""
    last = max(0, size - 1)
    position = st.one_of(st.integers(0, min(last, 200_000)), st.integers(max(0, size - 8192), last), st.integers(0, last))
    edit = st.tuples(st.sampled_from(["set", "insert", "delete", "truncate"]), position, st.binary(min_size=1, max_size=8))
    return draw(st.lists(edit, min_size=1, max_size=6))


@st.composite
def cases(draw: st.DrawFn, seed: bytes) -> tuple[str | None, list[tuple[str, int, bytes]]]:
    """Raw edits of the file (the CRC check catches most), or edits of one member re-zipped with a valid CRC."""
    members = _members(seed)
    member = draw(st.none() | st.sampled_from(sorted(members))) if members else None
    return member, draw(mutations(len(members[member]) if member else len(seed)))


def _members(data: bytes) -> dict[str, bytes]:
    import io

    if not data.startswith(b"PK"):
        return {}
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return {name: zf.read(name) for name in zf.namelist()}


def _mutated(seed: bytes, member: str | None, edits: list[tuple[str, int, bytes]]) -> bytes:
    import io

    if member is None:
        return _apply(seed, edits)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for name, data in _members(seed).items():
            zf.writestr(name, _apply(data, edits) if name == member else data)
    return buffer.getvalue()


def _apply(data: bytes, edits: list[tuple[str, int, bytes]]) -> bytes:
    out = bytearray(data)
    for kind, pos, chunk in edits:
        pos = min(pos, max(0, len(out) - 1))
        if kind == "set":
            out[pos : pos + len(chunk)] = chunk
        elif kind == "insert":
            out[pos:pos] = chunk
        elif kind == "delete":
            del out[pos : pos + len(chunk)]
        else:
            del out[pos:]
    return bytes(out)


class _Tally:
    def __init__(self) -> None:
        self.outcomes: collections.Counter[str] = collections.Counter()
        self.slowest = 0.0
        self.rss_start = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

    def report(self, label: str) -> str:
        grown = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - self.rss_start) / 1024
        return (f"{label}: {sum(self.outcomes.values())} cases {dict(self.outcomes)}, "
                f"slowest {self.slowest:.2f} s, peak RSS grew {grown:.0f} MB")


def _fuzz(seeds: dict[str, bytes], folder: Path, profile: settings, label: str) -> None:
    for name, seed in seeds.items():
        print(_fuzz_one(seed, folder / name, profile).report(f"{label} {name}"))


def _fuzz_one(seed: bytes, target: Path, profile: settings) -> _Tally:
    tally = _Tally()

    @profile
    @given(drawn=cases(seed))
    def case(drawn: tuple[str | None, list[tuple[str, int, bytes]]]) -> None:
        target.write_bytes(_mutated(seed, *drawn))
        started = time.perf_counter()
        try:
            load_weights_file(target)
            tally.outcomes["loaded"] += 1
        except WeightsError:
            tally.outcomes["WeightsError"] += 1
        finally:
            tally.slowest = max(tally.slowest, time.perf_counter() - started)

    case()
    return tally


def test_seeds_are_real_files(seeds: dict[str, bytes], tmp_path: Path) -> None:
    """The unmutated seeds reach the loader's later checks (not refused as unreadable)."""
    for name in ("state.pt", "lightning.ckpt"):
        (tmp_path / name).write_bytes(seeds[name])
        assert load_weights_file(tmp_path / name).config == "lama-fourier"
    for name, message in (("tiny.safetensors", "weights missing"), ("script.pt", "no LaMa generator"), ("big-lama.zip", "weights missing")):
        (tmp_path / name).write_bytes(seeds[name])
        with pytest.raises(WeightsError, match=message):
            load_weights_file(tmp_path / name)


def test_fuzz_quick(seeds: dict[str, bytes], tmp_path: Path) -> None:
    _fuzz(seeds, tmp_path, QUICK, "quick")


@pytest.mark.fuzz_heavy
@pytest.mark.timeout(3600)
@pytest.mark.skipif(not HEAVY_RUN, reason="heavy fuzzing: set LAMAPAINT_FUZZ_HEAVY=1 and run with -m fuzz_heavy")
def test_fuzz_heavy(seeds: dict[str, bytes], tmp_path: Path) -> None:
    _fuzz(seeds, tmp_path, HEAVY, "heavy")
