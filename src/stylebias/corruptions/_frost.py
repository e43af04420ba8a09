"""The frost pictures of ImageNet-C, found at run time (stylebias does not ship them).

Hendrycks & Dietterich blend crops of a few photographs of frost into the images. Those
pictures come with the reference code and with the ``imagecorruptions`` packages on PyPI;
stylebias reads them from, in order: the ``frost_dir`` argument, the ``STYLEBIAS_FROST_DIR``
environment variable, an installed ``imagecorruptions`` (or ``imagecorruptions-imaug``) package.
"""

from __future__ import annotations

import functools
import importlib.util
import os
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import Tensor

from ..errors import MissingFileError

__all__ = ["FROST_FILES", "find_frost_dir", "load_frost_images"]

#: The reference draws from the first five (``np.random.randint(5)``); the sixth is unused.
FROST_FILES = ("frost1.png", "frost2.png", "frost3.png", "frost4.jpg", "frost5.jpg")

ENV_VAR = "STYLEBIAS_FROST_DIR"


def _package_frost_dir() -> Path | None:
    spec = importlib.util.find_spec("imagecorruptions")  # locates without importing it
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        candidate = Path(location) / "frost"
        if candidate.is_dir():
            return candidate
    return None


def find_frost_dir(frost_dir: str | os.PathLike[str] | None = None) -> Path:
    """The folder holding ``frost1.png`` ... ``frost5.jpg``.

    Raises:
        MissingFileError: no folder given or found, or a file is missing from it.
    """
    tried = []
    candidates: list[Path | None] = []
    if frost_dir is not None:
        candidates.append(Path(frost_dir))
    elif os.environ.get(ENV_VAR):
        candidates.append(Path(os.environ[ENV_VAR]))
    else:
        candidates.append(_package_frost_dir())
    for folder in candidates:
        if folder is None:
            continue
        tried.append(str(folder))
        missing = [name for name in FROST_FILES if not (folder / name).is_file()]
        if not missing:
            return folder
        raise MissingFileError(
            f"the frost corruption needs {', '.join(FROST_FILES)} in {folder}, but "
            f"{', '.join(missing)} {'is' if len(missing) == 1 else 'are'} missing"
        )
    raise MissingFileError(
        "the frost corruption needs the ImageNet-C frost pictures (frost1.png ... frost5.jpg), "
        "and none were found. Install them with `pip install --no-deps imagecorruptions-imaug` "
        f"(about 2 MB), or point the {ENV_VAR} environment variable or the frost_dir argument "
        "at a folder holding them (they are in ImageNet-C/create_c/ of hendrycks/robustness)."
    )


@functools.lru_cache(maxsize=4)
def _load(folder: str) -> tuple[Tensor, ...]:
    images = []
    for name in FROST_FILES:
        with Image.open(Path(folder) / name) as im:
            rgb = np.asarray(im.convert("RGB"), dtype=np.uint8).copy()
        images.append(torch.from_numpy(rgb).permute(2, 0, 1).contiguous())
    return tuple(images)


def load_frost_images(frost_dir: str | os.PathLike[str] | None = None) -> tuple[Tensor, ...]:
    """The five frost pictures as ``(3, H, W)`` uint8 CPU tensors (read once, then cached)."""
    return _load(str(find_frost_dir(frost_dir).resolve()))
