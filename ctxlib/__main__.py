"""``python -m ctxlib`` is the command line ``ctxlib`` (see :mod:`ctxlib.micrographs.cli`)."""

import sys

from ctxlib.micrographs.cli import main

if __name__ == "__main__":
    sys.exit(main())
