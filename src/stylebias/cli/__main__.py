"""``python -m stylebias.cli ...``: the same as the ``stylebias`` console script."""

from . import main

raise SystemExit(main())
