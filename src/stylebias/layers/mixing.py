"""What MixStyle and EFDMix share: partner choice, domain labels and the global-batch path.

A mixing layer pairs each sample with a partner (a shuffle of the batch, the other half of the
batch, or a sample of another domain) and mixes with a Beta(alpha, alpha) weight; only the
quantity it mixes differs (mean/std for MixStyle, sorted values for EFDMix), which a subclass
states in :meth:`apply_params` and :attr:`MixingLayer.gathers`.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from .. import _random
from .._checks import check_choice, check_positive
from ..errors import InvalidArgumentError, ShapeError
from .base import StyleLayer
from .global_batch import global_mixing, world_size

__all__ = ["MixingLayer", "MIX_MODES", "sample_mixing"]

MIX_MODES = ("random", "crossdomain")


def sample_mixing(
    x: Tensor,
    mix: str,
    alpha: float,
    generator: torch.Generator | None,
    domains: Tensor | None = None,
) -> dict[str, Tensor]:
    """Partner indices ``perm`` (B,) and Beta(alpha, alpha) weights ``lam`` (B,) for ``x``.

    ``mix='random'`` shuffles the batch; ``mix='crossdomain'`` pairs each sample with one of a
    different domain: from ``domains`` labels when given, else the other half of the batch.
    The partners are drawn before the weights (the order every seeded result depends on).
    """
    batch = x.shape[0]
    if mix == "crossdomain" and domains is not None:
        if domains.numel() != batch:
            raise ShapeError(
                f"got {domains.numel()} domain labels for a batch of {batch}; pass one label "
                "per sample of the batch that reaches the layer"
            )
        perm = _random.domain_perm(domains.flatten(), generator)
    elif mix == "crossdomain":
        perm = _random.crossdomain_perm(batch, generator)
    else:
        perm = _random.random_perm(batch, generator)
    lam = _random.sample_beta(alpha, batch, generator)
    return {"perm": perm.to(x.device, non_blocking=True), "lam": lam.to(x.device, non_blocking=True)}


class MixingLayer(StyleLayer):
    """Base of the layers that mix a per-sample quantity with a partner sample.

    Subclasses implement :meth:`apply_params` (``perm``, ``lam`` -> one functional call) and
    set :attr:`gathers`, what :func:`~stylebias.layers.global_batch.global_mixing` collects
    from the other ranks (``"stats"``: mean/std, ``"values"``: sorted values).

    ``self.domains`` (a ``(B,)`` label tensor, or None) guides ``mix='crossdomain'``; set it
    with :func:`stylebias.mixing_domains` or directly before the forward pass.

    Args:
        p: probability of mixing at each training forward pass.
        alpha: Beta distribution parameter of the mixing weight (> 0).
        mix: ``"random"`` (shuffle the batch) or ``"crossdomain"`` (mix only between domains).
        global_batch: under DDP, draw partners from the whole global batch (``mix='random'``).
        generator: optional ``torch.Generator`` for the draws.
        active, layout, prefix_tokens: see :class:`StyleLayer`.

    Raises:
        InvalidArgumentError: ``alpha <= 0``, an unknown ``mix``, or ``global_batch`` with
            ``mix='crossdomain'``.
    """

    gathers = "stats"

    def __init__(
        self,
        p: float,
        alpha: float,
        mix: str,
        global_batch: bool,
        *,
        generator: torch.Generator | None = None,
        active: bool = True,
        layout: str = "nchw",
        prefix_tokens: int | None = None,
    ) -> None:
        super().__init__(p, generator=generator, active=active, layout=layout, prefix_tokens=prefix_tokens)
        self.alpha = check_positive(alpha, "alpha")
        self.mix = check_choice(mix, MIX_MODES, "mix")
        if global_batch and mix != "random":
            raise InvalidArgumentError("global_batch mixing supports mix='random' only")
        self.global_batch = bool(global_batch)
        self.domains: Tensor | None = None

    def sample_params(self, x: Tensor, generator: torch.Generator | None = None) -> dict[str, Any]:
        return sample_mixing(x, self.mix, self.alpha, generator, self.domains)

    def forward_maps(self, x: Tensor, params: dict[str, Any] | None = None) -> Tensor:
        if params is None and self.global_batch and self.training and self.active and world_size() > 1:
            return global_mixing(self, x, self.gathers)
        return super().forward_maps(x, params)
