"""``DATASETS``: the benchmarks reachable by name (DomainBed style).

Each registered benchmark is a ``torch.utils.data.Dataset`` class declaring ``DOMAINS``,
``NUM_CLASSES``, ``INPUT_SHAPE``, ``CLASSES`` and ``SPLITS``.
"""

from __future__ import annotations

from typing import Any

from .._registry import Registry
from .shape_texture import ShapeTexture

__all__ = ["DATASETS", "create_dataset", "list_datasets"]

DATASETS: Registry[type] = Registry("dataset")
DATASETS.register("shape_texture", ShapeTexture, aliases=("builtin", "shapes"))


def create_dataset(name: str, *args: Any, **kwargs: Any):
    """Instantiate the benchmark registered as ``name`` (any case, ``-``/``_`` ignored).

    Raises:
        UnknownNameError: no such benchmark; the message lists the available ones.
    """
    return DATASETS.get(name)(*args, **kwargs)


def list_datasets(pattern: str = "*") -> list[str]:
    """Registered benchmark names matching a shell wildcard."""
    return DATASETS.list(pattern)
