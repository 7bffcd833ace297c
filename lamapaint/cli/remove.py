"""``lamapaint-cli remove``: owned by the pipeline work (see docs/ARCHITECTURE.md)."""

from __future__ import annotations

import argparse


def add_parser(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    p = sub.add_parser("remove", help="remove the masked area of a photo (or of every photo in a folder)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    raise NotImplementedError
