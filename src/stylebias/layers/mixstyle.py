"""MixStyle layer."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from ..functional import mixstyle
from .base import StyleLayer, init_mixing, sample_mixing
from .global_batch import global_mixing, world_size

__all__ = ["MixStyle"]


class MixStyle(StyleLayer):
    """Mix instance statistics between samples with Beta(alpha, alpha) weights (Zhou et al.).

    Where to insert: after the first two or three residual stages of a ResNet, never after
    the last (``stylebias.attach(model, "mixstyle", preset="resnet")`` uses stages 1-3).

    Args:
        p: probability of mixing at each training forward pass.
        alpha: Beta distribution parameter of the mixing weight.
        eps: added to the variance (> 0).
        mix: ``"random"`` (shuffle the batch) or ``"crossdomain"`` (mix only between domains:
            the two halves of the batch, or the labels set in ``self.domains`` /
            :func:`stylebias.mixing_domains`).
        global_batch: under DDP, mix with partners from the whole global batch (all ranks),
            not only this process's share (``mix='random'``; see ``layers/global_batch.py``).
        generator: optional ``torch.Generator`` for the draws.
        active: see :class:`StyleLayer`.

    Example:
        >>> layer = MixStyle(p=1.0, alpha=0.1).train()
        >>> layer(torch.randn(4, 8, 16, 16)).shape
        torch.Size([4, 8, 16, 16])
    """

    def __init__(
        self,
        p: float = 0.5,
        alpha: float = 0.1,
        eps: float = 1e-6,
        mix: str = "random",
        global_batch: bool = False,
        *,
        generator: torch.Generator | None = None,
        active: bool = True,
    ) -> None:
        super().__init__(p, generator=generator, active=active)
        init_mixing(self, alpha, eps, mix, global_batch)

    def sample_params(self, x: Tensor, generator: torch.Generator | None = None) -> dict[str, Any]:
        return sample_mixing(x, self.mix, self.alpha, generator, self.domains)

    def forward(self, x: Tensor, params: dict[str, Any] | None = None) -> Tensor:
        if params is None and self.global_batch and self.training and self.active and world_size() > 1:
            return global_mixing(self, x, "stats")
        return super().forward(x, params)

    def apply_params(self, x: Tensor, params: dict[str, Any]) -> Tensor:
        return mixstyle(x, params["perm"], params["lam"], self.eps)
