"""Random convolutions (RandConv): filter a batch with a freshly drawn random kernel.

A random linear filter keeps shapes (edges stay where they are) but scrambles local texture
and colour, so every draw is a new "domain" with the same objects (Xu et al., ICLR 2021).
The functions follow the authors' ``RandConvModule`` (wildphoton/RandConv,
``lib/networks/rand_conv.py``):

* one draw per batch: a kernel size chosen uniformly from ``kernel_sizes`` (the paper's
  multi-scale setting is 1, 3, 5, 7), weights ``N(0, 1 / (C_in * k * k))`` (PyTorch's
  ``kaiming_normal_`` with the ``'conv2d'`` gain of 1, fan-in mode), no bias, ``k // 2``
  zero padding so the image keeps its size;
* the reference convolves *normalised* images (``(x - mean) / std``, the network's input);
  our images are RGB in [0, 1], so :func:`randconv_with` normalises with ``mean``/``std``,
  filters, and maps the result back to the [0, 1] scale (with ``mean=None`` it filters the
  [0, 1] values directly);
* mixing (the paper's RC_mix): ``out = alpha * conv(x) + (1 - alpha) * x`` with one
  ``alpha ~ U(0, 1)`` per draw (the reference's weighting: ``alpha`` weighs the filtered image);
* with probability ``1 - p`` the batch is left as it is (the reference's ``identity_prob``);
* no clamping by default (the reference scripts leave ``--clamp_output`` off, so values may
  leave [0, 1]); ``clamp=True`` clamps to the valid image range, which is the reference's
  clamp of the normalised output to the normalised image of [0, 1].

The randomness is drawn apart from the deterministic filter: :func:`sample_randconv`
returns :class:`RandConvParams` and :func:`randconv_with` applies them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .._checks import check_prob, check_shape, check_tensor
from .._random import fires
from ..errors import InvalidArgumentError, ShapeError

__all__ = [
    "KERNEL_SIZES", "RandConvParams", "check_kernel_sizes", "random_conv_weight", "sample_randconv",
    "randconv_with", "randconv", "RandConv", "consistency_loss",
]

KERNEL_SIZES: tuple[int, ...] = (1, 3, 5, 7)  # the paper's multi-scale RandConv (RC_img/mix 1-7)


@dataclass(frozen=True)
class RandConvParams:
    """One draw of the augmentation.

    Attributes:
        weight: filter ``(C, C, k, k)`` with odd ``k``, or None: the batch stays as it is.
        alpha: weight of the filtered image in the mix, a float in [0, 1]; None: no mixing.
    """

    weight: Tensor | None
    alpha: float | None = None


def check_kernel_sizes(kernel_sizes: Sequence[int], name: str = "kernel_sizes") -> tuple[int, ...]:
    """``kernel_sizes`` as a tuple of positive odd ints (odd, so ``k // 2`` padding keeps the size).

    Raises:
        InvalidArgumentError: empty, or a size that is not a positive odd integer.
    """
    if isinstance(kernel_sizes, (int, str)) or not isinstance(kernel_sizes, Sequence) or not kernel_sizes:
        raise InvalidArgumentError(f"{name} must be a non-empty list of odd kernel sizes such as [1, 3, 5, 7]; got {kernel_sizes!r}")
    bad = [k for k in kernel_sizes if isinstance(k, bool) or not isinstance(k, int) or k < 1 or k % 2 == 0]
    if bad:
        raise InvalidArgumentError(
            f"{name} must hold positive odd integers (odd so that padding k // 2 keeps the image size); "
            f"got {list(kernel_sizes)!r}, bad: {bad!r}"
        )
    return tuple(kernel_sizes)


def random_conv_weight(
    kernel_size: int,
    channels: int = 3,
    *,
    generator: torch.Generator | None = None,
    device: torch.device | str | None = None,
    dtype: torch.dtype = torch.float32,
) -> Tensor:
    """A random filter ``(channels, channels, k, k)`` with entries ``N(0, 1 / (channels * k * k))``.

    The std is ``kaiming_normal_``'s for a conv layer in fan-in mode (gain 1), the reference's
    default ``distribution='kaiming_normal'``; drawn on the generator's device, returned on
    ``device``.
    """
    check_kernel_sizes([kernel_size], "kernel_size")
    draw_device = generator.device if generator is not None else torch.device("cpu")
    std = 1.0 / math.sqrt(channels * kernel_size * kernel_size)
    weight = torch.randn(channels, channels, kernel_size, kernel_size, generator=generator, device=draw_device) * std
    return weight.to(device=device if device is not None else draw_device, dtype=dtype)


def sample_randconv(
    images: Tensor,
    kernel_sizes: Sequence[int] = KERNEL_SIZES,
    *,
    mixing: bool = True,
    p: float = 1.0,
    generator: torch.Generator | None = None,
) -> RandConvParams:
    """Draw one augmentation for the batch ``images`` ``(B, C, H, W)``.

    Draw order: whether the batch is filtered (probability ``p``; no draw when ``p`` is 0 or 1),
    then the kernel size, the weights and, with ``mixing``, ``alpha``. A batch left as it is
    draws nothing more.
    """
    check_shape(images, "B C H W", "images")
    sizes = check_kernel_sizes(kernel_sizes)
    if not fires(check_prob(p, "p"), generator):
        return RandConvParams(None, None)
    draw_device = generator.device if generator is not None else torch.device("cpu")
    k = sizes[int(torch.randint(len(sizes), (), generator=generator, device=draw_device))]
    weight = random_conv_weight(k, images.shape[1], generator=generator, device=images.device, dtype=images.dtype)
    alpha = float(torch.rand((), generator=generator, device=draw_device)) if mixing else None
    return RandConvParams(weight, alpha)


def _check_weight(weight: Tensor, channels: int) -> None:
    check_tensor(weight, "weight")
    if weight.dim() != 4 or weight.shape[:2] != (channels, channels) or weight.shape[2] != weight.shape[3] \
            or weight.shape[2] % 2 == 0:
        raise ShapeError(
            f"weight must have shape ({channels}, {channels}, k, k) with odd k (one filter per output "
            f"channel of the {channels}-channel images); got {tuple(weight.shape)}"
        )


def _channel_stats(values: Sequence[float] | Tensor, images: Tensor, name: str) -> Tensor:
    stats = torch.as_tensor(values, dtype=images.dtype, device=images.device).reshape(-1, 1, 1)
    if stats.shape[0] != images.shape[1]:
        raise ShapeError(f"{name} must have one value per channel ({images.shape[1]}); got {stats.shape[0]}")
    return stats


def randconv_with(
    images: Tensor,
    weight: Tensor | None,
    alpha: float | Tensor | None = None,
    *,
    mean: Sequence[float] | Tensor | None = None,
    std: Sequence[float] | Tensor | None = None,
    clamp: bool = False,
) -> Tensor:
    """Filter ``images`` with ``weight`` (deterministic; the draws are arguments).

    Args:
        images: ``(B, C, H, W)`` RGB in [0, 1].
        weight: ``(C, C, k, k)`` filter, odd ``k``; None returns ``images`` unchanged.
        alpha: share of the filtered image, ``alpha * conv(z) + (1 - alpha) * z``; None: the
            filtered image alone.
        mean, std: per-channel statistics ``(C,)``: the filter runs on ``z = (x - mean) / std``
            and the result is mapped back by ``z * std + mean``; None: ``z = x``.
        clamp: clamp the output to [0, 1].

    Returns:
        ``(B, C, H, W)``, the same dtype as ``images``.

    Example:
        >>> x = torch.rand(2, 3, 8, 8)
        >>> identity = torch.zeros(3, 3, 3, 3); identity[[0, 1, 2], [0, 1, 2], 1, 1] = 1.0
        >>> torch.allclose(randconv_with(x, identity, 0.3), x)
        True
    """
    check_shape(images, "B C H W", "images")
    if weight is None:
        return images
    _check_weight(weight, images.shape[1])
    if (mean is None) != (std is None):
        raise InvalidArgumentError("give both mean and std (the images' normalisation) or neither")
    z = images
    if mean is not None:
        m, s = _channel_stats(mean, images, "mean"), _channel_stats(std, images, "std")
        z = (images - m) / s
    out = F.conv2d(z, weight.to(z.dtype), padding=weight.shape[-1] // 2)
    if alpha is not None:
        out = alpha * out + (1.0 - alpha) * z
    if mean is not None:
        out = out * s + m
    return out.clamp(0.0, 1.0) if clamp else out


def randconv(
    images: Tensor,
    kernel_sizes: Sequence[int] = KERNEL_SIZES,
    *,
    mixing: bool = True,
    p: float = 1.0,
    mean: Sequence[float] | Tensor | None = None,
    std: Sequence[float] | Tensor | None = None,
    clamp: bool = False,
    generator: torch.Generator | None = None,
) -> Tensor:
    """Draw one random convolution for the batch and apply it (see the module docstring).

    Args:
        images: ``(B, C, H, W)`` RGB in [0, 1].
        kernel_sizes: odd sizes, one chosen uniformly per call.
        mixing: mix with the input by ``alpha ~ U(0, 1)`` (RC_mix) or not (RC_img).
        p: probability the batch is filtered (1 - the reference's ``identity_prob``).
        mean, std, clamp: see :func:`randconv_with`.
        generator: the source of every draw.

    Reference:
        Xu, Liu, Yang, Raffel, Niethammer, "Robust and Generalizable Visual Representation
        Learning via Random Convolutions", ICLR 2021, arXiv:2007.13003.
    """
    params = sample_randconv(images, kernel_sizes, mixing=mixing, p=p, generator=generator)
    return randconv_with(images, params.weight, params.alpha, mean=mean, std=std, clamp=clamp)


class RandConv(nn.Module):
    """Random convolution augmentation as a module: a new filter on every call in training mode.

    Args: as :func:`randconv`. In eval mode the images pass unchanged.
    """

    def __init__(
        self,
        kernel_sizes: Sequence[int] = KERNEL_SIZES,
        *,
        mixing: bool = True,
        p: float = 1.0,
        mean: Sequence[float] | None = None,
        std: Sequence[float] | None = None,
        clamp: bool = False,
        generator: torch.Generator | None = None,
    ) -> None:
        super().__init__()
        self.kernel_sizes = check_kernel_sizes(kernel_sizes)
        self.p = check_prob(p, "p")
        if (mean is None) != (std is None):
            raise InvalidArgumentError("give both mean and std (the images' normalisation) or neither")
        self.mixing, self.mean, self.std, self.clamp = bool(mixing), mean, std, bool(clamp)
        self.generator = generator

    def sample_params(self, x: Tensor, generator: torch.Generator | None = None) -> RandConvParams:
        return sample_randconv(x, self.kernel_sizes, mixing=self.mixing, p=self.p, generator=generator or self.generator)

    def forward(self, x: Tensor, params: RandConvParams | None = None) -> Tensor:
        if not self.training and params is None:
            return x
        params = params if params is not None else self.sample_params(x)
        return randconv_with(x, params.weight, params.alpha, mean=self.mean, std=self.std, clamp=self.clamp)


def consistency_loss(logits: Sequence[Tensor]) -> Tensor:
    """RandConv's consistency loss: the mean over views of ``KL(p_i || p_mix)``.

    ``p_i = softmax(logits[i])`` and ``p_mix`` is their mean, clamped to [1e-7, 1] before the
    log, each KL averaged over the batch: the reference's (and AugMix's) Jensen-Shannon form.

    Args:
        logits: the views' logits, each ``(B, K)`` (the reference uses three).

    Returns:
        A scalar, float32.
    """
    if len(logits) < 2:
        raise InvalidArgumentError(f"consistency_loss needs the logits of at least 2 views; got {len(logits)}")
    probs = [torch.softmax(v.float(), dim=1) for v in logits]
    if any(p.shape != probs[0].shape or p.dim() != 2 for p in probs):
        raise ShapeError(f"every view's logits must have the same shape (B, K); got {[tuple(v.shape) for v in logits]}")
    log_mix = torch.clamp(torch.stack(probs).mean(0), 1e-7, 1).log()
    return sum(F.kl_div(log_mix, p, reduction="batchmean") for p in probs) / len(probs)
