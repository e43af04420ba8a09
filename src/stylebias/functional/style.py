"""Feature-level style operations: swap, mix or perturb per-instance feature statistics.

All functions are pure: the randomness (permutation ``perm``, mixing weights ``lam``, noise)
is passed in, so results are reproducible and testable. ``x`` is always ``(B, C, H, W)``.
By default the numbers equal the published reference implementations (re-expressed in
``tests/functional/reference.py``): their unbiased variance, their eps placement and which
statistics are detached.
"""

from __future__ import annotations

import torch
from torch import Tensor

from .._checks import check_positive, check_shape, check_tensor
from ..errors import ShapeError
from .statistics import instance_stats, restyle, stats_dtype

__all__ = ["permuted_adain", "mixstyle", "efdmix", "dsu", "adversarial_style"]


def _check_index(perm: Tensor, batch: int, name: str = "perm") -> None:
    check_tensor(perm, name)
    if perm.dtype not in (torch.int64, torch.int32) or perm.shape != (batch,):
        raise ShapeError(
            f"{name} must be an integer tensor of shape ({batch},) indexing the batch; "
            f"got dtype {perm.dtype} and shape {tuple(perm.shape)}"
        )


def _check_lam(lam: Tensor, batch: int) -> None:
    check_tensor(lam, "lam")
    if not lam.is_floating_point() or lam.numel() != batch:
        raise ShapeError(
            f"lam must be a float tensor with {batch} mixing weights (one per sample); "
            f"got dtype {lam.dtype} and shape {tuple(lam.shape)}"
        )


class _PermutedAdaINFn(torch.autograd.Function):
    """Fused pAdaIN: one statistics pass and one scale-and-shift pass forward, two passes back.

    y = (x - mu) / (sqrt(var + eps) + eps) * s + m, with (m, s) the detached statistics of
    x[perm] and gradients through the content statistics (mu, var), as in the reference.
    """

    @staticmethod
    def forward(ctx, x: Tensor, perm: Tensor, eps: float) -> Tensor:  # type: ignore[override]
        mu, sd = instance_stats(x.detach(), eps)
        denom = sd + eps  # the reference adds eps a second time "to avoid division by 0"
        style_mu, style_sd = mu[perm], sd[perm]
        scale = style_sd / denom
        with torch.autocast(x.device.type, enabled=False):
            y = restyle(x, scale, style_mu - mu * scale)
        ctx.save_for_backward(x, mu, sd, denom, style_sd)
        return y

    @staticmethod
    def backward(ctx, grad: Tensor):  # type: ignore[override]
        x, mu, sd, denom, style_sd = ctx.saved_tensors
        n = x.shape[2] * x.shape[3]
        acc = stats_dtype(x)
        with torch.autocast(x.device.type, enabled=False):
            g = grad.to(acc)
            xs = x.to(acc)
            sum_g = g.sum(dim=(2, 3), keepdim=True)
            if xs.is_contiguous() and g.is_contiguous():
                bc = x.shape[0] * x.shape[1]  # batched dot products: no (g * x) temporary
                sum_gx = torch.bmm(g.reshape(bc, 1, n), xs.reshape(bc, n, 1)).view_as(sum_g)
            else:
                sum_gx = (g * xs).sum(dim=(2, 3), keepdim=True)
            a = style_sd / denom  # d y / d x through the direct path
            # through var: dL/dx_i += k * (x_i - mu), k = -s * sum(g (x - mu)) / (d^2 sd (n - 1))
            k = -style_sd * (sum_gx - mu * sum_g) / (denom * denom * sd * max(n - 1, 1))
            if n == 1:  # var is defined as 0 for 1x1 maps: no gradient through it
                k = torch.zeros_like(k)
            const = -a * sum_g / n - k * mu  # through mu (direct term) and the -k*mu part
            dx = torch.addcmul(const, k, xs).addcmul_(a, g)
        return dx.to(x.dtype), None, None


def permuted_adain(x: Tensor, perm: Tensor, eps: float = 1e-5) -> Tensor:
    """Permuted AdaIN (Nuriel et al., CVPR 2021): give each sample the statistics of another.

    AdaIN of ``x`` to the detached instance statistics of ``x[perm]``. As in the reference
    (onuriel/PermutedAdaIN), the content std is ``sqrt(var + eps) + eps`` and gradients flow
    through the content statistics, not the style ones. Runs as one fused autograd function.

    Args:
        x: features ``(B, C, H, W)``.
        perm: integer tensor ``(B,)``; sample ``i`` takes the statistics of ``x[perm[i]]``.
        eps: added to the variance and once more to the content std (> 0).

    Returns:
        ``(B, C, H, W)`` with the dtype and memory format of ``x``.

    Reference:
        Nuriel, Benaim & Wolf, "Permuted AdaIN: Reducing the Bias Towards Global Statistics
        in Image Classification", CVPR 2021, arXiv:2010.05785.

    Example:
        >>> x = torch.randn(4, 8, 16, 16)
        >>> permuted_adain(x, torch.tensor([1, 0, 3, 2])).shape
        torch.Size([4, 8, 16, 16])
    """
    check_shape(x, "B C H W", "x")
    _check_index(perm, x.shape[0])
    return _PermutedAdaINFn.apply(x, perm.to(x.device), check_positive(eps, "eps"))


def mixstyle(
    x: Tensor,
    perm: Tensor,
    lam: Tensor,
    eps: float = 1e-6,
    partner_stats: tuple[Tensor, Tensor] | None = None,
) -> Tensor:
    """MixStyle (Zhou et al., ICLR 2021): mix instance statistics between samples.

    ``(x - mu) / sigma * sigma_mix + mu_mix`` with ``mu_mix = lam * mu + (1 - lam) * mu[perm]``
    (same for sigma) and detached statistics, ``sigma = sqrt(var + eps)`` (unbiased var), as in
    KaiyangZhou/mixstyle-release. ``lam = 1`` is the identity. Computed as one statistics pass
    and one fused scale-and-shift, so the gradient w.r.t. ``x`` is ``sigma_mix / sigma``.

    Args:
        x: features ``(B, C, H, W)``.
        perm: integer tensor ``(B,)``, the sample whose statistics are mixed in.
        lam: float tensor ``(B,)`` (or ``(B, 1, 1, 1)``), weight of the sample's own statistics.
        eps: added to the variance (> 0).
        partner_stats: optional ``(mu, sigma)``, each ``(N, C, 1, 1)``, that ``perm`` indexes
            instead of the batch's own statistics (e.g. those of the global batch under DDP).

    Reference:
        Zhou, Yang, Qiao & Xiang, "Domain Generalization with MixStyle", ICLR 2021,
        arXiv:2104.02008.

    Example:
        >>> x = torch.randn(4, 8, 16, 16)
        >>> y = mixstyle(x, torch.tensor([1, 0, 3, 2]), torch.full((4,), 0.3))
    """
    check_shape(x, "B C H W", "x")
    batch = x.shape[0]
    _check_index(perm, batch)
    _check_lam(lam, batch)
    mu, sigma = instance_stats(x.detach(), eps)
    lam = lam.to(device=mu.device, dtype=mu.dtype).view(batch, 1, 1, 1)
    perm = perm.to(mu.device)
    partner_mu, partner_sigma = (mu, sigma) if partner_stats is None else partner_stats
    mu_mix = torch.lerp(partner_mu[perm].to(mu), mu, lam)
    sigma_mix = torch.lerp(partner_sigma[perm].to(sigma), sigma, lam)
    scale = sigma_mix / sigma
    return restyle(x, scale, mu_mix - mu * scale)


class _StraightThroughLerpFn(torch.autograd.Function):
    """Forward ``lam * x + (1 - lam) * target``; backward ``dx = g``, ``dtarget = (1 - lam) g``.

    This is EFDMix's ``x + (target * (1 - lam) - x.detach() * (1 - lam))`` in one pass.
    """

    @staticmethod
    def forward(ctx, x: Tensor, target: Tensor, lam: Tensor) -> Tensor:  # type: ignore[override]
        ctx.save_for_backward(lam)
        return torch.lerp(target, x, lam)

    @staticmethod
    def backward(ctx, grad: Tensor):  # type: ignore[override]
        (lam,) = ctx.saved_tensors
        return grad, grad * (1 - lam), None


def efdmix(x: Tensor, perm: Tensor, lam: Tensor, partner_values: Tensor | None = None) -> Tensor:
    """EFDMix (Zhang et al., CVPR 2022): exact feature distribution matching, mixed by ``lam``.

    Within each sample and channel, the value of rank ``k`` is replaced by
    ``lam * value + (1 - lam) * (k-th smallest value of x[perm])``; ``lam = 0`` is pure EFDM
    (sort-matching), ``lam = 1`` the identity. Gradients are those of the reference
    (YBZh/EFDM): straight-through (identity) w.r.t. ``x`` and ``(1 - lam)`` times the upstream
    gradient into the sorted values of ``x[perm]``. One sort and a scatter replace the
    reference's sort plus argsort.

    Args:
        x: features ``(B, C, H, W)``.
        perm: integer tensor ``(B,)``, the sample whose value distribution is mixed in.
        lam: float tensor ``(B,)`` of mixing weights.
        partner_values: optional sorted values ``(N, C, H*W)`` that ``perm`` indexes instead of
            the batch's own (e.g. the global batch under DDP; no gradient reaches them).

    Reference:
        Zhang, Li, Wang, Zuo & Zhang, "Exact Feature Distribution Matching for Arbitrary
        Style Transfer and Domain Generalization", CVPR 2022, arXiv:2203.07740.

    Example:
        >>> x = torch.randn(2, 3, 4, 4)
        >>> y = efdmix(x, torch.tensor([1, 0]), torch.zeros(2))  # pure EFDM
        >>> torch.equal(y[0].flatten(1).sort().values, x[1].flatten(1).sort().values)
        True
    """
    check_shape(x, "B C H W", "x")
    batch, _, height, width = x.shape
    _check_index(perm, batch)
    _check_lam(lam, batch)
    flat = x.flatten(2)  # a view for contiguous and channels_last input
    values, order = torch.sort(flat, dim=-1)
    source = values if partner_values is None else partner_values.to(values)
    matched = torch.empty_like(flat).scatter_(-1, order, source[perm.to(x.device)])
    weight = lam.to(device=x.device, dtype=x.dtype).view(batch, 1, 1)
    return _StraightThroughLerpFn.apply(flat, matched, weight).unflatten(-1, (height, width))


def dsu(
    x: Tensor, noise_mu: Tensor, noise_sigma: Tensor, eps: float = 1e-6, factor: float = 1.0
) -> Tensor:
    """DSU (Li et al., ICLR 2022): resample statistics from Gaussians fitted across the batch.

    ``beta = mu + noise_mu * factor * std_B(mu)`` and ``gamma = sigma + noise_sigma * factor *
    std_B(sigma)``, where ``std_B`` is the (unbiased) standard deviation over the batch plus
    eps under the root; the output is ``(x - mu) / sigma * gamma + beta``. Statistics are not
    detached, as in lixiaotong97/DSU. With a batch of one the batch spread is undefined (NaN in
    the reference) and is taken as ``sqrt(eps)``.

    Args:
        x: features ``(B, C, H, W)``.
        noise_mu: standard-normal noise ``(B, C)`` for the means.
        noise_sigma: standard-normal noise ``(B, C)`` for the standard deviations.
        eps: added to every variance (> 0).
        factor: scales the noise (the reference's ``self.factor``, 1.0).

    Reference:
        Li et al., "Uncertainty Modeling for Out-of-Distribution Generalization", ICLR 2022,
        arXiv:2202.03958.
    """
    check_shape(x, "B C H W", "x")
    batch, channels = x.shape[:2]
    for name, noise in (("noise_mu", noise_mu), ("noise_sigma", noise_sigma)):
        check_tensor(noise, name)
        if noise.numel() != batch * channels:
            raise ShapeError(
                f"{name} must have shape ({batch}, {channels}); got {tuple(noise.shape)}"
            )
    mu, sigma = instance_stats(x, eps)
    correction = 1 if batch > 1 else 0
    spread_mu = (mu.var(dim=0, keepdim=True, correction=correction) + eps).sqrt()
    spread_sigma = (sigma.var(dim=0, keepdim=True, correction=correction) + eps).sqrt()
    shape = (batch, channels, 1, 1)
    beta = mu + noise_mu.to(mu).view(shape) * factor * spread_mu
    gamma = sigma + noise_sigma.to(sigma).view(shape) * factor * spread_sigma
    scale = gamma / sigma
    return restyle(x, scale, beta - mu * scale)


def adversarial_style(
    x: Tensor, mean_scale: Tensor, std_scale: Tensor, per_instance: bool = False
) -> Tensor:
    """Scale the feature mean and standard deviation, as AdvBN (Shu et al., NeurIPS 2021).

    ``(x - mu) * std_scale + mu * mean_scale``: the deviation from the mean is scaled by
    ``std_scale`` (so the std becomes ``sigma * std_scale``) and the mean by ``mean_scale``.
    ``mu`` is the per-channel mean over the batch and H x W (the reference's batch statistics),
    or per sample with ``per_instance=True``; it is detached. Both scales are differentiable,
    which is what the inner maximisation of :func:`stylebias.adversarial_style` uses.

    Args:
        x: features ``(B, C, H, W)``.
        mean_scale: ``(1, C, 1, 1)`` (batch statistics) or ``(B, C, 1, 1)`` (per instance).
        std_scale: same shape as ``mean_scale``.
        per_instance: use per-sample means instead of batch means.

    Reference:
        Shu et al., "Encoding Robustness to Image Style via Adversarial Feature
        Perturbations", NeurIPS 2021, arXiv:2009.08965 (azshue/AdvBN).
    """
    check_shape(x, "B C H W", "x")
    dims = (2, 3) if per_instance else (0, 2, 3)
    with torch.autocast(x.device.type, enabled=False):
        mu = x.detach().to(stats_dtype(x)).mean(dim=dims, keepdim=True)
    for name, s in (("mean_scale", mean_scale), ("std_scale", std_scale)):
        check_tensor(s, name)
        if s.dim() != 4 or s.shape[1] != x.shape[1] or s.shape[0] not in (1, x.shape[0]):
            raise ShapeError(
                f"{name} must have shape (1, {x.shape[1]}, 1, 1) or "
                f"({x.shape[0]}, {x.shape[1]}, 1, 1); got {tuple(s.shape)}"
            )
    return restyle(x, std_scale, mu * (mean_scale - std_scale))
