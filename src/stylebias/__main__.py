"""``python -m stylebias``: the same as the ``stylebias`` console script."""

import sys

from .cli import main

sys.exit(main())
