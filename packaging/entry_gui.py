"""Frozen entry point of the ``lamapaint`` editor (the bundle's windowed executable)."""

import sys

from lamapaint.__main__ import main

sys.exit(main())
