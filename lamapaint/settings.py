"""Where lamapaint keeps its files, and the user's preferences.

Folders come from platformdirs; ``LAMAPAINT_HOME`` moves all of them under one folder (tests,
portable installs).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

import platformdirs

from lamapaint.io.atomic import atomic_write_bytes, remove_stale_temp_files

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
        """The saved settings (defaults when there are none); also removes temp files of a killed save."""
        path = (paths or app_paths()).settings_file
        try:
            remove_stale_temp_files(path.parent, path.name)
        except OSError as exc:
            log.debug("Could not look for stale settings temp files: %s", exc)
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return cls()
        except (OSError, ValueError) as exc:
            log.warning("Ignoring unreadable settings file %s: %s", path, exc)
            return cls()
        known = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in raw.items() if k in known} if isinstance(raw, dict) else {}
        try:
            return cls(**values)
        except TypeError as exc:
            log.warning("Ignoring malformed settings in %s: %s", path, exc)
            return cls()

    def save(self, paths: AppPaths | None = None) -> None:
        """Write the settings atomically; raises OSError (disk full, read-only...) with the old file intact."""
        path = (paths or app_paths()).settings_file
        data = json.dumps(dataclasses.asdict(self), indent=2).encode("utf-8")
        atomic_write_bytes(path, data)
