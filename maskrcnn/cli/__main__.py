"""``python -m maskrcnn.cli``: the ``maskrcnn`` command line."""
import sys

from . import main

sys.exit(main())
