"""Frozen entry point of the ``lamapaint`` editor (the bundle's windowed executable)."""

import sys

from lamapaint.io.isolated import run_if_child

run_if_child()  # the bundle started as the block-wise JPEG save's helper process: that, and exit

from lamapaint.__main__ import main  # noqa: E402 - after the helper check, which must come first

sys.exit(main())
