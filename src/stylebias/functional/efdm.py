"""Exact feature distribution matching (EFDM) between two feature maps of any spatial sizes."""

from __future__ import annotations

import torch
from torch import Tensor

from .._checks import check_shape
from ..errors import ShapeError

__all__ = ["efdm", "sorted_values", "match_sorted"]


def sorted_values(x: Tensor) -> Tensor:
    """Each sample's and channel's values in ascending order.

    Args:
        x: features ``(B, C, H, W)``.

    Returns:
        ``(B, C, H*W)``: the order statistics that :func:`match_sorted` imposes.
    """
    check_shape(x, "B C H W", "x")
    return torch.sort(x.flatten(2), dim=-1).values


def _resample_sorted(values: Tensor, n: int) -> Tensor:
    """Sorted values ``(B, C, M)`` resampled to ``n`` quantiles by linear interpolation.

    Quantile ``k`` of ``n`` sits at position ``k * (M - 1) / (n - 1)`` of the ``M`` sorted values;
    for ``n == M`` the values come back unchanged.
    """
    m = values.shape[-1]
    if m == n:
        return values
    if m == 1 or n == 1:
        return values.mean(dim=-1, keepdim=True).expand(*values.shape[:-1], n)
    pos = torch.linspace(0, m - 1, n, device=values.device, dtype=torch.float64)
    lo = pos.floor().long().clamp_(max=m - 2)
    frac = (pos - lo).to(values.dtype)
    return torch.lerp(values[..., lo], values[..., lo + 1], frac)


def match_sorted(content: Tensor, values: Tensor) -> Tensor:
    """Give each channel of ``content`` the value distribution ``values`` (sorted, per channel).

    The element of rank ``k`` in a channel of ``content`` takes the ``k``-th quantile of the
    matching channel of ``values``. Gradients are those of the EFDM reference: identity
    (straight-through) into ``content`` and through the gathered quantiles into ``values``.

    Args:
        content: ``(B, C, H, W)``.
        values: ascending values ``(B, C, M)`` or ``(1, C, M)``, e.g. from :func:`sorted_values`;
            ``M`` may differ from ``H*W`` (the quantiles are interpolated linearly).

    Returns:
        ``(B, C, H, W)``, same dtype as ``content``.

    Raises:
        ShapeError: wrong ranks, channel counts or batch sizes.
    """
    check_shape(content, "B C H W", "content")
    check_shape(values, "B C N", "values")
    batch, channels, height, width = content.shape
    if values.shape[1] != channels or values.shape[0] not in (1, batch):
        raise ShapeError(
            f"values must have the content's {channels} channels and a batch of {batch} or 1; "
            f"got content {tuple(content.shape)} and values {tuple(values.shape)}"
        )
    flat = content.flatten(2)
    order = torch.sort(flat.detach(), dim=-1, stable=True).indices
    target = _resample_sorted(values.to(content.dtype), height * width)
    target = target.expand(batch, channels, height * width)
    matched = torch.empty_like(flat).scatter(-1, order, target)
    return (flat + (matched - flat.detach())).unflatten(-1, (height, width))


def efdm(content: Tensor, style: Tensor) -> Tensor:
    """Exact feature distribution matching for style transfer (Zhang et al., CVPR 2022).

    Sort-matching: within each sample and channel, the ``k``-th smallest value of ``content`` is
    replaced by the ``k``-th smallest value of ``style``. For equal spatial sizes this is
    ``exact_feature_distribution_matching`` of YBZh/EFDM; for different sizes (a 224-px content
    and a 512-px painting) the style's sorted values are resampled to the content's number of
    positions by linear interpolation of the empirical quantile function.

    Args:
        content: ``(B, C, H, W)``.
        style: ``(B, C, H', W')`` or ``(1, C, H', W')``.

    Returns:
        ``(B, C, H, W)``; each channel holds the style's value distribution in the content's
        spatial arrangement.

    Raises:
        ShapeError: the inputs are not 4-D or their channel counts (or batch sizes) differ.

    Reference:
        Zhang, Li, Wang, Zuo & Zhang, "Exact Feature Distribution Matching for Arbitrary
        Style Transfer and Domain Generalization", CVPR 2022, arXiv:2203.07740.

    Example:
        >>> c, s = torch.randn(1, 2, 4, 4), torch.randn(1, 2, 4, 4)
        >>> out = efdm(c, s)
        >>> torch.equal(out.flatten(2).sort().values, s.flatten(2).sort().values)
        True
    """
    check_shape(content, "B C H W", "content")
    return match_sorted(content, sorted_values(style))
