"""Stimulus folders of Geirhos et al. (ICLR 2019): names, layout checks and default download.

Layout (as in rgeirhos/texture-vs-shape ``stimuli/``): 16 folders named after the categories;
the folder is the true (shape) category of every image in it.

* ``cue-conflict`` (``style-transfer-preprocessed-512``): 1,280 PNGs named
  ``<shape><k>-<texture><m>.png`` (e.g. ``cat/cat2-elephant1.png``): shape from one image,
  texture from another; 80 of them have shape = texture and carry no conflict.
* ``silhouettes`` (``filled-silhouettes``) and ``edges``: 160 PNGs each, ``<category><k>.png``.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from .._checks import check_choice
from ..errors import DataError, MissingFileError
from ..hub import download_set, get_artifact_set
from ..io import IMAGE_EXTENSIONS, list_images
from .categories import CATEGORIES

__all__ = [
    "Stimulus",
    "STIMULUS_SETS",
    "parse_cue_conflict_name",
    "texture_from_imagename",
    "find_stimuli",
    "published_stimuli",
]

STIMULUS_SETS = ("cue-conflict", "silhouettes", "edges")
"""Names of the stimulus sets (also the names of their download artifacts)."""

_SOURCE_FOLDER = {"cue-conflict": "style-transfer-preprocessed-512", "silhouettes": "filled-silhouettes",
                  "edges": "edges"}
_CUE_CONFLICT = re.compile(r"^(?P<shape>[a-z]+)\d+-(?P<texture>[a-z]+)\d+$")
_SINGLE = re.compile(r"^(?P<category>[a-z]+)\d+$")
_SHOWN = 8  # names listed in an error message


@dataclass(frozen=True)
class Stimulus:
    """One stimulus image.

    Attributes:
        path: the file.
        category: true category (the folder; the shape category for cue-conflict images).
        texture: texture category of a cue-conflict image, else ``None``.
    """

    path: Path
    category: str
    texture: str | None = None

    @property
    def name(self) -> str:
        """File name, as written to the ``imagename`` column of raw-data CSV files."""
        return self.path.name

    @property
    def is_conflict(self) -> bool:
        """Shape and texture categories differ (only such images count for shape bias)."""
        return self.texture is not None and self.texture != self.category


def parse_cue_conflict_name(name: str) -> tuple[str, str] | None:
    """``(shape, texture)`` from a cue-conflict file name, ``None`` if it does not match.

    >>> parse_cue_conflict_name("cat2-elephant1.png")
    ('cat', 'elephant')
    """
    m = _CUE_CONFLICT.match(Path(name).stem)
    return (m["shape"], m["texture"]) if m else None


def texture_from_imagename(imagename: str) -> str:
    """Texture category from an ``imagename`` of a raw-data CSV (model-vs-human rule).

    The part after the last ``_``, without suffix, after the last ``-``, without digits:
    ``"0002_s5n_s01_0_bird_00_bird2-clock3.png" -> "clock"``; ``"cat2-elephant1.png" ->
    "elephant"``.
    """
    last = imagename.split("_")[-1].split(".")[0].split("-")[-1]
    return "".join(ch for ch in last if not ch.isdigit())


def _listing(names: list[str]) -> str:
    shown = ", ".join(names[:_SHOWN])
    return shown + (f" and {len(names) - _SHOWN} more" if len(names) > _SHOWN else "")


def find_stimuli(
    root: str | os.PathLike[str],
    stimuli: str = "cue-conflict",
    *,
    complete: bool | None = None,
) -> list[Stimulus]:
    """List and check the stimuli under ``root`` (sorted by path).

    Args:
        root: folder with one sub-folder per category.
        stimuli: ``"cue-conflict"``, ``"silhouettes"`` or ``"edges"``.
        complete: require every file of the published set. ``None`` (default): required when
            the folder holds more than half of them (a published set with files lost), not for
            a folder of your own stimuli.

    Raises:
        DataError: missing folder, no images, files outside a category folder, folders that are
            not one of the 16 categories, file names not following the convention, or (see
            ``complete``) published files missing; every message names the offending files.
    """
    check_choice(stimuli, STIMULUS_SETS, "stimuli")
    folder = Path(root)
    paths = list_images(folder, extensions=IMAGE_EXTENSIONS)
    found: list[Stimulus] = []
    misplaced, unknown_folder, misnamed = [], [], []
    for path in paths:
        rel = path.relative_to(folder)
        if len(rel.parts) != 2:
            misplaced.append(rel.as_posix())
            continue
        category = rel.parts[0]
        if category not in CATEGORIES:
            unknown_folder.append(rel.as_posix())
            continue
        if stimuli == "cue-conflict":
            parsed = parse_cue_conflict_name(path.name)
            if parsed is None or parsed[0] != category or parsed[1] not in CATEGORIES:
                misnamed.append(rel.as_posix())
                continue
            found.append(Stimulus(path, category, parsed[1]))
        else:
            m = _SINGLE.match(path.stem)
            if m is None or m["category"] != category:
                misnamed.append(rel.as_posix())
                continue
            found.append(Stimulus(path, category))
    if misplaced:
        raise DataError(
            f"{len(misplaced)} image(s) in {folder} are not inside a category folder "
            f"(expected {folder}/<category>/<file>): {_listing(misplaced)}"
        )
    if unknown_folder:
        raise DataError(
            f"{len(unknown_folder)} image(s) in {folder} are in folders that are not one of the "
            f"16 categories ({', '.join(CATEGORIES)}): {_listing(unknown_folder)}"
        )
    if misnamed:
        pattern = ("<shape><k>-<texture><m>.png with <shape> = the folder and both categories "
                   "among the 16" if stimuli == "cue-conflict" else "<category><k>.png with "
                   "<category> = the folder")
        raise DataError(
            f"{len(misnamed)} file name(s) in {folder} do not follow the {stimuli} convention "
            f"({pattern}): {_listing(misnamed)}"
        )
    _check_complete(folder, found, stimuli, complete)
    return found


def _check_complete(folder: Path, found: list[Stimulus], stimuli: str, complete: bool | None) -> None:
    if complete is False:
        return
    published = {rel for rel, _ in get_artifact_set(stimuli).files()}
    have = {s.path.relative_to(folder).as_posix() for s in found}
    if complete is None and len(have & published) * 2 <= len(published):
        return
    missing = sorted(published - have)
    if missing:
        raise DataError(
            f"{len(missing)} of the {len(published)} published {stimuli} stimuli are missing "
            f"from {folder}: {_listing(missing)}. Restore them (`stylebias download {stimuli}`), "
            f"or evaluate the folder as it is with complete=False (--allow-incomplete)."
        )


def published_stimuli(
    stimuli: str = "cue-conflict",
    cache_dir: str | os.PathLike[str] | None = None,
    *,
    download: bool = True,
    progress: bool = True,
) -> Path:
    """Folder of a published stimulus set in the cache, downloaded (and verified) on first use.

    The files come one by one from a pinned commit of rgeirhos/texture-vs-shape, each checked
    against the sha256 in the manifest shipped with stylebias.

    Raises:
        MissingFileError: not cached and ``download=False``, or the download failed.
    """
    check_choice(stimuli, STIMULUS_SETS, "stimuli")
    try:
        return download_set(stimuli, cache_dir, download=download, progress=progress)
    except MissingFileError as err:
        raise MissingFileError(
            f"{err} Alternatively pass a local copy of the stimuli: --stimuli DIR (API: "
            f"stimuli_dir=DIR), a folder with the 16 category folders of "
            f"rgeirhos/texture-vs-shape stimuli/{_SOURCE_FOLDER[stimuli]}."
        ) from err
