"""Image files decoded in DataLoader workers, with unreadable files reported by name.

Shape bias, robustness, retrieval and stylize all read folders of images the same way: a
worker decodes and prepares one file at a time, and a file that cannot be read must not kill
the worker with a traceback but come back as a message naming it, so that the main process can
stop with one clean :class:`~stylebias.errors.DataError` (evaluation) or log and skip the file
(stylize). :class:`ImageFiles` is that dataset, :func:`image_loader` the DataLoader around it.

>>> from functools import partial
>>> files = ImageFiles(paths, partial(read_image, geometry=Preprocess().geometry))  # doctest: +SKIP
>>> for batch in image_loader(files, batch_size=32, device="cpu"):               # doctest: +SKIP
...     x = batch.checked()   # (B, 3, 224, 224) uint8; DataError naming every bad file
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import torch
from PIL import Image
from torch import Tensor
from torch.utils.data import DataLoader, Dataset

from .errors import DataError
from .io import load_image
from .runtime import default_num_workers

__all__ = ["ImageFiles", "ImageBatch", "collate_images", "image_loader", "read_image", "to_uint8"]

#: One item of :class:`ImageFiles`: the image (None when unreadable), its index, the error text.
Item = tuple[Tensor | None, int, str]


def to_uint8(image: Image.Image, *, channels_last: bool = False) -> Tensor:
    """An RGB PIL image as a uint8 tensor ``(3, H, W)``, or ``(H, W, 3)`` with ``channels_last``
    (the layout PIL decodes to: a stack of those viewed as ``(B, 3, H, W)`` is channels_last)."""
    array = torch.from_numpy(np.array(image, dtype=np.uint8, copy=True))
    return array if channels_last else array.permute(2, 0, 1)


def read_image(
    path: Path,
    geometry: Callable[[Image.Image], Image.Image] | None = None,
    *,
    channels_last: bool = False,
    max_pixels: int | None = None,
) -> Tensor:
    """Decode ``path`` (:func:`~stylebias.io.load_image`), apply ``geometry`` (e.g.
    :meth:`Preprocess.geometry <stylebias.models.Preprocess.geometry>`) and return uint8
    (see :func:`to_uint8`).

    Raises:
        DataError: the file cannot be read (naming it).
    """
    image = load_image(path, max_pixels=max_pixels)
    if geometry is not None:
        image = geometry(image)
    return to_uint8(image, channels_last=channels_last)


def _error_text(path: Path, err: Exception) -> str:
    """The message of a failed read: a ``DataError``'s own (it names the file), others prefixed
    with the path."""
    return str(err) if isinstance(err, DataError) else f"{path}: {err}"


class ImageFiles(Dataset):
    """Image files read by ``read``; an unreadable file comes back as its error text.

    Args:
        paths: image files.
        read: ``read(path) -> Tensor``; must be picklable for worker processes (a module-level
            function or a ``functools.partial`` of one). ``DataError``, ``OSError`` and
            ``ValueError`` it raises are caught.

    Item ``i``: ``(image, i, "")``, or ``(None, i, message naming the file)``.
    """

    def __init__(self, paths: Sequence[str | os.PathLike[str]], read: Callable[[Path], Tensor]) -> None:
        self.paths = [Path(p) for p in paths]
        self.read = read

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, i: int) -> Item:
        path = self.paths[i]
        try:
            return self.read(path), i, ""
        except (DataError, OSError, ValueError) as err:  # reported by the main process
            return None, i, _error_text(path, err)


class ImageBatch(NamedTuple):
    """A batch of :class:`ImageFiles` items.

    Attributes:
        images: the readable images stacked (None when none was readable).
        indices: dataset index of each stacked image, in order.
        errors: one message per unreadable file, naming it.
    """

    images: Tensor | None
    indices: list[int]
    errors: list[str]

    def checked(self) -> Tensor:
        """The images; raises ``DataError`` naming every unreadable file of the batch."""
        if self.errors:
            raise DataError("; ".join(self.errors))
        if self.images is None:  # only an empty batch: DataLoader never makes one
            raise DataError("an empty batch of images")
        return self.images


def collate_images(items: list[Item]) -> ImageBatch:
    """Stack the readable images of ``items``; keep the others' messages."""
    good = [(image, i) for image, i, _ in items if image is not None]
    images = torch.stack([image for image, _ in good]) if good else None
    return ImageBatch(images, [i for _, i in good], [error for image, _, error in items if image is None])


def _single(item: Item) -> Item:
    return item


def image_loader(
    files: ImageFiles,
    *,
    batch_size: int | None,
    num_workers: int | None = None,
    device: str | torch.device = "cpu",
    **kwargs: Any,
) -> DataLoader:
    """A DataLoader over ``files`` in order.

    Args:
        files: the dataset.
        batch_size: items per :class:`ImageBatch`; ``None`` yields the items one by one as
            :class:`ImageFiles` returns them.
        num_workers: decoding processes; ``None``: :func:`~stylebias.runtime.default_num_workers`
            of ``device``.
        device: where the images go (pinned memory for CUDA).
        **kwargs: further DataLoader arguments.
    """
    workers = default_num_workers(device) if num_workers is None else int(num_workers)
    options: dict[str, Any] = {
        "shuffle": False, "num_workers": workers, "pin_memory": torch.device(device).type == "cuda",
        "collate_fn": collate_images if batch_size is not None else _single,
        "prefetch_factor": 4 if workers > 0 else None,
    }  # fmt: skip
    options.update(kwargs)
    return DataLoader(files, batch_size=None if batch_size is None else int(batch_size), **options)
