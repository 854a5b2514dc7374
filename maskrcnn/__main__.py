"""``python -m maskrcnn``: the ``maskrcnn`` command line."""
import sys

from .cli import main

sys.exit(main())
