"""EFDMix layer."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from ..errors import InvalidArgumentError
from ..functional import efdmix
from .mixing import MixingLayer

__all__ = ["EFDMix"]


class EFDMix(MixingLayer):
    """Mix whole sorted feature distributions between samples (Zhang et al., CVPR 2022).

    Matches every order statistic instead of only mean and std, so unlike the other layers it
    has no ``eps``. Where to insert: as MixStyle, after the first two or three ResNet stages.

    Args:
        p: probability of mixing at each training forward pass.
        alpha: Beta distribution parameter of the mixing weight.
        mix: ``"random"`` or ``"crossdomain"``, as for :class:`MixStyle`.
        global_batch: under DDP, mix with partners from the whole global batch (all ranks),
            not only this process's share (``mix='random'``; see ``layers/global_batch.py``).
        generator: optional ``torch.Generator`` for the draws.
        active, layout, prefix_tokens: see :class:`StyleLayer`.

    Raises:
        InvalidArgumentError: ``eps`` was passed (EFDM has no variance to stabilise).

    Reference:
        Zhang et al., "Exact Feature Distribution Matching for Arbitrary Style Transfer and
        Domain Generalization", CVPR 2022, arXiv:2203.07740.

    Example:
        >>> layer = EFDMix(p=1.0).train()
        >>> layer(torch.randn(4, 8, 16, 16)).shape
        torch.Size([4, 8, 16, 16])
    """

    gathers = "values"

    def __init__(
        self,
        p: float = 0.5,
        alpha: float = 0.1,
        mix: str = "random",
        global_batch: bool = False,
        *,
        generator: torch.Generator | None = None,
        active: bool = True,
        layout: str = "nchw",
        prefix_tokens: int | None = None,
        **unexpected: Any,
    ) -> None:
        if "eps" in unexpected:  # the other layers take eps; say why this one does not
            raise InvalidArgumentError(
                "EFDMix has no eps: exact distribution matching needs no variance; drop the eps argument"
            )
        if unexpected:
            raise TypeError(f"EFDMix got unexpected argument(s) {', '.join(sorted(unexpected))}")
        super().__init__(
            p, alpha, mix, global_batch, generator=generator, active=active, layout=layout, prefix_tokens=prefix_tokens
        )

    def apply_params(self, x: Tensor, params: dict[str, Any]) -> Tensor:
        return efdmix(x, params["perm"], params["lam"])
