"""The per-sample information bottleneck as pure tensor functions (Schulz et al., ICLR 2020).

At a layer with activations ``x`` the bottleneck replaces each feature by a noisy copy
``z = lambda * x_n + (1 - lambda) * eps`` of its normalised value ``x_n = (x - mu) / sigma``
(``eps ~ N(0, 1)``, ``lambda = smooth(sigmoid(alpha))``), then maps ``z`` back to the
feature's scale. The information that still flows, in nats per feature, is the KL divergence
of ``N(lambda x_n, (1 - lambda)^2)`` from ``N(0, 1)`` (the "capacity"); the heatmap is its sum
over channels, in bits.

These functions keep no state; the noise arrives as a tensor. :mod:`.iba` runs the
optimisation of ``alpha`` on a model.

Reference:
    Schulz, Sixt, Tombari, Landgraf. Restricting the Flow: Information Bottlenecks for
    Attribution. ICLR 2020 (arXiv:2001.00396); BioroboticsLab/IBA, ``IBA/pytorch.py``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from .._checks import check_shape
from ..errors import InvalidArgumentError, ShapeError

__all__ = [
    "FeatureStats",
    "gaussian_kernel",
    "smooth_lambda",
    "capacity",
    "restrict_information",
    "capacity_heatmap",
]


@dataclass(frozen=True)
class FeatureStats:
    """Mean and standard deviation of each feature (channel and position) of one layer.

    Attributes:
        mean: ``(C, h, w)``.
        std: ``(C, h, w)``, the unbiased estimate (``n - 1``).
        active: ``(C, h, w)`` fraction of samples in which the feature was non-zero.
        count: how many samples the estimate rests on.
    """

    mean: Tensor
    std: Tensor
    active: Tensor
    count: int

    def to(self, device: torch.device | str) -> "FeatureStats":
        return FeatureStats(self.mean.to(device), self.std.to(device), self.active.to(device), self.count)


def gaussian_kernel(sigma: float, dtype: torch.dtype = torch.float32, device: torch.device | None = None) -> Tensor:
    """The normalised 2-D Gaussian the reference smooths ``lambda`` with.

    Its side is ``2 * round(2 * sigma) + 1`` (about 2.5 standard deviations each way).

    Returns:
        ``(k, k)`` weights summing to 1.
    """
    if sigma <= 0:
        raise InvalidArgumentError(f"sigma must be > 0, got {sigma}")
    size = int(round(2 * sigma)) * 2 + 1
    coords = torch.arange(size, dtype=torch.float64) - (size - 1) / 2
    one_d = torch.exp(-(coords**2) / (2 * sigma**2))
    kernel = one_d[:, None] * one_d[None, :]  # separable: the same as exp(-(dx^2 + dy^2) / 2s^2)
    return (kernel / kernel.sum()).to(dtype=dtype, device=device)


def smooth_lambda(alpha: Tensor, sigma: float | None) -> Tensor:
    """``lambda = smooth(sigmoid(alpha))``: each channel blurred with :func:`gaussian_kernel`,
    reflection-padded so the map keeps its size.

    Args:
        alpha: ``(B, C, h, w)`` logits of the bottleneck.
        sigma: standard deviation of the blur in feature-map cells; ``None`` or 0: no blur.

    Returns:
        ``(B, C, h, w)`` values in (0, 1).
    """
    check_shape(alpha, "B C H W", "alpha")
    lam = torch.sigmoid(alpha)
    if not sigma:
        return lam
    kernel = gaussian_kernel(sigma, lam.dtype, lam.device)
    pad = kernel.shape[0] // 2
    if pad >= min(lam.shape[-2:]):
        raise ShapeError(
            f"smoothing sigma {sigma} needs a feature map larger than {pad} cells per side, got "
            f"{tuple(lam.shape[-2:])}; choose a layer with a larger map or a smaller sigma"
        )
    c = lam.shape[1]
    weight = kernel.expand(c, 1, -1, -1)
    return F.conv2d(F.pad(lam, (pad, pad, pad, pad), mode="reflect"), weight, groups=c)


def capacity(normalised: Tensor, lam: Tensor) -> Tensor:
    """KL divergence, in nats, of ``N(lambda x_n, (1 - lambda)^2)`` from ``N(0, 1)``, per feature.

    ``0.5 * (mu^2 + var - 1 - log var)`` with ``mu = lambda x_n`` and ``var = (1 - lambda)^2``:
    always >= 0, zero when ``lambda = 0`` (only noise flows).
    """
    mu = normalised * lam
    var = (1 - lam) ** 2
    return -0.5 * (1 + torch.log(var) - mu**2 - var)


def restrict_information(
    x: Tensor, lam: Tensor, stats: FeatureStats, noise: Tensor, *, relu: bool = False
) -> tuple[Tensor, Tensor]:
    """The bottleneck's output and its capacity.

    Args:
        x: ``(N, C, h, w)`` activations.
        lam: ``(N, C, h, w)`` values in (0, 1) (:func:`smooth_lambda`).
        stats: the layer's feature statistics; features active in at most 1 % of the samples
            the statistics were estimated on are switched off, as in the reference.
        noise: ``(N, C, h, w)`` standard normal draws.
        relu: clamp the output at 0 (a layer whose output follows a ReLU).

    Returns:
        ``(z, capacity)``: the restricted activations (``x``'s scale) and the capacity per
        feature in nats (0 where a feature is switched off).
    """
    active = (stats.active > 0.01).to(x.dtype)
    normalised = (x - stats.mean) / stats.std
    cap = capacity(normalised, lam) * active
    z = (normalised * lam + (1 - lam) * noise) * stats.std + stats.mean
    z = z * active
    return (z.clamp_min(0) if relu else z), cap


def capacity_heatmap(cap: Tensor, size: tuple[int, int]) -> Tensor:
    """Bits per pixel: the capacity summed over channels, converted to bits and resized to
    ``size`` (bilinear) so that each map's total number of bits is kept exactly.

    Args:
        cap: ``(B, C, h, w)`` capacity in nats.
        size: ``(H, W)`` of the input images.

    Returns:
        ``(B, H, W)``; ``heatmap.sum((1, 2))`` equals the total capacity in bits.
    """
    bits = torch.nansum(cap, dim=1, keepdim=True) / math.log(2)
    total = bits.sum(dim=(1, 2, 3), keepdim=True)
    resized = F.interpolate(bits, size=size, mode="bilinear", align_corners=False)
    scale = total / resized.sum(dim=(1, 2, 3), keepdim=True).clamp_min(torch.finfo(bits.dtype).tiny)
    return (resized * scale)[:, 0]
