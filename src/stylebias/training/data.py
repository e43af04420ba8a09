"""Data for training: what a run trains and is evaluated on, and a resumable batch stream."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from ..runtime import derive_seed as seed_for  # the training name for it

__all__ = ["DataBundle", "BatchStream", "seed_for"]


@dataclass
class DataBundle:
    """The datasets of one run. Items are ``(image, label, ...)`` with images (3, H, W) in [0, 1].

    Attributes:
        train: training set.
        val: held-out part of the training distribution (model selection), or None.
        tests: named test sets, e.g. one per held-out domain.
        cue_conflict: items ``(image, shape_label, texture_label, ...)`` for shape bias, or None.
        corruption_source: clean test images for the corruption error, or None.
        num_classes: output size of the classifier.
        class_names: names of the classes (optional).
        description: one line saying what the data is.
        finetune: the data of the fine-tuning phase (the original images when ``train`` mixes
            in stylized ones), or None to keep ``train``.
        corruption_cache: the corrupted ``corruption_source`` batches, made once and shared by
            every run that evaluates on this bundle (see ``evaluate.corruption_error``).
    """

    train: Dataset
    num_classes: int
    val: Dataset | None = None
    tests: dict[str, Dataset] = field(default_factory=dict)
    cue_conflict: Dataset | None = None
    corruption_source: Dataset | None = None
    class_names: list[str] | None = None
    description: str = ""
    finetune: Dataset | None = None
    corruption_cache: dict[Any, Any] = field(default_factory=dict, repr=False, compare=False)


class _IndexStream(Sampler[list[tuple[int, int]]]):
    """Infinite batches of (index, epoch): a fresh permutation per epoch from (seed, epoch).

    Starting at ``start_batch`` reproduces exactly the batches an uninterrupted run would have
    seen from that point, which is what makes resuming exact. Under DDP each rank takes every
    ``world``-th sample of the epoch's permutation.
    """

    def __init__(self, n: int, batch_size: int, seed: int, rank: int = 0, world: int = 1, start_batch: int = 0) -> None:
        self.n, self.batch_size, self.seed = n, batch_size, seed
        self.rank, self.world, self.start_batch = rank, world, start_batch

    def _order(self, epoch: int, per_epoch: int) -> torch.Tensor:
        """This rank's share of epoch ``epoch``'s permutation."""
        g = torch.Generator().manual_seed(seed_for(self.seed, "epoch", epoch))
        return torch.randperm(self.n, generator=g)[self.rank :: self.world][:per_epoch]

    def __iter__(self) -> Iterator[list[tuple[int, int]]]:
        per_epoch = self.n // self.world
        position = self.start_batch * self.batch_size  # in this rank's stream
        while True:
            epoch, offset = divmod(position, per_epoch)
            order = self._order(epoch, per_epoch)
            batch = []
            while len(batch) < self.batch_size:
                if offset == per_epoch:  # batches run across epoch boundaries
                    epoch, offset = epoch + 1, 0
                    order = self._order(epoch, per_epoch)
                batch.append((int(order[offset]), epoch))
                offset += 1
            position += self.batch_size
            yield batch

    def __len__(self) -> int:  # pragma: no cover - infinite
        raise TypeError("an infinite stream has no length")


class _SeededItems(Dataset):
    """Wraps a dataset so that random augmentation of item i in epoch e depends only on
    (seed, e, i), not on worker count or order: resumed runs see the same images."""

    def __init__(self, dataset: Dataset, seed: int) -> None:
        self.dataset, self.seed = dataset, seed

    def __len__(self) -> int:
        return len(self.dataset)  # type: ignore[arg-type]

    def __getitem__(self, key: tuple[int, int]) -> Any:
        index, epoch = key
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed_for(self.seed, "item", epoch, index))
            return self.dataset[index]


class BatchStream:
    """An endless, resumable stream of training batches.

    A dataset with a ``gather(indices) -> list of tensors`` method (whose items draw no
    randomness, e.g. :class:`~stylebias.datasets.ShapeTexture`) hands over whole batches at
    once, the same tensors the DataLoader would collate, without per-item loading.

    Args:
        dataset: training set.
        batch_size: per process.
        seed: run seed.
        start_step: the number of batches already consumed (resume point).
        workers: DataLoader workers.
        rank, world: DDP position.
    """

    def __init__(
        self,
        dataset: Dataset,
        batch_size: int,
        seed: int,
        start_step: int = 0,
        workers: int = 0,
        rank: int = 0,
        world: int = 1,
    ) -> None:
        n = len(dataset)  # type: ignore[arg-type]
        if n < batch_size * world:
            from ..errors import DataError

            raise DataError(f"the training set has {n} items, fewer than one batch of {batch_size * world}")
        sampler = _IndexStream(n, batch_size, seed, rank, world, start_step)
        gather = getattr(dataset, "gather", None)
        if callable(gather):  # whole batches at once, the same as the loader would collate
            self._iter = (gather(torch.tensor([index for index, _ in batch])) for batch in sampler)
            return
        self.loader = DataLoader(
            _SeededItems(dataset, seed), batch_sampler=sampler, num_workers=workers,
            persistent_workers=workers > 0, pin_memory=torch.cuda.is_available(),
            # the loader's own generator: its base seed must not draw from the global RNG, which
            # the model's dropout uses (an extra draw at start-up would make resuming inexact)
            generator=torch.Generator().manual_seed(seed_for(seed, "loader")),
        )
        self._iter = iter(self.loader)

    def __next__(self) -> Any:
        return next(self._iter)

    def __iter__(self) -> BatchStream:
        return self
