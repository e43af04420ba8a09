"""EFDMix layer."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from ..functional import efdmix
from .base import StyleLayer, init_mixing, sample_mixing
from .global_batch import global_mixing, world_size

__all__ = ["EFDMix"]


class EFDMix(StyleLayer):
    """Mix whole sorted feature distributions between samples (Zhang et al., CVPR 2022).

    Matches every order statistic instead of only mean and std. Where to insert: as MixStyle,
    after the first two or three ResNet stages.

    Args:
        p: probability of mixing at each training forward pass.
        alpha: Beta distribution parameter of the mixing weight.
        eps: kept for a constructor shared with the other layers (> 0); EFDM needs no variance.
        mix: ``"random"`` or ``"crossdomain"``, as for :class:`MixStyle`.
        global_batch: under DDP, mix with partners from the whole global batch (all ranks),
            not only this process's share (``mix='random'``; see ``layers/global_batch.py``).
        generator: optional ``torch.Generator`` for the draws.
        active: see :class:`StyleLayer`.

    Example:
        >>> layer = EFDMix(p=1.0).train()
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
            return global_mixing(self, x, "values")
        return super().forward(x, params)

    def apply_params(self, x: Tensor, params: dict[str, Any]) -> Tensor:
        return efdmix(x, params["perm"], params["lam"])
