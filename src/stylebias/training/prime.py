"""PRIME training (Modas et al., ECCV 2022): cross-entropy on the clean images plus the
Jensen-Shannon consistency between the clean image and two PRIME views, as the reference
trains on CIFAR (the update is AugMix's, :func:`stylebias.training.augmix.consistency_update`)."""

from __future__ import annotations

from dataclasses import fields
from typing import Any

import torch
from torch import Tensor, nn

from ..augment.augmix import check_mixing
from ..augment.prime import PrimeSettings, augment_prime
from .augmix import consistency_settings, consistency_update
from .methods import ERM, METHODS

__all__ = ["PRIME"]


class PRIME(ERM):
    """PRIME with the Jensen-Shannon consistency loss.

    Hyperparameters (``hparams``): ``width`` (3 chains), ``depth`` (-1: 1-3 primitives),
    ``mix_alpha`` (1.0, Dirichlet/Beta concentration), ``jsd`` (True), ``jsd_weight`` (12), and
    the primitives' strengths, the fields of :class:`~stylebias.augment.prime.PrimeSettings`
    (the reference's CIFAR-10 config). Every draw comes from ``generator`` (default: a
    generator seeded with 0).
    """

    def __init__(self, model: nn.Module, hparams: dict[str, Any], **options: Any) -> None:
        super().__init__(model, hparams, **options)  # the same constructor as every method
        hp = self.hparams
        check_mixing(1, hp["width"], hp["depth"], hp["mix_alpha"], source="prime hparams")
        self.settings = PrimeSettings(**{f.name: hp[f.name] for f in fields(PrimeSettings)}).check("prime hparams")
        self.jsd, self.jsd_weight = consistency_settings(hp, "prime")

    def augment(self, x: Tensor) -> Tensor:
        """One PRIME view of the batch ``x``."""
        hp = self.hparams
        return augment_prime(x, width=int(hp["width"]), depth=int(hp["depth"]), alpha=float(hp["mix_alpha"]),
                             settings=self.settings, generator=self.generator)

    def update(self, batch: tuple[Tensor, ...]) -> dict[str, float]:
        return consistency_update(self, batch[0], batch[1], self.augment, self.jsd, self.jsd_weight)


METHODS.register("prime", PRIME)
