"""Fuzzing the SAM loader from small real files: only documented errors (WeightsError) may leave it.

The same mutations as the LaMa loader's fuzzing (tests/inpaint/test_weights_fuzz.py), quick profile.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest
import safetensors.torch
import torch
from hypothesis import given

from lamapaint.models.errors import WeightsError
from lamapaint.models.families import family_of_file
from lamapaint.select.weights import load_sam_file
from tests.inpaint.test_weights_fuzz import QUICK, _mutated, cases
from tests.select.sam_files import layout_state_dict


@pytest.fixture(scope="module")
def seeds(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    folder = tmp_path_factory.mktemp("sam-seeds")
    torch.save(layout_state_dict("vit_t"), folder / "mobile_sam.pt")
    anchors = {k: torch.zeros(2, 2) for k in ("mask_decoder.iou_token.weight", "image_encoder.layers.0.blocks.0.conv1.c.weight")}
    safetensors.torch.save_file(anchors, folder / "tiny.safetensors")
    return {name: (folder / name).read_bytes() for name in ("mobile_sam.pt", "tiny.safetensors")}


def test_seeds_reach_the_layout_checks(seeds: dict[str, bytes], tmp_path: Path) -> None:
    (tmp_path / "mobile_sam.pt").write_bytes(seeds["mobile_sam.pt"])
    assert load_sam_file(tmp_path / "mobile_sam.pt").config == "vit_t"
    (tmp_path / "tiny.safetensors").write_bytes(seeds["tiny.safetensors"])
    with pytest.raises(WeightsError, match="weights missing"):
        load_sam_file(tmp_path / "tiny.safetensors")


@pytest.mark.parametrize("name", ["mobile_sam.pt", "tiny.safetensors"])
def test_fuzz_quick(name: str, seeds: dict[str, bytes], tmp_path: Path) -> None:
    target = tmp_path / name

    @QUICK
    @given(drawn=cases(seeds[name]))
    def case(drawn: tuple[str | None, list[tuple[str, int, bytes]]]) -> None:
        target.write_bytes(_mutated(seeds[name], *drawn))
        for read in (load_sam_file, family_of_file):
            with contextlib.suppress(WeightsError):  # the only error allowed out
                read(target)

    case()
