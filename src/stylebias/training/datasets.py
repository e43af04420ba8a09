"""Turn ``TrainConfig.data`` into a :class:`DataBundle` (filled in as dataset kinds land)."""

from __future__ import annotations

from ..errors import InvalidArgumentError
from .config import TrainConfig
from .data import DataBundle

__all__ = ["build_data"]


def build_data(cfg: TrainConfig) -> DataBundle:
    """The datasets ``cfg.data`` names."""
    raise InvalidArgumentError(f"unknown data source {cfg.data!r}")
