"""Image-folder datasets: ``root/<class>/<image>`` and ``root/<domain>/<class>/<image>``.

The multi-domain layout is the one of PACS, Office-Home, VLCS and DomainNet. Indexing only lists
file names (cheap even for DomainNet's 600k images); an unreadable or corrupt image raises
:class:`~stylebias.errors.DataError` naming the file when it is loaded, not when indexed.
Every item is ``(image, label, domain)``, ``domain`` being 0 for a plain image folder, so the
same training loop reads every dataset in :mod:`stylebias.datasets`.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import Tensor
from torch.utils.data import Dataset

from ..errors import DataError
from ..io import list_images, load_image, to_tensor

__all__ = ["ImageFolderDataset", "MultiDomainFolder"]

_log = logging.getLogger(__name__)


def _subfolders(folder: Path, what: str, layout: str) -> list[str]:
    if not folder.exists():
        raise DataError(f"{what} {folder} does not exist; expected the layout {layout}")
    if not folder.is_dir():
        raise DataError(f"{what} {folder} is not a folder; expected the layout {layout}")
    names = sorted(p.name for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not names:
        raise DataError(f"{what} {folder} holds no sub-folders; expected the layout {layout}")
    return names


def _class_images(folder: Path, classes: Iterable[str], extensions) -> dict[str, list[Path]]:
    """Images of each class folder under ``folder``; empty class folders raise, naming them."""
    found, empty = {}, []
    for name in classes:
        try:
            found[name] = list_images(folder / name, extensions=extensions)
        except DataError:
            empty.append(name)
    if empty:
        raise DataError(
            f"class folder(s) {', '.join(repr(e) for e in empty)} in {folder} hold no image "
            "files; add images or remove the folder(s)"
        )
    return found


class _FileDataset(Dataset):
    """Shared item loading: ``samples`` is a list of ``(path, label, domain)``."""

    samples: list[tuple[Path, int, int]]
    transform: Callable[[Any], Any] | None

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, i: int):
        path, label, domain = self.samples[i]
        image = load_image(path)  # DataError naming the file if it is unreadable
        image = self.transform(image) if self.transform is not None else to_tensor(image)
        return image, label, domain

    @property
    def labels(self) -> Tensor:
        """Class index of every item, int64 ``(N,)``."""
        return torch.tensor([s[1] for s in self.samples], dtype=torch.long)

    @property
    def domain_labels(self) -> Tensor:
        """Domain index of every item, int64 ``(N,)``."""
        return torch.tensor([s[2] for s in self.samples], dtype=torch.long)


class ImageFolderDataset(_FileDataset):
    """Images in ``root/<class>/<image>`` (sub-folders of a class folder are included).

    Args:
        root: the folder holding one sub-folder per class; classes are the sorted folder names.
        transform: called on the RGB PIL image (from :func:`stylebias.io.load_image`); default
            :func:`stylebias.io.to_tensor` (float ``(3, H, W)`` in [0, 1], original size).
        extensions: file suffixes to accept; default :data:`stylebias.io.IMAGE_EXTENSIONS`.

    Items are ``(image, label, 0)``.

    Raises:
        DataError: ``root`` is missing, has no class folders, or a class folder has no images
            (named). Unreadable image files raise ``DataError`` naming the file on access.
    """

    def __init__(
        self,
        root: str | os.PathLike[str],
        transform: Callable[[Any], Any] | None = None,
        extensions: Iterable[str] | None = None,
    ) -> None:
        self.root = Path(root)
        self.transform = transform
        self.classes = _subfolders(self.root, "image folder", "root/<class>/<image>")
        self.class_to_idx = {c: i for i, c in enumerate(self.classes)}
        images = _class_images(self.root, self.classes, extensions)
        self.samples = [(p, self.class_to_idx[c], 0) for c in self.classes for p in images[c]]
        self.domains: tuple[str, ...] = (self.root.name,)
        self.num_classes = len(self.classes)

    def __repr__(self) -> str:
        return f"ImageFolderDataset({str(self.root)!r}: {len(self)} images, {self.num_classes} classes)"


class MultiDomainFolder(_FileDataset):
    """Images in ``root/<domain>/<class>/<image>`` (PACS, Office-Home, VLCS, DomainNet).

    Args:
        root: the folder holding one sub-folder per domain.
        domains: domains to include (names of sub-folders of ``root``); default all.
        transform: called on the RGB PIL image; default :func:`stylebias.io.to_tensor`.
            Real datasets mix image sizes, so pass a transform that resizes for batching.
        extensions: file suffixes to accept; default :data:`stylebias.io.IMAGE_EXTENSIONS`.
        strict_classes: require every domain under ``root`` to have the same class folders
            (default). With ``False`` the classes are the union over domains and a warning
            names the missing ones.

    Attributes:
        DOMAINS: every domain under ``root`` (sorted); item domain indices point into it, so
            they agree between datasets built on different subsets of domains.
        domains: the included domains, in the order given.
        classes: sorted class names (the same for every subset of domains).

    Items are ``(image, label, domain)``.

    Raises:
        DataError: ``root`` is missing or empty, an unknown domain is asked for, domains have
            different class folders (named, with what is missing), or a class folder of an
            included domain holds no image. Unreadable images raise ``DataError`` on access.
    """

    def __init__(
        self,
        root: str | os.PathLike[str],
        domains: Sequence[str] | None = None,
        transform: Callable[[Any], Any] | None = None,
        extensions: Iterable[str] | None = None,
        *,
        strict_classes: bool = True,
    ) -> None:
        self.root = Path(root)
        self.transform = transform
        layout = "root/<domain>/<class>/<image>"
        self.DOMAINS = tuple(_subfolders(self.root, "multi-domain folder", layout))
        if domains is None:
            self.domains = self.DOMAINS
        else:
            if isinstance(domains, str):
                domains = (domains,)
            self.domains = tuple(domains)
            unknown = [d for d in self.domains if d not in self.DOMAINS]
            if unknown or not self.domains:
                raise DataError(
                    f"domain(s) {unknown or '(none given)'} not found in {self.root}; "
                    f"available: {', '.join(self.DOMAINS)}"
                )
        per_domain = {
            d: set(_subfolders(self.root / d, f"domain folder {d!r}", layout)) for d in self.DOMAINS
        }
        union = set().union(*per_domain.values())
        missing = {d: sorted(union - have) for d, have in per_domain.items() if have != union}
        if missing:
            detail = "; ".join(f"{d!r} lacks {', '.join(m)}" for d, m in missing.items())
            if strict_classes:
                raise DataError(
                    f"the domains under {self.root} have different class folders: {detail}. Give "
                    "every domain the same class folders, or pass strict_classes=False to use "
                    "the union of classes"
                )
            _log.warning("domains under %s have different class folders: %s", self.root, detail)
        self.classes = sorted(union)
        self.class_to_idx = {c: i for i, c in enumerate(self.classes)}
        self.num_classes = len(self.classes)
        self.samples = []
        for d in self.domains:
            images = _class_images(self.root / d, sorted(per_domain[d]), extensions)
            dom = self.DOMAINS.index(d)
            self.samples += [(p, self.class_to_idx[c], dom) for c in sorted(images) for p in images[c]]

    def domain_indices(self, domain: str) -> Tensor:
        """Item indices (int64) of one included domain, e.g. for a per-domain hold-out split."""
        if domain not in self.domains:
            raise DataError(f"domain {domain!r} is not included; included: {', '.join(self.domains)}")
        return (self.domain_labels == self.DOMAINS.index(domain)).nonzero().flatten()

    def __repr__(self) -> str:
        return (f"MultiDomainFolder({str(self.root)!r}: {len(self)} images, domains "
                f"{self.domains}, {self.num_classes} classes)")
