"""Class indices of labelled image folders: which model output each class folder is.

One rule for every folder layout ``evaluate_robustness`` reads (clean ``<class>/<file>``,
ImageNet-C ``<corruption>/<severity>/<class>/<file>`` and the clean folder beside it):

1. The classes are all non-hidden sub-folders, sorted, empty ones included: an empty class
   folder keeps its index and shifts no other label. A folder that cannot be read is an error
   naming it, never silently left out.
2. An explicit class map (folder name -> index) wins; every folder must be in it.
3. Folders named by integers (``0``, ``281``) are those indices.
4. For a 1000-way model, ImageNet WordNet-id folders (``n02123045``) get their ImageNet-1k
   index (:func:`imagenet_wnids`); other names are refused, since a 1000-way model's outputs
   are ImageNet's classes, not the folders' sorted order.
5. Otherwise the ``k``-th folder in sorted order is class ``k`` (torchvision's
   ``ImageFolder``), and there must be exactly as many folders as the model has outputs.
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Iterable, Mapping
from functools import lru_cache
from importlib import resources
from pathlib import Path

from ..errors import DataError, InvalidArgumentError
from ..io import IMAGE_EXTENSIONS, list_images

__all__ = ["imagenet_wnids", "read_class_map", "class_folders", "class_index", "labelled_images", "check_readable",
           "ClassMap"]

log = logging.getLogger(__name__)

#: A class map: a mapping folder name -> index, or a JSON file holding one (or a list of names).
ClassMap = Mapping[str, int] | str | os.PathLike[str]

IMAGENET_CLASSES = 1000
_WNID = re.compile(r"n\d{8}")
_MAP_FIX = 'pass a class map (class_map= or --class-map FILE.json holding {"folder": index, ...})'
_IMAGENET_FIX = (f"{_MAP_FIX}, or rename the folders to ImageNet WordNet ids (n01440764 ...) or to their "
                 "class indices (0 ... 999)")


@lru_cache(maxsize=1)
def imagenet_wnids() -> tuple[str, ...]:
    """The 1000 ImageNet-1k (ILSVRC-2012) WordNet ids; position ``k`` is class index ``k``.

    The standard class order is the sorted order of the wnids (``n01440764`` tench is 0,
    ``n02123045`` tabby is 281, ``n15075141`` toilet tissue is 999), as torchvision's
    ``ImageFolder`` numbers the 1000 training folders. Shipped as ``stylebias/data/
    imagenet_wnids.txt`` (the list timm ships as ``imagenet_synsets.txt``).
    """
    text = resources.files("stylebias").joinpath("data/imagenet_wnids.txt").read_text(encoding="ascii")
    return tuple(text.split())


def read_class_map(source: ClassMap) -> dict[str, int]:
    """A class map as a dict: from a mapping, or from a JSON file holding ``{"name": index}``
    or a list of names (position = index).

    Raises:
        InvalidArgumentError: unreadable file, wrong JSON shape, or an index that is not a
            non-negative integer.
    """
    if isinstance(source, Mapping):
        items = dict(source)
        origin = "class_map"
    else:
        origin = str(source)
        try:
            loaded = json.loads(Path(source).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError) as err:
            raise InvalidArgumentError(f"cannot read the class map {source}: {err}") from err
        if isinstance(loaded, list):
            loaded = {str(name): i for i, name in enumerate(loaded)}
        if not isinstance(loaded, dict):
            raise InvalidArgumentError(
                f"the class map {source} must hold a JSON object {{\"folder\": index, ...}} or a "
                f"list of folder names; got a {type(loaded).__name__}"
            )
        items = loaded
    bad = {k: v for k, v in items.items() if isinstance(v, bool) or not isinstance(v, int) or v < 0}
    if bad:
        shown = dict(list(bad.items())[:5])
        raise InvalidArgumentError(f"{origin}: class indices must be non-negative integers; got {shown}")
    return {str(k): int(v) for k, v in items.items()}


def class_folders(folder: str | os.PathLike[str]) -> list[str]:
    """Names of all class folders directly under ``folder``, sorted (empty ones included).

    Hidden entries (``.``) are ignored, and so are files other than images.

    Raises:
        DataError: ``folder`` or a class folder below it cannot be read, a class entry is a
            broken link, or an image file lies directly in ``folder`` (not in a class folder).
    """
    root = Path(folder)
    if not root.is_dir():
        raise DataError(f"image folder {root} does not exist or is not a folder")
    names, loose = [], []
    for entry in _scan(root):
        if entry.name.startswith("."):
            continue
        if entry.is_dir():
            check_readable(Path(entry.path))
            names.append(entry.name)
        elif entry.is_symlink() and not os.path.exists(entry.path):
            raise DataError(f"{entry.path} is a broken link; remove it or point it at the class folder")
        elif os.path.splitext(entry.name)[1].lower() in IMAGE_EXTENSIONS:
            loose.append(entry.name)
    if loose:
        raise DataError(f"{root} must hold one folder per class (<class>/<file>); found loose image files "
                        f"{sorted(loose)[:3]}")
    return sorted(names)


def _scan(folder: Path) -> list[os.DirEntry]:
    try:
        with os.scandir(folder) as entries:
            return list(entries)
    except OSError as err:
        raise DataError(f"cannot read the folder {folder} ({err.strerror or err}); fix its permissions "
                        "or move it out of the data folder") from err


def check_readable(folder: str | os.PathLike[str]) -> None:
    """Raise, naming it, when ``folder`` or any non-hidden folder below it cannot be listed
    (``Path.rglob`` would skip it silently, dropping its images)."""

    def fail(err: OSError) -> None:
        raise DataError(f"cannot read the folder {err.filename} ({err.strerror or err}); fix its "
                        "permissions or move it out of the data folder") from err

    for _, dirs, _ in os.walk(folder, onerror=fail):
        dirs[:] = [d for d in dirs if not d.startswith(".")]


def class_index(
    names: Iterable[str], num_outputs: int, class_map: ClassMap | None = None, *, where: str = "the data"
) -> dict[str, int]:
    """Index of every class folder name for a model with ``num_outputs`` outputs (module doc).

    Args:
        names: class folder names (all of them, empty folders included).
        num_outputs: the model's number of outputs per image.
        class_map: explicit folder name -> index (or a JSON file, see :func:`read_class_map`).
        where: names the data in error messages.

    Raises:
        DataError: a folder the map or the rules cannot place, an index outside the model's
            outputs, or a folder count that does not match the model (each says how to fix it).
    """
    folders = sorted(set(names))
    if not folders:
        raise DataError(f"{where} holds no class folder (<class>/<file>)")
    if class_map is not None:
        index = _mapped(folders, read_class_map(class_map), where)
    elif all(n.isdigit() for n in folders):
        index = {n: int(n) for n in folders}
    elif num_outputs == IMAGENET_CLASSES:
        index = _imagenet_index(folders, where)
    else:
        if len(folders) != num_outputs:
            raise DataError(
                f"{where} has {len(folders)} class folders but the model has {num_outputs} outputs, so "
                f"folder k in sorted order cannot be taken as output k; give the model one output per "
                f"folder, or {_MAP_FIX}"
            )
        index = {n: i for i, n in enumerate(folders)}
    _check_in_range(index, num_outputs, where)
    return index


def _mapped(folders: list[str], mapping: dict[str, int], where: str) -> dict[str, int]:
    missing = [n for n in folders if n not in mapping]
    if missing:
        raise DataError(f"class folders {missing[:5]} of {where} are not in the class map; add them to it")
    return {n: mapping[n] for n in folders}


def _imagenet_index(folders: list[str], where: str) -> dict[str, int]:
    position = {w: i for i, w in enumerate(imagenet_wnids())}
    unknown = [n for n in folders if n not in position]
    if unknown:
        kind = ("are not among the 1000 ImageNet-1k WordNet ids" if all(_WNID.fullmatch(n) for n in unknown)
                else "cannot be mapped to them (class folders k in sorted order are not ImageNet's classes)")
        raise DataError(
            f"the model has 1000 outputs (the ImageNet-1k classes) but the class folders {unknown[:5]} of "
            f"{where} {kind}; {_IMAGENET_FIX}"
        )
    return {n: position[n] for n in folders}


def _check_in_range(index: Mapping[str, int], num_outputs: int, where: str) -> None:
    outside = {n: i for n, i in index.items() if i >= num_outputs}
    if outside:
        raise DataError(
            f"class folders of {where} have indices {dict(list(outside.items())[:5])} but the model has only "
            f"{num_outputs} outputs (0 ... {num_outputs - 1}); use a model trained on these classes or fix the map"
        )


def labelled_images(folder: str | os.PathLike[str], classes: Mapping[str, int]) -> tuple[list[Path], list[int]]:
    """Sorted image files under ``folder``'s class folders and their class indices.

    Empty class folders are logged (they keep their index and add no images).

    Raises:
        DataError: no images at all, an unreadable folder, or a class folder not in ``classes``.
    """
    root = Path(folder)
    names = class_folders(root)
    unknown = sorted(set(names) - set(classes))
    if unknown:
        raise DataError(f"class folders {unknown[:5]} under {root} are not in the class list {sorted(classes)[:5]}...")
    paths = list_images(root)
    labels = [classes[p.relative_to(root).parts[0]] for p in paths]
    for empty in sorted(set(names) - {p.relative_to(root).parts[0] for p in paths}):
        log.warning("class folder %s holds no images: class %d is kept and adds no images",
                    root / empty, classes[empty])
    return paths, labels
