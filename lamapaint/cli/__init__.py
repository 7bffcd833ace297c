"""``lamapaint-cli``: headless removal and model management. Imports no Qt.

The exit codes and ``CliError`` live in :mod:`lamapaint.cli.errors` (re-exported here); the
subcommands import them from there, never from this package, so nothing imports back into it.
"""

from __future__ import annotations

import argparse
import gc
import logging
import sys
from typing import Sequence

from lamapaint._version import __version__
from lamapaint.cli.errors import (
    EXIT_EXISTS,
    EXIT_INPUT,
    EXIT_INTERRUPTED,
    EXIT_MODEL,
    EXIT_NETWORK,
    EXIT_OK,
    EXIT_OUTPUT,
    EXIT_PARTIAL,
    EXIT_USAGE,
    CliError,
)

__all__ = [
    "EXIT_EXISTS", "EXIT_INPUT", "EXIT_INTERRUPTED", "EXIT_MODEL", "EXIT_NETWORK", "EXIT_OK", "EXIT_OUTPUT", "EXIT_PARTIAL",
    "EXIT_USAGE", "CliError", "build_parser", "console_main", "main",
]

log = logging.getLogger("lamapaint.cli")


def build_parser() -> argparse.ArgumentParser:
    from lamapaint.cli import models, remove, select

    parser = argparse.ArgumentParser(prog="lamapaint-cli", description="Remove objects from photos with LaMa; select them with Segment Anything.")
    parser.add_argument("--version", action="version", version=f"lamapaint {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log details and show tracebacks")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    remove.add_parser(sub)
    select.add_parser(sub)
    models.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    try:
        return int(args.run(args))
    except CliError as exc:
        if args.verbose:
            log.exception("failed")
        print(f"lamapaint-cli: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("lamapaint-cli: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


def console_main() -> int:
    """The ``lamapaint-cli`` program: :func:`main`, and a quick exit.

    The process ends right after; interpreter shutdown would otherwise walk every object torch
    created in a last garbage collection (0.4 s measured). Frozen objects are left to the OS.
    """
    code = main()
    gc.freeze()
    return code
