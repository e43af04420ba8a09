"""DSU layer."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from .._checks import check_positive
from ..functional import dsu
from .base import StyleLayer

__all__ = ["DSU"]


class DSU(StyleLayer):
    """Perturb instance statistics with Gaussian noise scaled by the batch's spread (Li et al.).

    Where to insert: the paper puts it after the stem conv, the max-pool and every ResNet
    stage (``stylebias.attach(model, "dsu", preset="resnet")``).

    Args:
        p: probability of perturbing at each training forward pass.
        eps: added to every variance (> 0).
        factor: scale of the noise (1.0 in the paper).
        generator: optional ``torch.Generator`` for the draws.
        active, layout, prefix_tokens: see :class:`StyleLayer`.

    Example:
        >>> layer = DSU(p=1.0).train()
        >>> layer(torch.randn(4, 8, 16, 16)).shape
        torch.Size([4, 8, 16, 16])
    """

    def __init__(
        self,
        p: float = 0.5,
        eps: float = 1e-6,
        factor: float = 1.0,
        *,
        generator: torch.Generator | None = None,
        active: bool = True,
        layout: str = "nchw",
        prefix_tokens: int | None = None,
    ) -> None:
        super().__init__(p, generator=generator, active=active, layout=layout, prefix_tokens=prefix_tokens)
        self.eps = check_positive(eps, "eps")
        self.factor = check_positive(factor, "factor", allow_zero=True)

    def sample_params(self, x: Tensor, generator: torch.Generator | None = None) -> dict[str, Any]:
        dev = generator.device if generator is not None else torch.device("cpu")
        shape = (x.shape[0], x.shape[1])
        noise = torch.randn((2, *shape), generator=generator, device=dev).to(x.device)
        return {"noise_mu": noise[0], "noise_sigma": noise[1]}

    def apply_params(self, x: Tensor, params: dict[str, Any]) -> Tensor:
        return dsu(x, params["noise_mu"], params["noise_sigma"], self.eps, self.factor)
