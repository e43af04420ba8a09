"""Colour preservation for style transfer: match a style image's colours to the content's."""

from __future__ import annotations

import torch
from torch import Tensor

from .._checks import check_shape
from ..errors import ShapeError

__all__ = ["coral"]


def _sqrtm(m: Tensor) -> Tensor:
    """Square root of symmetric positive-definite matrices ``(..., 3, 3)``."""
    vals, vecs = torch.linalg.eigh(m)
    return vecs @ torch.diag_embed(vals.clamp_min(0).sqrt()) @ vecs.transpose(-1, -2)


def coral(source: Tensor, target: Tensor) -> Tensor:
    """Give ``source`` the colour mean and covariance of ``target`` (CORAL, per image).

    Used for colour-preserving style transfer (``preserve_color=True``): the *style* image is
    re-coloured like the *content* image before it is encoded. As ``coral`` in
    naoto0804/pytorch-AdaIN: each image is standardised per channel (unbiased std), whitened by
    the square root of its channel correlation matrix plus a small identity, coloured with the
    target's, and given the target's per-channel mean and std. The reference adds the identity
    to un-normalised correlation sums (``N - 1`` times the correlation); here both matrices are
    divided by ``N - 1`` first, which gives the same result for images of equal size and the
    right one when style and content sizes differ (the reference then scales the colours by
    ``sqrt(N_target / N_source)``).

    Args:
        source: RGB ``(B, 3, H, W)`` (the style images).
        target: RGB ``(B, 3, H', W')`` or ``(1, 3, H', W')`` (the content images).

    Returns:
        ``(B, 3, H, W)``: ``source`` with the colour statistics of ``target``. Not clamped.

    Raises:
        ShapeError: not 3-channel 4-D tensors, or batch sizes that do not match.

    Reference:
        Gatys et al., "Controlling Perceptual Factors in Neural Style Transfer", CVPR 2017;
        Sun, Feng & Saenko, "Return of Frustratingly Easy Domain Adaptation", AAAI 2016.
    """
    check_shape(source, "B 3 H W", "source")
    check_shape(target, "B 3 H W", "target")
    if target.shape[0] not in (1, source.shape[0]):
        raise ShapeError(
            f"target must have a batch of {source.shape[0]} or 1, got {tuple(target.shape)}"
        )

    def standardise(x: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        flat = x.flatten(2).double()
        n = flat.shape[-1]
        std, mean = torch.std_mean(flat, dim=-1, keepdim=True)
        std = std.clamp_min(1e-8)
        norm = (flat - mean) / std
        eye = torch.eye(3, dtype=flat.dtype, device=flat.device)
        cov = (norm @ norm.transpose(-1, -2) + eye) / max(n - 1, 1)
        return norm, mean, std, cov

    s_norm, _, _, s_cov = standardise(source)
    _, t_mean, t_std, t_cov = standardise(target)
    recoloured = _sqrtm(t_cov) @ torch.linalg.inv(_sqrtm(s_cov)) @ s_norm
    out = recoloured * t_std + t_mean
    return out.to(source.dtype).view_as(source)
