"""Names and errors every model engine shares. Torch-free: the CLI and the editor import them early."""

from __future__ import annotations

from lamapaint.option_names import DEVICES as DEVICES  # re-exported: one list for every engine
from lamapaint.option_names import PRECISIONS as PRECISIONS


class EngineError(Exception):
    """A user-facing engine failure; the message is one line, worded for the person."""


class DeviceError(EngineError):
    """A device or precision that is unknown or not available here."""
