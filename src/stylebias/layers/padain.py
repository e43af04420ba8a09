"""Permuted AdaIN layer."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from .. import _random
from .._checks import check_positive
from ..functional import permuted_adain
from .base import StyleLayer

__all__ = ["PermutedAdaIN"]


class PermutedAdaIN(StyleLayer):
    """Swap instance statistics with a random other sample of the batch (Nuriel et al., 2021).

    Where to insert: after every convolution, before its batch norm, with a small ``p``
    (0.01 in the paper; ``stylebias.attach(model, "padain", preset="resnet")`` does this).

    Args:
        p: probability of swapping at each training forward pass (paper: 0.01).
        eps: added to the variance (and once more to the content std, as in the reference); > 0.
        generator: optional ``torch.Generator`` for the draws.
        active, layout, prefix_tokens: see :class:`StyleLayer`.

    Example:
        >>> layer = PermutedAdaIN(p=1.0).train()
        >>> layer(torch.randn(4, 8, 16, 16)).shape
        torch.Size([4, 8, 16, 16])
    """

    def __init__(
        self,
        p: float = 0.01,
        eps: float = 1e-5,
        *,
        generator: torch.Generator | None = None,
        active: bool = True,
        layout: str = "nchw",
        prefix_tokens: int | None = None,
    ) -> None:
        super().__init__(p, generator=generator, active=active, layout=layout, prefix_tokens=prefix_tokens)
        self.eps = check_positive(eps, "eps")

    def sample_params(self, x: Tensor, generator: torch.Generator | None = None) -> dict[str, Any]:
        return {"perm": _random.random_perm(x.shape[0], generator).to(x.device)}

    def apply_params(self, x: Tensor, params: dict[str, Any]) -> Tensor:
        return permuted_adain(x, params["perm"], self.eps)
