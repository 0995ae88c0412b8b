"""`python -m kerasgen` is the `kerasgen` command."""

import sys

from kerasgen.cli import entry

sys.exit(entry())
