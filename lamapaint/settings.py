"""Where lamapaint keeps its files, and the user's preferences.

Folders come from platformdirs; ``LAMAPAINT_HOME`` moves all of them under one folder (tests,
portable installs). A settings file is checked value by value when it is read: one a person
edited by hand (``"strategy": "tile"``) costs that value, reset to its default and named in one
log line and the window's status bar, never a removal that silently fails later.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import json
import logging
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import platformdirs

from lamapaint.io.atomic import atomic_write_bytes, remove_stale_temp_files
from lamapaint.option_names import DEVICES, MODELS, PRECISIONS, STRATEGIES

log = logging.getLogger(__name__)

APP_NAME = "lamapaint"


@dataclass(frozen=True)
class AppPaths:
    config_dir: Path
    models_dir: Path
    autosave_dir: Path
    cache_dir: Path

    @property
    def settings_file(self) -> Path:
        return self.config_dir / "settings.json"


def app_paths() -> AppPaths:
    home = os.environ.get("LAMAPAINT_HOME")
    if home:
        root = Path(home)
        return AppPaths(root / "config", root / "models", root / "autosave", root / "cache")
    return AppPaths(
        config_dir=Path(platformdirs.user_config_dir(APP_NAME)),
        models_dir=Path(platformdirs.user_data_dir(APP_NAME)) / "models",
        autosave_dir=Path(platformdirs.user_state_dir(APP_NAME)) / "autosave",
        cache_dir=Path(platformdirs.user_cache_dir(APP_NAME)),
    )


@dataclass
class Settings:
    """User preferences that persist between runs; unknown keys in the file are ignored."""

    model: str = "auto"  # lamapaint.inpaint.types: MODELS
    device: str = "auto"  # DEVICES (or cuda:N)
    precision: str = "auto"  # PRECISIONS
    strategy: str = "auto"  # STRATEGIES
    threads: int = 0  # 0 = from the cores available
    remove_on_stroke_end: bool = False
    brush_size: int = 40
    jpeg_quality: int = 95
    autosave_seconds: int = 60
    recent_files: list[str] = field(default_factory=list)
    window_geometry: str = ""  # base64 of QWidget.saveGeometry()
    window_state: str = ""

    @classmethod
    def load(cls, paths: AppPaths | None = None) -> "Settings":
        """The saved settings (defaults when there are none); see ``load_checked``."""
        return cls.load_checked(paths)[0]

    @classmethod
    def load_checked(cls, paths: AppPaths | None = None) -> tuple["Settings", list[str]]:
        """The saved settings and the names of the values that were reset to their defaults.

        Unknown keys are ignored; a value of the wrong type or outside its allowed names falls back
        to the default (one log line for all of them). Also removes temp files of a killed save.
        """
        path = (paths or app_paths()).settings_file
        try:
            remove_stale_temp_files(path.parent, path.name)
        except OSError as exc:
            log.debug("Could not look for stale settings temp files: %s", exc)
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return cls(), []
        except (OSError, ValueError) as exc:
            log.warning("Ignoring unreadable settings file %s: %s", path, exc)
            return cls(), ["the whole file (unreadable)"]
        if not isinstance(raw, dict):
            log.warning("Ignoring settings file %s: not a JSON object", path)
            return cls(), ["the whole file (not a settings object)"]
        values: dict[str, Any] = {}
        reset: list[str] = []
        for name, check in _CHECKS.items():
            if name not in raw:
                continue
            if check(raw[name]):
                values[name] = list(raw[name]) if isinstance(raw[name], list) else raw[name]
            else:
                reset.append(f"{name} ({_shown(raw[name])})")
        if reset:
            log.warning("Settings file %s: reset to their defaults: %s", path, "; ".join(reset))
        return cls(**values), reset

    def save(self, paths: AppPaths | None = None) -> None:
        """Write the settings atomically; raises OSError (disk full, read-only...) with the old file intact."""
        path = (paths or app_paths()).settings_file
        data = json.dumps(dataclasses.asdict(self), indent=2).encode("utf-8")
        atomic_write_bytes(path, data)


_CUDA_INDEX = re.compile(r"cuda:\d+")


def _text(value: Any) -> bool:
    return isinstance(value, str)


def _whole(low: int, high: int | None = None) -> Callable[[Any], bool]:
    """An int (not a bool) in [low, high]."""
    return lambda value: isinstance(value, int) and not isinstance(value, bool) and value >= low and (high is None or value <= high)


def _one_of(names: tuple[str, ...]) -> Callable[[Any], bool]:
    return lambda value: isinstance(value, str) and value in names


def _base64(value: Any) -> bool:
    try:
        base64.b64decode(value, validate=True)
    except (TypeError, ValueError, binascii.Error):
        return False
    return isinstance(value, str)


#: What each saved value may be: one check per Settings field (a test holds them to it).
_CHECKS: dict[str, Callable[[Any], bool]] = {
    "model": _one_of(MODELS),
    "device": lambda value: _one_of(DEVICES)(value) or (isinstance(value, str) and _CUDA_INDEX.fullmatch(value) is not None),
    "precision": _one_of(PRECISIONS),
    "strategy": _one_of(STRATEGIES),
    "threads": _whole(0),
    "remove_on_stroke_end": lambda value: isinstance(value, bool),
    "brush_size": _whole(1),
    "jpeg_quality": _whole(1, 100),
    "autosave_seconds": _whole(0),  # the autosave waits at least a second whatever it says
    "recent_files": lambda value: isinstance(value, list) and all(isinstance(item, str) for item in value),
    "window_geometry": _base64,
    "window_state": _base64,
}


def _shown(value: Any) -> str:
    """A value as the log and status bar quote it: JSON, cut short."""
    text = json.dumps(value)
    return text if len(text) <= 40 else text[:37] + "..."
