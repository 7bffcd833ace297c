"""Frozen entry point of ``lamapaint-cli`` (the bundle's console executable)."""

import sys

from lamapaint.cli import console_main

sys.exit(console_main())
