"""Noise corruptions: gaussian, shot (Poisson), impulse (salt and pepper), speckle.

Reference: Hendrycks & Dietterich, "Benchmarking Neural Network Robustness to Common Corruptions
and Perturbations", ICLR 2019 (``make_imagenet_c.py`` / ``make_cifar_c.py``).
"""

from __future__ import annotations

import torch
from torch import Tensor

from ._base import Context, register
from ._ops import draw


@register(
    "gaussian_noise",
    "noise",
    imagenet=(0.08, 0.12, 0.18, 0.26, 0.38),
    cifar=(0.04, 0.06, 0.08, 0.09, 0.10),
)
def gaussian_noise(x: Tensor, std: float, ctx: Context) -> Tensor:
    """Add N(0, std^2) to every value."""
    return (x + std * draw(torch.randn, x.shape, ctx.generator, x.device, dtype=x.dtype)).clamp(0, 1)


@register(
    "shot_noise", "noise", imagenet=(60, 25, 12, 5, 3), cifar=(500, 250, 100, 75, 50)
)
def shot_noise(x: Tensor, photons: float, ctx: Context) -> Tensor:
    """Poisson(x * photons) / photons: fewer photons, more noise."""
    rate = (x * photons).float()
    if ctx.generator is None:
        counts = torch.poisson(rate)
    else:
        counts = torch.poisson(rate.to(ctx.generator.device), generator=ctx.generator).to(x.device)
    return (counts / photons).to(x.dtype).clamp(0, 1)


@register(
    "impulse_noise",
    "noise",
    imagenet=(0.03, 0.06, 0.09, 0.17, 0.27),
    cifar=(0.01, 0.02, 0.03, 0.05, 0.07),
)
def impulse_noise(x: Tensor, amount: float, ctx: Context) -> Tensor:
    """Salt and pepper: each value becomes 0 or 1 (equally likely) with probability ``amount``."""
    u = draw(torch.rand, x.shape, ctx.generator, x.device, dtype=x.dtype)
    # u < amount flips a value; given that, u < amount / 2 (probability 1/2) makes it salt
    return torch.where(u < amount, (u < amount / 2).to(x.dtype), x)


@register(
    "speckle_noise",
    "noise",
    imagenet=(0.15, 0.2, 0.35, 0.45, 0.6),
    cifar=(0.06, 0.1, 0.12, 0.16, 0.2),
    extra=True,
)
def speckle_noise(x: Tensor, std: float, ctx: Context) -> Tensor:
    """Multiplicative noise: x + x * N(0, std^2)."""
    noise = draw(torch.randn, x.shape, ctx.generator, x.device, dtype=x.dtype)
    return (x + x * std * noise).clamp(0, 1)
