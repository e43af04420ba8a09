"""RandConv training: ERM on randomly filtered images, optionally with a consistency loss.

Xu et al., "Robust and Generalizable Visual Representation Learning via Random
Convolutions", ICLR 2021 (arXiv:2007.13003); reference code wildphoton/RandConv
(``randconv_trainer.py``). The filter is :func:`stylebias.augment.randconv`.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from .._checks import check_positive, check_prob
from ..augment.randconv import check_kernel_sizes, consistency_loss, randconv
from ..errors import InvalidArgumentError
from .methods import ERM, METHODS

__all__ = ["RandConvMethod", "CONSISTENCY_VIEWS"]

CONSISTENCY_VIEWS = 3  # the reference compares three filtered views


def _check_stats(value: Any, name: str) -> list[float]:
    if not isinstance(value, (list, tuple)) or len(value) != 3 or not all(isinstance(v, (int, float)) for v in value):
        raise InvalidArgumentError(f"hparam {name!r} must be a list of 3 numbers (per RGB channel); got {value!r}")
    return [float(v) for v in value]


class RandConvMethod(ERM):
    """RandConv: cross-entropy on images filtered by a random multi-scale convolution (Xu et al., ICLR 2021).

    Hyperparameters (see :mod:`stylebias.training.hparams`): ``kernel_sizes`` (one drawn per
    batch), ``mixing`` (mix with the input by ``alpha ~ U(0, 1)``, the paper's RC_mix),
    ``randconv_p`` (probability a batch is filtered; 1 - the reference's ``identity_prob``),
    ``consistency`` and ``consistency_weight`` (the paper's lambda: the KL of three filtered
    views to their mean prediction, AugMix's Jensen-Shannon form), ``data_mean``/``data_std``
    (the filter runs on normalised images, as in the reference) and ``clamp_output``.

    With the consistency loss the three views go through the network in one forward (one
    DDP all-reduce; BatchNorm statistics over all three, where the reference ran three
    forwards), the cross-entropy is on the first view as in the reference. Each view is an
    independent filter of the clean batch, as the paper describes; the reference code filters
    views 2 and 3 on top of view 1 (it reassigns ``inputs``), which we do not copy. Prediction
    uses the clean images.
    """

    def __init__(self, model: nn.Module, hparams: dict[str, Any], **options: Any) -> None:
        super().__init__(model, hparams, **options)  # the same constructor as every method
        hp = self.hparams
        for name in ("mixing", "consistency", "clamp_output"):
            if not isinstance(hp[name], bool):
                raise InvalidArgumentError(f"hparam {name!r} must be true or false; got {hp[name]!r}")
        self.kernel_sizes = check_kernel_sizes(hp["kernel_sizes"], "hparam 'kernel_sizes'")
        self.p = check_prob(hp["randconv_p"], "hparam 'randconv_p'")
        self.consistency_weight = check_positive(hp["consistency_weight"], "hparam 'consistency_weight'", allow_zero=True)
        self.mean = _check_stats(hp["data_mean"], "data_mean")
        self.std = _check_stats(hp["data_std"], "data_std")
        if min(self.std) <= 0:
            raise InvalidArgumentError(f"hparam 'data_std' must be positive per channel; got {self.std!r}")

    def filtered(self, images: Tensor) -> Tensor:
        """One random-convolution view of ``images`` (a new filter per call), float32."""
        hp = self.hparams
        return randconv(
            images.float(), self.kernel_sizes, mixing=hp["mixing"], p=self.p, mean=self.mean, std=self.std,
            clamp=hp["clamp_output"], generator=self.generator,
        )

    def update(self, batch: tuple[Tensor, ...]) -> dict[str, float]:
        x, y = batch[0], batch[1]
        if not self.hparams["consistency"]:
            with self.autocast():
                loss = self.criterion(self.model(self.filtered(x)), y)
            self.backward(loss)
            self.optimizer_step()
            return {"loss": loss.item()}
        views = torch.cat([self.filtered(x) for _ in range(CONSISTENCY_VIEWS)])
        with self.autocast():
            logits = self.model(views).float().chunk(CONSISTENCY_VIEWS)
            loss_cls = self.criterion(logits[0], y)
            loss_cons = consistency_loss(logits)
            loss = loss_cls + self.consistency_weight * loss_cons
        self.backward(loss)
        self.optimizer_step()
        return {"loss": loss.item(), "loss_cls": loss_cls.item(), "loss_consistency": loss_cons.item()}


METHODS.register("randconv", RandConvMethod)
