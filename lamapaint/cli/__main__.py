import sys

from lamapaint.cli import main

sys.exit(main())
