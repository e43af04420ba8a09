"""Per-instance feature statistics and AdaIN.

Shapes: ``x`` is a feature map ``(B, C, H, W)``. Statistics are returned with shape
``(B, C, 1, 1)`` so they broadcast against ``x``.
"""

from __future__ import annotations

import torch
from torch import Tensor

from .._checks import check_positive, check_shape
from ..errors import ShapeError

__all__ = ["instance_stats", "adain", "restyle", "stats_dtype"]


def stats_dtype(x: Tensor) -> torch.dtype:
    """The dtype statistics of ``x`` are computed in: float32 for half types, else x's own."""
    return torch.float32 if x.dtype in (torch.float16, torch.bfloat16) else x.dtype


def instance_stats(x: Tensor, eps: float = 1e-5, unbiased: bool = True) -> tuple[Tensor, Tensor]:
    """Mean and standard deviation of each sample and channel over H x W.

    ``sigma = sqrt(var + eps)``, as in the AdaIN, MixStyle, pAdaIN and DSU reference code. The
    statistics are computed in float32 for float16/bfloat16 input and with autocast disabled, so
    large activations under mixed precision do not overflow.

    Args:
        x: features ``(B, C, H, W)``.
        eps: added to the variance before the square root; must be > 0, so that dividing by
            ``sigma`` (and the gradient of the root) stays finite on a constant channel.
        unbiased: divide by ``H*W - 1`` (the references' ``Tensor.var`` default) instead of
            ``H*W``. For a 1 x 1 map the unbiased estimate is undefined (the references give
            NaN); the variance is then taken as 0, so ``sigma = sqrt(eps)``.

    Returns:
        ``(mu, sigma)``, each ``(B, C, 1, 1)`` in float32 (float64 for float64 input).

    Raises:
        ShapeError: ``x`` is not 4-D.
        InvalidArgumentError: ``eps`` is not > 0.

    Example:
        >>> mu, sigma = instance_stats(torch.randn(2, 3, 8, 8))
        >>> mu.shape
        torch.Size([2, 3, 1, 1])
    """
    check_shape(x, "B C H W", "x")
    check_positive(eps, "eps")
    correction = 1 if unbiased and x.shape[2] * x.shape[3] > 1 else 0
    with torch.autocast(x.device.type, enabled=False):
        mu, var = _Moments.apply(x, correction)
    return mu, (var + eps).sqrt()


# Rows whose mean is large against their spread lose digits in sum-of-squares variance;
# those are recomputed with Welford's algorithm (torch.var_mean). 100 keeps the relative
# error of the fast path below about 1e-5 in float32. So are rows whose sum of squares
# overflowed (|x| around 1e19 in float32), where var_mean still gives finite statistics.
_ILL_CONDITIONED = 100.0


class _Moments(torch.autograd.Function):
    """Per-(sample, channel) mean and variance over H x W, in one fast pass on the CPU.

    torch.var_mean runs Welford's algorithm, which on the CPU is compute-bound (tens of times
    slower than a plain reduction). Here the CPU path reads x once for the sum and once for
    the sum of squares (both vectorised, bandwidth-bound, no temporaries) and falls back to
    var_mean for the few ill-conditioned or overflowed rows (a check on the (B, C) results,
    no extra pass over x). Other devices and half types use var_mean.
    The backward pass is one fused pass: dx = g_mu / n + g_var * 2 (x - mu) / (n - c).
    """

    @staticmethod
    def forward(ctx, x: Tensor, correction: int) -> tuple[Tensor, Tensor]:  # type: ignore[override]
        n = x.shape[2] * x.shape[3]
        dtype = stats_dtype(x)
        if x.device.type == "cpu" and x.dtype == dtype:
            total = x.sum(dim=(2, 3), keepdim=True)
            squares = torch.linalg.vector_norm(x, dim=(2, 3), keepdim=True).square()
            mu = total / n
            var = ((squares - total * mu) / (n - correction)).clamp_min(0)
            overflowed = ~torch.isfinite(var)  # inf - inf gives NaN, clamp_min keeps it
            bad = ((mu * mu > _ILL_CONDITIONED * var) | overflowed).flatten().nonzero().flatten()
            if bad.numel():
                rows = x.flatten(0, 1).index_select(0, bad)
                exact_var, exact_mu = torch.var_mean(rows, dim=(1, 2), correction=correction)
                var.view(-1).index_copy_(0, bad, exact_var)
                mu.view(-1).index_copy_(0, bad, exact_mu)
        else:
            var, mu = torch.var_mean(x.to(dtype), dim=(2, 3), correction=correction, keepdim=True)
        ctx.save_for_backward(x, mu)
        ctx.denominator = n - correction
        return mu, var

    @staticmethod
    def backward(ctx, grad_mu: Tensor, grad_var: Tensor):  # type: ignore[override]
        x, mu = ctx.saved_tensors
        n = x.shape[2] * x.shape[3]
        coef = 2 * grad_var / ctx.denominator
        const = grad_mu / n - coef * mu
        dx = torch.addcmul(const, x, coef)
        return dx.to(x.dtype), None


def restyle(x: Tensor, scale: Tensor, shift: Tensor) -> Tensor:
    """``x * scale + shift`` in one pass, with per-(sample, channel) ``scale`` and ``shift``.

    Every style layer ends in this step: with ``scale = sigma_new / sigma`` and
    ``shift = mu_new - mu * scale`` it equals ``(x - mu) / sigma * sigma_new + mu_new``.
    ``scale``/``shift`` may be float32 for half-precision ``x``; the arithmetic then runs in
    float32 and the result is cast back to ``x.dtype``. The memory format of ``x``
    (e.g. channels_last) is kept.

    Args:
        x: features ``(B, C, H, W)``.
        scale: ``(B, C, 1, 1)`` or ``(1, C, 1, 1)``.
        shift: same shape as ``scale``.
    """
    out = torch.addcmul(shift, x, scale)
    return out if out.dtype == x.dtype else out.to(x.dtype)


def adain(content: Tensor, style: Tensor, eps: float = 1e-5) -> Tensor:
    """Adaptive instance normalisation (Huang & Belongie, ICCV 2017).

    Normalises each channel of ``content`` by its own mean/std and gives it the mean/std of the
    same channel of ``style``, exactly as ``adaptive_instance_normalization`` in
    naoto0804/pytorch-AdaIN (unbiased variance, ``sigma = sqrt(var + eps)``; gradients flow
    into both inputs).

    Args:
        content: ``(B, C, H, W)``.
        style: ``(B, C, H', W')`` or ``(1, C, H', W')``; its spatial size may differ.
        eps: added to the variance (> 0).

    Returns:
        ``(B, C, H, W)``, same dtype as ``content``; each channel's mean and (unbiased)
        standard deviation equal the style's, up to ``eps``.

    Raises:
        ShapeError: the inputs are not 4-D or their channel counts (or batch sizes) differ.

    Reference:
        Huang & Belongie, "Arbitrary Style Transfer in Real-time with Adaptive Instance
        Normalization", ICCV 2017, arXiv:1703.06868.

    Example:
        >>> out = adain(torch.randn(2, 8, 16, 16), torch.randn(2, 8, 4, 4))
        >>> out.shape
        torch.Size([2, 8, 16, 16])
    """
    check_shape(content, "B C H W", "content")
    check_shape(style, "B C H W", "style")
    if style.shape[1] != content.shape[1] or style.shape[0] not in (1, content.shape[0]):
        raise ShapeError(
            f"style must have the content's channels and a batch of {content.shape[0]} or 1; "
            f"got content {tuple(content.shape)} and style {tuple(style.shape)}"
        )
    c_mu, c_sigma = instance_stats(content, eps)
    s_mu, s_sigma = instance_stats(style, eps)
    scale = s_sigma / c_sigma
    return restyle(content, scale, s_mu - c_mu * scale)
