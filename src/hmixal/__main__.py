"""``python -m hmixal``: the same command line as ``hmixal``."""

import sys

from hmixal.cli import main

if __name__ == "__main__":
    sys.exit(main())
