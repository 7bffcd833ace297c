"""The errors of model files (both families): torch-free, one line worded for the person."""

from __future__ import annotations

from lamapaint.models.types import EngineError


class WeightsError(EngineError):
    """A weights file could not be used; the message names the file."""


class UnsafePickleError(WeightsError):
    """The file's pickle names a function that could run code; nothing was executed."""


class NoWeightsError(WeightsError):
    """No weights of the wanted family are installed (or none of the requested model)."""


class DownloadError(WeightsError):
    """Network unreachable, HTTP error, disk full, connection lost."""


class ChecksumError(DownloadError):
    """The downloaded bytes do not match the published checksum; the partial file was deleted."""
