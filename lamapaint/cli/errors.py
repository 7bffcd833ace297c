"""The CLI's exit codes and its one user-facing error type.

A leaf module: the ``lamapaint.cli`` package and its subcommands (``remove``, ``models``) all import
it, so no subcommand has to import the package that dispatches to it.

Exit codes (documented in README.md):
  0 success · 1 some inputs failed (folder mode) · 2 usage error (also: an output the format or
  folder cannot hold, found by the export plan before inference) · 3 bad input file ·
  4 model or weights problem · 5 output exists (use --overwrite) · 6 network/download problem ·
  7 output cannot be written (disk full, permission denied, read-only) · 130 interrupted
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_PARTIAL = 1
EXIT_USAGE = 2
EXIT_INPUT = 3
EXIT_MODEL = 4
EXIT_EXISTS = 5
EXIT_NETWORK = 6
EXIT_OUTPUT = 7
EXIT_INTERRUPTED = 130


class CliError(Exception):
    """A user-facing failure: one line on stderr and an exit code, no traceback."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code
