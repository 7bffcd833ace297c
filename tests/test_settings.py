"""Settings files edited by hand: every value is checked on load, a bad one falls back to its
default with one log line (and the window says so), the good ones are kept."""

from __future__ import annotations

import dataclasses
import json
import logging

import pytest

from lamapaint import settings as settings_module
from lamapaint.settings import Settings, app_paths


def _write(text: str) -> None:
    path = app_paths().settings_file
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def _write_values(**values: object) -> None:
    _write(json.dumps(values))


def test_good_values_are_kept() -> None:
    wanted = Settings(model="opencv-ns", device="cuda:1", precision="bf16", strategy="resize", threads=3, remove_on_stroke_end=True,
                      brush_size=12, jpeg_quality=88, autosave_seconds=30, recent_files=["/a.jpg"], window_geometry="AAEC", window_state="")
    wanted.save()
    assert Settings.load_checked() == (wanted, [])


@pytest.mark.parametrize(
    ("name", "value"),
    [("strategy", "tile"), ("model", "lama-huge"), ("device", "tpu"), ("device", "cuda:x"), ("precision", 16), ("threads", -2),
     ("threads", "4"), ("remove_on_stroke_end", "yes"), ("brush_size", 0), ("brush_size", True), ("jpeg_quality", 101),
     ("jpeg_quality", 90.5), ("autosave_seconds", None), ("recent_files", "/a.jpg"), ("recent_files", ["/a.jpg", 3]),
     ("window_geometry", "not base64!"), ("window_state", 12)],
)
def test_a_bad_value_falls_back_to_its_default_with_one_log_line(name: str, value: object, caplog: pytest.LogCaptureFixture) -> None:
    _write_values(**{name: value, "brush_size" if name != "brush_size" else "threads": 17 if name != "brush_size" else 2})
    with caplog.at_level(logging.WARNING, logger="lamapaint.settings"):
        loaded, reset = Settings.load_checked()
    assert getattr(loaded, name) == getattr(Settings(), name)
    assert reset == [f"{name} ({json.dumps(value)})"]
    assert (loaded.brush_size == 17) if name != "brush_size" else (loaded.threads == 2)  # the good value stays
    assert len(caplog.records) == 1 and name in caplog.records[0].getMessage()


def test_unknown_keys_are_ignored_quietly(caplog: pytest.LogCaptureFixture) -> None:
    _write_values(colour_profile="sRGB", brush_size=9)
    with caplog.at_level(logging.WARNING, logger="lamapaint.settings"):
        assert Settings.load_checked() == (Settings(brush_size=9), [])
    assert not caplog.records


@pytest.mark.parametrize("text", ["{not json", "[1, 2]", "null"])
def test_an_unusable_file_gives_the_defaults_and_says_so(text: str) -> None:
    _write(text)
    loaded, reset = Settings.load_checked()
    assert loaded == Settings() and len(reset) == 1 and "whole file" in reset[0]


def test_no_file_is_no_problem() -> None:
    assert Settings.load_checked() == (Settings(), [])


def test_every_setting_has_its_check() -> None:
    assert set(settings_module._CHECKS) == {f.name for f in dataclasses.fields(Settings)}
