"""The training recipes that ship with the package: TOML configs of the papers' experiments.

``stylebias train --config pacs_mixstyle`` finds ``pacs_mixstyle.toml`` here from any
directory; a path to an existing file always wins over a shipped recipe of the same name.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import MissingFileError

__all__ = ["RECIPE_DIR", "list_recipes", "resolve_config"]

RECIPE_DIR = Path(__file__).resolve().parent


def list_recipes() -> list[str]:
    """Names of the shipped recipes (file names without ``.toml``), sorted."""
    return sorted(p.stem for p in RECIPE_DIR.glob("*.toml"))


def resolve_config(text: str | os.PathLike[str]) -> Path:
    """The TOML file ``--config text`` means: an existing file, else a shipped recipe.

    Raises:
        MissingFileError: no such file and no shipped recipe of that name; the message lists
            the recipes.
    """
    path = Path(text)
    if path.exists():
        return path
    name = path.name.removesuffix(".toml")
    if path.parent == Path(".") and name in list_recipes():
        return RECIPE_DIR / f"{name}.toml"
    raise MissingFileError(
        f"config file {text} (--config) does not exist and is not a shipped recipe; give the path of a "
        f"TOML file or one of: {', '.join(list_recipes())} (`stylebias list recipes`)"
    )
