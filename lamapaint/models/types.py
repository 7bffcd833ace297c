"""Names and errors every model engine shares. Torch-free: the CLI and the editor import them early."""

from __future__ import annotations

#: Device names; ``cuda:N`` is accepted as well.
DEVICES = ("auto", "cpu", "cuda", "mps")
PRECISIONS = ("auto", "fp32", "bf16", "fp16")


class EngineError(Exception):
    """A user-facing engine failure; the message is one line, worded for the person."""


class DeviceError(EngineError):
    """A device or precision that is unknown or not available here."""
