"""Frozen entry point of ``lamapaint-cli`` (the bundle's console executable)."""

import sys

from lamapaint.io.isolated import run_if_child

run_if_child()  # the bundle started as the block-wise JPEG save's helper process: that, and exit

from lamapaint.cli import console_main  # noqa: E402 - after the helper check, which must come first

sys.exit(console_main())
