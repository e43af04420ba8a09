"""AugMix training (Hendrycks et al., ICLR 2020): cross-entropy on the clean images plus the
Jensen-Shannon consistency between the clean image and two AugMix views.

:func:`consistency_update` is the update both JSD methods share (AugMix here, PRIME in
:mod:`stylebias.training.prime`): the clean batch and its two augmented views go through ONE
forward (concatenated, as the reference does, and one DDP all-reduce); with ``jsd`` off the
network sees one augmented view alone, as the reference's ``--no-jsd``.
"""

from __future__ import annotations

from typing import Any, Callable

import torch
from torch import Tensor, nn

from .._checks import check_positive
from ..augment.augmix import augment_and_mix, check_mixing, jensen_shannon
from ..errors import InvalidArgumentError
from .methods import ERM, METHODS, Method

__all__ = ["AugMix", "consistency_update", "consistency_settings"]


def consistency_settings(hparams: dict[str, Any], method: str) -> tuple[bool, float]:
    """``(jsd, jsd_weight)`` from ``hparams``, checked (errors name the method and the key)."""
    jsd = hparams["jsd"]
    if not isinstance(jsd, bool):
        raise InvalidArgumentError(f"{method}: hparams 'jsd' must be true or false, got {jsd!r}")
    weight = check_positive(hparams["jsd_weight"], f"{method}: hparams 'jsd_weight'", allow_zero=True)
    return jsd, weight


def consistency_update(method: Method, x: Tensor, y: Tensor, augment: Callable[[Tensor], Tensor],
                       jsd: bool, jsd_weight: float) -> dict[str, float]:
    """One step of ``CE(clean) + jsd_weight * JSD(clean, view1, view2)``; logs loss, ce, jsd.

    Args:
        method: owns the model, optimiser and autocast settings.
        x: (B, 3, H, W) images in [0, 1]; y: (B,) labels.
        augment: draws one augmented view of a batch (from the method's generator).
        jsd: the consistency loss; off: cross-entropy on one augmented view alone.
        jsd_weight: the paper's lambda (12).
    """
    with torch.no_grad():  # the augmentation runs in float32 outside autocast
        views = [augment(x.float()).to(x.dtype) for _ in range(2 if jsd else 1)]
    if not jsd:
        with method.autocast():
            loss = method.criterion(method.model(views[0]), y)
        method.backward(loss)
        method.optimizer_step()
        return {"loss": loss.item()}
    with method.autocast():
        logits = method.model(torch.cat([x, *views]))
    clean, aug1, aug2 = logits.float().split(x.shape[0])
    ce = method.criterion(clean, y)
    divergence = jensen_shannon(clean, aug1, aug2)
    loss = ce + jsd_weight * divergence
    method.backward(loss)
    method.optimizer_step()
    return {"loss": loss.item(), "ce": ce.item(), "jsd": divergence.item()}


class AugMix(ERM):
    """AugMix with the Jensen-Shannon consistency loss.

    Hyperparameters (``hparams``): ``severity`` (3), ``width`` (3 chains), ``depth`` (-1: 1-3
    operations per chain), ``mix_alpha`` (1.0, the Dirichlet/Beta concentration; the
    reference's ``alpha``, renamed so it cannot reach a style layer's ``alpha`` when one is
    attached), ``jsd`` (True) and ``jsd_weight`` (12). Every draw comes from ``generator``
    (default: a generator seeded with 0).
    """

    def __init__(self, model: nn.Module, hparams: dict[str, Any], **options: Any) -> None:
        super().__init__(model, hparams, **options)  # the same constructor as every method
        hp = self.hparams
        check_mixing(hp["severity"], hp["width"], hp["depth"], hp["mix_alpha"], source="augmix hparams")
        self.jsd, self.jsd_weight = consistency_settings(hp, "augmix")

    def augment(self, x: Tensor) -> Tensor:
        """One AugMix view of the batch ``x``."""
        hp = self.hparams
        return augment_and_mix(x, severity=float(hp["severity"]), width=int(hp["width"]), depth=int(hp["depth"]),
                               alpha=float(hp["mix_alpha"]), generator=self.generator)

    def update(self, batch: tuple[Tensor, ...]) -> dict[str, float]:
        return consistency_update(self, batch[0], batch[1], self.augment, self.jsd, self.jsd_weight)


METHODS.register("augmix", AugMix)
