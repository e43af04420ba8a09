"""Stylize images with paired style images, and the soft labels of cue-conflict training.

Shape-texture debiased training (Li et al., ICLR 2021) stylizes each image (the shape
source) with a partner from its batch (the texture source) and trains on the result with a
label that mixes the two classes. :func:`stylize_pairs` runs any stylizer on such pairs;
:func:`cue_conflict_targets` builds the mixed labels. Both are pure: the pairing arrives as
tensors.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Union

import torch
from torch import Tensor
from torch.nn.functional import one_hot

from .._checks import check_prob, check_shape
from ..errors import ShapeError
from .base import Stylizer, padded_size

__all__ = ["StyleTransfer", "stylize_pairs", "cue_conflict_targets"]

#: What :func:`stylize_pairs` accepts: a :class:`Stylizer`, or any callable
#: ``(content, style) -> images`` on ``(B, 3, H, W)`` tensors in [0, 1].
StyleTransfer = Union[Stylizer, Callable[[Tensor, Tensor], Tensor]]


def stylize_pairs(
    stylizer: StyleTransfer,
    content: Tensor,
    style: Tensor,
    alpha: float = 1.0,
    *,
    method: str | None = None,
) -> Tensor:
    """Stylize ``content[i]`` with ``style[i]`` for every ``i``, without gradients.

    A :class:`Stylizer` encodes the styles once (``encode_style`` and ``cat_codes``, the
    interface every stylizer has) and blends features by ``alpha``. A plain callable is a
    transform in pixel space: its output is blended with the content by ``alpha`` there
    (``content + alpha * (f(content, style) - content)``), which for a pixel-space AdaIN is
    exactly the stylizers' feature blend with the identity as encoder and decoder.

    Args:
        stylizer: a :class:`Stylizer` or a callable ``(content, style) -> images``.
        content: ``(B, 3, H, W)`` in [0, 1]: the shape sources.
        style: ``(B, 3, H', W')`` in [0, 1]: one texture source per content image.
        alpha: degree of stylization in [0, 1] (0: the content, 1: full style).
        method: the stylizer's feature transform (one of its ``methods``); default its own.
            Not used with a callable.

    Returns:
        ``(B, 3, H, W)`` in [0, 1], of ``content``'s dtype and device, detached.

    Raises:
        ShapeError: bad shapes, batch sizes that differ, or a callable whose output is not
            the content's shape.
        InvalidArgumentError: ``alpha`` outside [0, 1].

    Example:
        >>> from stylebias.functional import adain
        >>> stylize_pairs(adain, torch.rand(2, 3, 8, 8), torch.rand(2, 3, 8, 8), 0.5).shape
        torch.Size([2, 3, 8, 8])
    """
    check_shape(content, "B 3 H W", "content")
    check_shape(style, "B 3 H W", "style")
    if style.shape[0] != content.shape[0]:
        raise ShapeError(f"style must hold one image per content image ({content.shape[0]}); got {style.shape[0]}")
    alpha = check_prob(alpha, "alpha")
    if content.shape[0] == 0:
        return content.detach().clone()
    with torch.no_grad():
        if isinstance(stylizer, Stylizer):
            code = stylizer.encode_style(style, method)
            code = stylizer.cat_codes([code], padded_size(content.shape[-2], content.shape[-1]))
            out = stylizer(content, code, alpha, method=method)
        else:
            styled = stylizer(content, style)
            if not isinstance(styled, Tensor) or styled.shape != content.shape:
                got = tuple(styled.shape) if isinstance(styled, Tensor) else type(styled).__name__
                raise ShapeError(
                    f"the style transfer callable must return images of the content's shape "
                    f"{tuple(content.shape)}; got {got}"
                )
            out = (content + alpha * (styled.to(content) - content)).clamp(0, 1)
    return out.to(dtype=content.dtype, device=content.device)


def cue_conflict_targets(
    shape_labels: Tensor, texture_labels: Tensor, num_classes: int, shape_weight: float
) -> Tensor:
    """Soft labels of cue-conflict images: ``shape_weight`` on the shape class, the rest on
    the texture class (Eq. 1 of Li et al.; the reference's ``--label-gamma``, 0.8).

    Cross-entropy against these equals the reference's per-sample loss
    ``gamma * CE(logits, shape) + (1 - gamma) * CE(logits, texture)``, label smoothing
    included (both are linear in the target). Where shape and texture classes agree, the
    label is that class alone.

    Args:
        shape_labels: ``(N,)`` int64 classes of the content images.
        texture_labels: ``(N,)`` int64 classes of their style images.
        num_classes: ``K``.
        shape_weight: the weight of the shape class, in [0, 1].

    Returns:
        ``(N, K)`` float32 rows summing to 1, on ``shape_labels``' device.

    Example:
        >>> cue_conflict_targets(torch.tensor([0, 1]), torch.tensor([2, 1]), 3, 0.8)
        tensor([[0.8000, 0.0000, 0.2000],
                [0.0000, 1.0000, 0.0000]])
    """
    gamma = check_prob(shape_weight, "shape_weight")
    if shape_labels.shape != texture_labels.shape or shape_labels.dim() != 1:
        raise ShapeError(
            f"shape_labels and texture_labels must be two (N,) tensors; got "
            f"{tuple(shape_labels.shape)} and {tuple(texture_labels.shape)}"
        )
    shape = one_hot(shape_labels, num_classes).float()
    texture = one_hot(texture_labels.to(shape_labels.device), num_classes).float()
    return gamma * shape + (1.0 - gamma) * texture
