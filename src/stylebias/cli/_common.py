"""Small helpers shared by the commands."""

from __future__ import annotations

import json
import sys
from typing import Any

from ..io import write_json

__all__ = ["print_json", "write_json"]


def print_json(obj: Any) -> None:
    """Print ``obj`` as indented JSON on stdout."""
    json.dump(obj, sys.stdout, indent=2, sort_keys=False)
    sys.stdout.write("\n")
