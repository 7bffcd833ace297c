"""A layer's run record through a project file: typed on the layer, readable by older and newer
versions, and old-format infos (the model under "backend") still open with their details."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from lamapaint.core import run_record
from lamapaint.core.document import Document
from lamapaint.core.geometry import Rect
from lamapaint.core.layers import Layer
from lamapaint.core.run_record import RegionInfo, RunInfo
from lamapaint.io.project import load_project, save_project

RUN = RunInfo(
    backend="opencv", model="opencv-telea", device="cpu", precision="uint8", requested_strategy="auto", strategy="crop",
    scale=1.0, work_pixels=0, network_pixels=0, seconds=0.123,
    regions=(RegionInfo(Rect(0, 0, 40, 30), Rect(5, 5, 20, 15), "crop", 1.0, (40, 30), 1280, 0.1),),
)

#: A layer's info as lamapaint 0.2 wrote it: the model's name under "backend" at the top.
OLD_INFO = {
    "backend": "opencv-telea", "model": "opencv-telea", "device": "cpu", "precision": "uint8", "strategy": "crop",
    "scale": 1.0, "seconds": 0.123, "run": RUN.to_dict(),
}


def _patch(run: RunInfo | None = None, info: dict | None = None) -> Layer:
    return Layer.create("Removal 1", Rect(5, 5, 20, 15), np.full((10, 15, 3), 90, np.uint8), np.full((10, 15), 255, np.uint8), info=info, run=run)


def _saved_and_loaded(tmp_path: Path, layer: Layer) -> Layer:
    doc = Document(np.zeros((30, 40, 3), np.uint8), name="photo")
    doc.add_layer(layer, clear_mask=False)
    save_project(tmp_path / "p.lamapaint", doc.snapshot())
    (loaded,) = load_project(tmp_path / "p.lamapaint").layers
    return loaded


def test_a_run_travels_typed_and_comes_back_from_the_file(tmp_path: Path) -> None:
    layer = _patch(run=RUN)
    assert layer.run is RUN and layer.info["model"] == "opencv-telea" and "backend" not in layer.info
    loaded = _saved_and_loaded(tmp_path, layer)
    assert loaded.run == RUN
    # what an older version reads: the record under "run", strict JSON
    info = json.loads(json.dumps(loaded.info, allow_nan=False))
    assert RunInfo.from_dict(info) == RUN and info["run"]["backend"] == "opencv"


def test_an_old_format_layer_info_still_opens_with_its_details(tmp_path: Path) -> None:
    loaded = _saved_and_loaded(tmp_path, _patch(info=dict(OLD_INFO)))
    assert loaded.run == RUN and loaded.run.backend == "opencv"  # the family, whatever the headline said


def test_the_record_is_read_once_per_layer_not_per_edit(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    parse = RunInfo.from_dict.__func__

    def counting(cls: type, data: dict) -> RunInfo | None:
        calls.append(1)
        return parse(cls, data)

    monkeypatch.setattr(run_record.RunInfo, "from_dict", classmethod(counting))
    layer = _patch(info=dict(OLD_INFO))  # as a project file hands it over
    assert calls == [1] and layer.run == RUN
    renamed = layer.replace(name="Sky").replace(visible=False)
    assert calls == [1] and renamed.run is layer.run
    assert _patch(run=RUN).run is RUN and calls == [1]  # made by a removal: never parsed
