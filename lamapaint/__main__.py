"""``lamapaint [PHOTO|PROJECT]``: open the desktop editor.

Arguments are parsed before Qt is imported so that ``python -m lamapaint --help`` works on a machine
without a display and costs nothing.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import Sequence

from lamapaint import __version__


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lamapaint",
        description="Remove unwanted objects from photos with LaMa, non-destructively.",
    )
    parser.add_argument("path", nargs="?", type=Path, help="a photo, or a .lamapaint project, to open")
    parser.add_argument("--verbose", "-v", action="store_true", help="log debug messages to stderr")
    parser.add_argument("--version", action="version", version=f"lamapaint {__version__}")
    parser.add_argument(
        "--smoke-test", metavar="PNG", type=Path,
        help="open PATH, save a screenshot of the window to PNG once the photo shows, and quit "
        "(exit status 1 if it does not show within 2 minutes); packaging/smoke.sh uses it",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    from lamapaint.qt.app import main as qt_main  # Qt only once the arguments are known good

    if args.smoke_test is not None and args.path is None:
        build_parser().error("--smoke-test needs a photo to open")
    return qt_main(args.path, smoke_screenshot=args.smoke_test)


if __name__ == "__main__":
    sys.exit(main())
