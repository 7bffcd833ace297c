"""SAM weights files for tests: deterministic vit_t as the official file, and cheap files of any layout."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from lamapaint.select.sam import deterministic_state_dict
from lamapaint.select.weights import sam_layout


def layout_state_dict(config: str) -> dict[str, torch.Tensor]:
    """Right keys and shapes as zero-stride views of one value: a file of a few KB, even for vit_h."""
    one = torch.zeros(1)
    return {
        key: torch.zeros((), dtype=torch.int64) if key.endswith("num_batches_tracked") else one.expand(shape)
        for key, shape in sam_layout(config).items()
    }


@pytest.fixture(scope="session")
def mobile_sam_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Deterministic vit_t weights saved as the official ``mobile_sam.pt`` is (torch.save of the state dict)."""
    path = tmp_path_factory.mktemp("sam") / "mobile_sam.pt"
    torch.save(deterministic_state_dict("vit_t"), path)
    return path
