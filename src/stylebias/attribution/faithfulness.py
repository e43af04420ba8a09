"""Faithfulness of attribution maps: the deletion and insertion curves and their areas.

Deletion removes pixels from the image, most salient first, and records the probability of the
explained class after each step; a faithful map makes it fall fast (low area). Insertion starts
from a blurred copy and puts the original pixels back, most salient first; a faithful map makes
the probability rise fast (high area). Each step changes ``step`` pixels (all channels); there
are ``ceil(H W / step) + 1`` points, from the start image to the finished one.

The curves of a batch are computed together: the images of all steps are built from a rank
map (``rank < i * step`` selects the pixels changed after ``i`` steps) in chunks of
``batch_size`` forward passes, so no Python loop runs per pixel or per image.

Reference:
    Petsiuk, Das, Saenko. RISE: Randomized Input Sampling for Explanation of Black-box Models.
    BMVC 2018 (arXiv:1806.07421); eclique/RISE, ``evaluation.py`` (``CausalMetric``, ``auc``).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .._checks import check_shape
from ..errors import InvalidArgumentError, ShapeError
from .bottleneck import gaussian_kernel

__all__ = ["deletion_curve", "insertion_curve", "area_under_curve", "blur_substrate", "causal_curve"]

Substrate = Callable[[Tensor], Tensor]


def blur_substrate(images: Tensor, kernel_size: int = 11, sigma: float = 5.0) -> Tensor:
    """The insertion metric's start image: each channel convolved with a ``kernel_size``
    Gaussian of standard deviation ``sigma`` (zero padding, as RISE's ``conv2d`` blur)."""
    coords = torch.arange(kernel_size, dtype=torch.float64) - (kernel_size - 1) / 2
    one_d = torch.exp(-(coords**2) / (2 * sigma**2))
    kernel = one_d[:, None] * one_d[None, :]
    kernel = (kernel / kernel.sum()).to(images.dtype).to(images.device)
    c = images.shape[1]
    return F.conv2d(images, kernel.expand(c, 1, -1, -1), padding=kernel_size // 2, groups=c)


def _zeros(images: Tensor) -> Tensor:
    return torch.zeros_like(images)


def area_under_curve(curves: Tensor) -> Tensor:
    """Trapezoidal area of ``(B, n)`` curves over an x-axis from 0 to 1 (RISE's ``auc``)."""
    if curves.shape[-1] < 2:
        raise ShapeError(f"a curve needs at least 2 points, got {curves.shape[-1]}")
    return (curves.sum(-1) - curves[..., 0] / 2 - curves[..., -1] / 2) / (curves.shape[-1] - 1)


def _pixel_ranks(saliency: Tensor) -> Tensor:
    """``(B, H*W)`` position of each pixel in most-salient-first order (ties: lower index first)."""
    flat = saliency.flatten(1)
    order = torch.argsort(flat, dim=1, descending=True, stable=True)
    ranks = torch.empty_like(order)
    ranks.scatter_(1, order, torch.arange(flat.shape[1], device=flat.device).expand_as(order))
    return ranks


def causal_curve(
    model: nn.Module,
    start: Tensor,
    finish: Tensor,
    saliency: Tensor,
    targets: Tensor,
    *,
    step: int,
    batch_size: int = 64,
) -> Tensor:
    """Class probability while pixels move from ``start`` to ``finish``, most salient first.

    Args:
        model: returns ``(N, classes)`` logits; run in eval mode without gradients.
        start, finish: ``(B, C, H, W)``.
        saliency: ``(B, H, W)`` (higher = more important).
        targets: ``(B,)`` class whose softmax probability is recorded.
        step: pixels changed per step.
        batch_size: images per forward pass.

    Returns:
        ``(B, ceil(H*W / step) + 1)`` probabilities.
    """
    b, _, h, w = start.shape
    n_steps = (h * w + step - 1) // step
    ranks = _pixel_ranks(saliency).view(b, 1, h, w)
    thresholds = torch.arange(n_steps + 1, device=start.device) * step
    points = [(i, s) for i in range(b) for s in range(n_steps + 1)]
    curves = torch.empty(b, n_steps + 1, dtype=torch.float32)
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            for lo in range(0, len(points), batch_size):
                chunk = points[lo: lo + batch_size]
                idx = torch.tensor([i for i, _ in chunk], device=start.device)
                steps_done = thresholds[torch.tensor([s for _, s in chunk], device=start.device)]
                moved = ranks[idx] < steps_done.view(-1, 1, 1, 1)
                x = torch.where(moved, finish[idx], start[idx])
                probs = torch.softmax(model(x).float(), dim=1)
                picked = probs.gather(1, targets.to(probs.device)[idx].view(-1, 1))[:, 0].cpu()
                for (i, s), p in zip(chunk, picked):
                    curves[i, s] = p
    finally:
        model.train(was_training)
    return curves


def _prepare(model: nn.Module, images: Tensor, saliency: Tensor, targets: Tensor | None, step: int | None) -> tuple[Tensor, int]:
    check_shape(images, "B C H W", "images")
    check_shape(saliency, "B H W", "saliency")
    if saliency.shape[0] != images.shape[0] or saliency.shape[-2:] != images.shape[-2:]:
        raise ShapeError(
            f"saliency maps {tuple(saliency.shape)} must match the images' batch and size {tuple(images.shape)}; "
            "resize the maps to the input size first"
        )
    step = images.shape[-1] if step is None else int(step)
    if step < 1:
        raise InvalidArgumentError(f"step must be >= 1 pixel, got {step}")
    if targets is None:
        with torch.no_grad():
            targets = model(images).argmax(dim=1)
    return targets.view(-1).long(), step


def deletion_curve(
    model: nn.Module,
    images: Tensor,
    saliency: Tensor,
    targets: Tensor | None = None,
    *,
    step: int | None = None,
    substrate: Substrate = _zeros,
    batch_size: int = 64,
) -> Tensor:
    """Probability of the target class as the most salient pixels are replaced by ``substrate``.

    Args:
        model, images: ``(B, C, H, W)`` model inputs.
        saliency: ``(B, H, W)`` attribution maps of the images.
        targets: ``(B,)`` classes; default: the model's top class on each image.
        step: pixels per step; default: the image width (RISE's choice, 224 at 224 px).
        substrate: what removed pixels become; default: zeros.
        batch_size: images per forward pass.

    Returns:
        ``(B, n + 1)`` curves; :func:`area_under_curve` gives the deletion score (lower is better).
    """
    targets, step = _prepare(model, images, saliency, targets, step)
    return causal_curve(model, images, substrate(images), saliency, targets, step=step, batch_size=batch_size)


def insertion_curve(
    model: nn.Module,
    images: Tensor,
    saliency: Tensor,
    targets: Tensor | None = None,
    *,
    step: int | None = None,
    substrate: Substrate = blur_substrate,
    batch_size: int = 64,
) -> Tensor:
    """Probability of the target class as the most salient pixels are put back into ``substrate``.

    Same arguments as :func:`deletion_curve`; the default start image is :func:`blur_substrate`.
    :func:`area_under_curve` gives the insertion score (higher is better).
    """
    targets, step = _prepare(model, images, saliency, targets, step)
    return causal_curve(model, substrate(images), images, saliency, targets, step=step, batch_size=batch_size)
