"""What every figure stylebias draws shares: a headless pyplot and an atomic save."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from .errors import InvalidArgumentError
from .io import atomic_write

__all__ = ["pyplot", "figure_format", "save_figure"]

FORMATS = ("png", "pdf", "svg")


def pyplot() -> Any:
    """``matplotlib.pyplot`` on the Agg backend (no display needed).

    Raises:
        ImportError: matplotlib is not installed, with the install command.
    """
    try:
        import matplotlib

        matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt
    except ImportError as err:  # pragma: no cover - matplotlib is a test dependency
        raise ImportError("plotting needs matplotlib: pip install 'stylebias[plot]'") from err
    return plt


def figure_format(path: str | os.PathLike[str]) -> str:
    """The format a figure path asks for (its suffix), refused unless png, pdf or svg."""
    fmt = Path(path).suffix.lower().lstrip(".")
    if fmt not in FORMATS:
        raise InvalidArgumentError(f"a figure must end in .png, .pdf or .svg, got {Path(path).name}")
    return fmt


def save_figure(fig: Any, path: str | os.PathLike[str], *, dpi: int = 130) -> Path:
    """Write ``fig`` atomically in the format its suffix names, then close it."""
    target = Path(path)
    fmt = figure_format(target)
    try:
        with atomic_write(target) as tmp:
            fig.savefig(tmp, format=fmt, dpi=dpi)
    finally:
        pyplot().close(fig)
    return target
