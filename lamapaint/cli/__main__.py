import sys

from lamapaint.cli import console_main

sys.exit(console_main())
