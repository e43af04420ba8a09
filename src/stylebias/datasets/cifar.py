"""CIFAR-10/100 through torchvision, as ``(image, label, 0)`` with images in [0, 1]."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from torch.utils.data import Dataset

from .._checks import check_choice
from ..errors import MissingFileError
from ..io import to_tensor

__all__ = ["cifar", "CIFAR_FILES"]

#: Name -> (torchvision class name, extracted folder, download URL).
CIFAR_FILES: dict[str, tuple[str, str, str]] = {
    "cifar10": ("CIFAR10", "cifar-10-batches-py", "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"),
    "cifar100": ("CIFAR100", "cifar-100-python", "https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz"),
}


class _Cifar(Dataset):
    """Wraps a torchvision CIFAR dataset; items are ``(image, label, 0)``."""

    def __init__(self, base: Any, transform: Callable[[Any], Any] | None, name: str) -> None:
        self.base = base
        self.transform = transform
        self.name = name
        self.classes = list(base.classes)
        self.num_classes = len(self.classes)
        self.domains: tuple[str, ...] = (name,)
        self.input_shape = (3, 32, 32)

    def __len__(self) -> int:
        return len(self.base)

    def __getitem__(self, i: int):
        image, label = self.base[i]
        image = self.transform(image) if self.transform is not None else to_tensor(image)
        return image, int(label), 0

    @property
    def labels(self):
        import torch

        return torch.as_tensor(self.base.targets, dtype=torch.long)

    def __repr__(self) -> str:
        split = "train" if self.base.train else "test"
        return f"cifar({self.name!r}, {split}: {len(self)} images, {self.num_classes} classes)"


def cifar(
    name: str = "cifar10",
    root: str | os.PathLike[str] = ".",
    train: bool = True,
    download: bool = False,
    transform: Callable[[Any], Any] | None = None,
) -> Dataset:
    """CIFAR-10 or CIFAR-100 (torchvision's loader), items ``(image, label, 0)``.

    Args:
        name: ``"cifar10"`` or ``"cifar100"``.
        root: folder that holds (or will hold) the extracted ``cifar-10-batches-py`` /
            ``cifar-100-python`` folder.
        train: the 50k training images, else the 10k test images.
        download: let torchvision download the archive (needs internet).
        transform: called on the PIL image; default float ``(3, 32, 32)`` in [0, 1].

    Raises:
        InvalidArgumentError: unknown ``name``.
        MissingFileError: the files are missing or fail torchvision's checksum; the message
            says where to put them and where to get them.
    """
    check_choice(name, tuple(CIFAR_FILES), "name")
    import torchvision.datasets as tvd

    cls_name, folder, url = CIFAR_FILES[name]
    try:
        base = getattr(tvd, cls_name)(root=str(root), train=train, download=download)
    except RuntimeError:  # torchvision's message suggests download=True, which no command has
        where = Path(root) / folder
        raise MissingFileError(
            f"{name} is not in {where} (missing or corrupted files). "
            f"Download {url} and extract it into {Path(root)} so that {where} exists."
        ) from None
    return _Cifar(base, transform, name)
