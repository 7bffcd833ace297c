"""The engine's shared types: options are validated and hashable, run records survive a project file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lamapaint.core.geometry import Rect
from lamapaint.inpaint.types import (
    ChecksumError,
    DeviceError,
    DownloadError,
    EngineError,
    InpaintError,
    InpaintOptions,
    NoWeightsError,
    RegionInfo,
    RunInfo,
    UnsafePickleError,
    WeightsError,
    run_brief,
    run_details,
    run_summary,
)


def _run(**changes: object) -> RunInfo:
    fields = dict(
        backend="lama", model="big-lama", device="cpu", precision="bf16", requested_strategy="auto",
        strategy="crop", scale=1.0, work_pixels=524288, network_pixels=419328, seconds=2.234,
        regions=(RegionInfo(Rect(10, 20, 634, 692), Rect(80, 90, 500, 600), "crop", 1.0, (624, 672), 419328, 2.2),),
    )
    fields.update(changes)
    return RunInfo(**fields)  # type: ignore[arg-type]


def test_options_are_hashable_and_equal_by_value() -> None:
    a = InpaintOptions(model="big-lama", weights="w.safetensors")  # type: ignore[arg-type]
    b = InpaintOptions(model="big-lama", weights=Path("w.safetensors"))
    assert a == b and hash(a) == hash(b) and isinstance(a.weights, Path)
    assert a != InpaintOptions(model="big-lama")


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [("model", "lama-huge", "unknown model"), ("strategy", "tile", "unknown strategy"),
     ("precision", "int8", "unknown precision"), ("threads", -1, "thread count"), ("work_pixels", -5, "work budget")],
)
def test_options_refuse_unknown_values(field: str, value: object, words: str) -> None:
    with pytest.raises(InpaintError, match=words):
        InpaintOptions(**{field: value})  # type: ignore[arg-type]


def test_every_engine_error_is_one_family() -> None:
    for cls in (InpaintError, DeviceError, WeightsError, UnsafePickleError, NoWeightsError, DownloadError, ChecksumError):
        assert issubclass(cls, EngineError)
    assert issubclass(DeviceError, InpaintError) and issubclass(ChecksumError, DownloadError)


def test_run_info_round_trips_through_a_layer_info_in_json() -> None:
    run = _run()
    info = json.loads(json.dumps(run.to_layer_info(), allow_nan=False))
    assert info["model"] == "big-lama" and info["precision"] == "bf16"
    assert "backend" not in info and info["run"]["backend"] == "lama"  # one meaning per name: the family
    assert RunInfo.from_dict(info) == run


def test_run_info_from_something_else_is_none() -> None:
    assert RunInfo.from_dict({"backend": "opencv-telea"}) is None
    assert RunInfo.from_dict({**_run().to_dict(), "seconds": float("nan")}) is None


def test_summary_speaks_plainly_and_details_carry_the_technical_words() -> None:
    assert run_summary(_run()) == "Removed in 2.2 s with LaMa"
    assert run_summary(_run(backend="opencv", model="opencv-telea", precision="uint8")) == "Removed in 2.2 s with the basic fill"
    assert run_brief(_run(scale=0.5)).endswith(f"strategy {_run().strategy} (scale 0.50, {len(_run().regions)} region(s), {_run().network_pixels} network px)")
    details = run_details(_run(scale=0.5))
    assert "big-lama" in details and "bf16" in details and "50%" in details
