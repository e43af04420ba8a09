"""The losses of the contrastive style transfer network (IEContraAST, NeurIPS 2021), as pure
functions of tensors (the reference computes them inside ``Net.forward`` of ``net.py``).

Batch construction of the reference (``train.py``): ``h`` contents ``c_i`` and ``h`` styles
``s_i`` give a batch of ``2h`` stylizations, an "up" half ``(c_i, s_i)`` and a "down" half
``(c_{i+1 mod h}, s_i)``. So every stylization shares its style with exactly one other (the
same index in the other half) and its content with exactly one other.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

from .._checks import check_shape
from ..errors import InvalidArgumentError, ShapeError
from ..functional import info_nce, instance_stats
from .sanet import mean_variance_norm

__all__ = [
    "reference_pairs",
    "content_loss",
    "style_loss",
    "identity_losses",
    "contrastive_loss",
    "style_contrastive_loss",
    "content_contrastive_loss",
    "contrastive_embedding",
    "lsgan_loss",
    "TAU",
]

#: Temperature of both contrastive losses in the reference.
TAU = 0.2


def reference_pairs(h: int, device: torch.device | str | None = None) -> tuple[Tensor, Tensor]:
    """Content and style index of each of the ``2h`` stylizations of the reference's batch.

    ``content_id = [0, 1, ..., h-1, 1, 2, ..., h-1, 0]`` and ``style_id = [0, ..., h-1, 0, ...,
    h-1]``: the "up" half pairs ``c_i`` with ``s_i``, the "down" half ``c_{i+1 mod h}`` with
    ``s_i`` (``train.py`` rolls the contents by one and repeats the styles). For ``h >= 2``
    every content meets exactly two styles and every style exactly two contents.

    Returns:
        ``(content_id, style_id)``: int64 ``(2h,)`` each.
    """
    idx = torch.arange(h, device=device)
    return torch.cat([idx, (idx + 1) % h]), torch.cat([idx, idx])


def content_loss(input: Tensor, target: Tensor, norm: bool = False) -> Tensor:
    """Mean squared error; with ``norm`` between the mean-variance-normalised features
    (per sample and channel, unbiased variance, eps 1e-5), as ``calc_content_loss``."""
    if norm:
        input, target = mean_variance_norm(input), mean_variance_norm(target)
    return F.mse_loss(input, target)


def style_loss(input: Tensor, target: Tensor) -> Tensor:
    """``mse(mean_in, mean_t) + mse(std_in, std_t)`` of the channel statistics of ``(B, C, H,
    W)`` features (``std = sqrt(unbiased var + 1e-5)``), as ``calc_style_loss``."""
    in_mean, in_std = instance_stats(input)
    t_mean, t_std = instance_stats(target)
    return F.mse_loss(in_mean, t_mean) + F.mse_loss(in_std, t_std)


def identity_losses(
    icc: Tensor,
    content: Tensor,
    iss: Tensor,
    style: Tensor,
    icc_feats: Sequence[Tensor],
    content_feats: Sequence[Tensor],
    iss_feats: Sequence[Tensor],
    style_feats: Sequence[Tensor],
) -> tuple[Tensor, Tensor]:
    """The two identity losses (SANet's): an image stylized with itself should come back.

    Args:
        icc, iss: ``decoder(transform(c, c))`` and ``decoder(transform(s, s))``.
        content, style: the images.
        icc_feats, content_feats, iss_feats, style_feats: their VGG features at relu1_1 ...
            relu5_1 (any equal number of levels).

    Returns:
        ``(l_identity1, l_identity2)``: pixel MSEs summed over both images, and feature MSEs
        summed over both images and all levels.
    """
    if not len(icc_feats) == len(content_feats) == len(iss_feats) == len(style_feats):
        raise ShapeError("identity_losses needs the same number of feature levels for all four")
    pixel = F.mse_loss(icc, content) + F.mse_loss(iss, style)
    feature = sum(
        (F.mse_loss(a, b) + F.mse_loss(c, d)
         for a, b, c, d in zip(icc_feats, content_feats, iss_feats, style_feats)),
        torch.zeros((), device=icc.device),
    )  # fmt: skip
    return pixel, feature


def contrastive_loss(query: Tensor, keys: Tensor, tau: float = TAU, index: int = 0) -> Tensor:
    """InfoNCE of one query: cross entropy of ``query · keysᵀ / tau`` with ``keys[index]`` the
    positive (``compute_contrastive_loss``).

    Args:
        query: ``(1, D)`` embedding.
        keys: ``(K, D)`` embeddings: the positive at ``index``, the rest negatives.
    """
    check_shape(query, "1 D", "query")
    check_shape(keys, "K D", "keys")
    logits = query @ keys.t() / tau
    return F.cross_entropy(logits, torch.tensor([index], device=query.device))


def _batch_contrastive(up: Tensor, down: Tensor, tau: float, by: str) -> Tensor:
    check_shape(up, "H D", "up")
    check_shape(down, "H D", "down")
    h = up.shape[0]
    if h < 2 or down.shape != up.shape:
        raise ShapeError(
            f"contrastive losses need two halves of equal size >= 2 (a batch of >= 4); got "
            f"{tuple(up.shape)} and {tuple(down.shape)}"
        )
    content_id, style_id = reference_pairs(h, up.device)
    same_style = style_id[:, None] == style_id[None, :]
    same_content = content_id[:, None] == content_id[None, :]
    if by == "content":
        same_style, same_content = same_content, same_style
    # positive: the one other sample of the same style; left out: the query itself and the
    # sample that shares only its content (it is neither a clean positive nor a negative)
    positive = same_style & ~torch.eye(2 * h, dtype=torch.bool, device=up.device)
    return info_nce(torch.cat([up, down]), positive.to(torch.int64).argmax(1), exclude=same_content, tau=tau,
                    reduction="sum")


def style_contrastive_loss(up: Tensor, down: Tensor, tau: float = TAU) -> Tensor:
    """Style contrastive loss of the reference's batch, summed over its ``2h`` queries.

    For each stylization, the positive is the other one with the same style; the negatives
    are all others except the one with the same content. ``2h - 2`` keys per query, so
    identical embeddings give ``2h * log(2h - 2)``.

    Args:
        up: ``(h, D)`` L2-normalised style embeddings of ``(c_i, s_i)``, ``h >= 2``.
        down: ``(h, D)`` those of ``(c_{i+1 mod h}, s_i)``.
        tau: temperature.
    """
    return _batch_contrastive(up, down, tau, "style")


def content_contrastive_loss(up: Tensor, down: Tensor, tau: float = TAU) -> Tensor:
    """Content contrastive loss of the reference's batch, summed over its ``2h`` queries: the
    positive shares the content, the sample sharing the style is left out (see
    :func:`style_contrastive_loss`)."""
    return _batch_contrastive(up, down, tau, "content")


def contrastive_embedding(feats: Tensor, head: torch.nn.Module) -> Tensor:
    """``normalize(head(sum over H, W of feats))``: the reference's
    ``style_feature_contrastive`` (relu3_1, a 256-128-128 head) and
    ``content_feature_contrastive`` (relu4_1, a 512-256-128 head); ``(B, D)`` out."""
    out = head(feats.sum(dim=(2, 3)))
    return out / out.norm(p=2, dim=1, keepdim=True)


def lsgan_loss(outputs: Sequence[Tensor], target: float) -> Tensor:
    """Least-squares GAN loss summed over a multi-scale discriminator's outputs:
    ``sum_k mean((out_k - target)^2)`` (``MultiDiscriminator.compute_loss``); ``target`` is
    1 for real, 0 for fake."""
    if not outputs:
        raise InvalidArgumentError("lsgan_loss needs at least one discriminator output")
    return sum((torch.mean((out - target) ** 2) for out in outputs[1:]),
               torch.mean((outputs[0] - target) ** 2))  # fmt: skip
