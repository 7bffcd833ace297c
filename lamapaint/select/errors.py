"""The selection engine's user-facing error: one line, worded for the person."""

from __future__ import annotations

from lamapaint.models.types import EngineError


class SelectError(EngineError):
    """A selection could not be made: a bad prompt, a bad photo, or a call out of order."""
