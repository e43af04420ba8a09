"""MixStyle layer."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from .._checks import check_positive
from ..functional import mixstyle
from .mixing import MixingLayer

__all__ = ["MixStyle"]


class MixStyle(MixingLayer):
    """Mix instance statistics between samples with Beta(alpha, alpha) weights (Zhou et al.).

    Where to insert: after the first two or three residual stages of a ResNet, never after
    the last (``stylebias.attach(model, "mixstyle", preset="resnet")`` uses stages 1-3). As in
    the MixStyle README, one instance may run at several places
    (``stylebias.attach(model, layer, after=["layer1", "layer2"])``). On ViT/DeiT tokens,
    ``preset="vit"`` follows the first 70% of the blocks, as TFS-ViT (arXiv:2303.15698);
    ``"swin"`` and ``"convnext"`` follow stages 1-3 (see :mod:`stylebias.presets`).

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
        active, layout, prefix_tokens: see :class:`StyleLayer`.

    Reference:
        Zhou et al., "Domain Generalization with MixStyle", ICLR 2021, arXiv:2104.02008.

    Example:
        >>> layer = MixStyle(p=1.0, alpha=0.1).train()
        >>> layer(torch.randn(4, 8, 16, 16)).shape
        torch.Size([4, 8, 16, 16])
    """

    gathers = "stats"

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
        layout: str = "nchw",
        prefix_tokens: int | None = None,
    ) -> None:
        super().__init__(
            p, alpha, mix, global_batch, generator=generator, active=active, layout=layout, prefix_tokens=prefix_tokens
        )
        self.eps = check_positive(eps, "eps")

    def apply_params(self, x: Tensor, params: dict[str, Any]) -> Tensor:
        return mixstyle(x, params["perm"], params["lam"], self.eps)
