"""Contrastive losses over a set of embeddings: InfoNCE with a positive per query, and NT-Xent.

:func:`info_nce` is the one implementation; :func:`nt_xent` (SimCLR's loss, which robust
distillation uses between a student's and a teacher's embeddings) and the style/content
contrastive losses of :mod:`stylebias.stylize.contrastive_losses` are batch layouts of it.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from .._checks import check_choice, check_shape
from ..errors import InvalidArgumentError, ShapeError

__all__ = ["info_nce", "nt_xent"]


def info_nce(
    embeddings: Tensor,
    positive: Tensor,
    exclude: Tensor | None = None,
    tau: float = 0.1,
    reduction: str = "mean",
) -> Tensor:
    """InfoNCE within one set: every row is a query, every other row a key.

    For query ``i`` the loss is ``-log(exp(s[i, p_i] / tau) / sum_k exp(s[i, k] / tau))``, the
    sum running over every key but ``i`` itself and those ``exclude`` leaves out, where ``s``
    holds the dot products of the rows (cosine similarities for L2-normalised rows).

    Args:
        embeddings: ``(N, D)`` embeddings; normalise them first for cosine similarities.
        positive: ``(N,)`` int64, the index of each query's positive key (not itself, not
            excluded).
        exclude: ``(N, N)`` bool, ``True`` where key ``k`` is left out of query ``i``'s
            denominator (neither positive nor negative); the query itself always is.
        tau: temperature, > 0.
        reduction: ``"mean"`` or ``"sum"`` over the queries, or ``"none"`` for ``(N,)``.

    Returns:
        The loss (a scalar, or ``(N,)`` with ``reduction="none"``).

    Raises:
        ShapeError: shapes that do not fit ``(N, D)``, ``(N,)`` and ``(N, N)``.
        InvalidArgumentError: ``tau <= 0`` or an unknown reduction.

    Example:
        >>> z = torch.nn.functional.normalize(torch.randn(4, 8), dim=1)
        >>> info_nce(z, torch.tensor([1, 0, 3, 2])).shape
        torch.Size([])
    """
    check_shape(embeddings, "N D", "embeddings")
    n = embeddings.shape[0]
    if positive.shape != (n,):
        raise ShapeError(f"positive must have shape ({n},) (one index per row), got {tuple(positive.shape)}")
    if exclude is not None and exclude.shape != (n, n):
        raise ShapeError(f"exclude must have shape ({n}, {n}), got {tuple(exclude.shape)}")
    if not tau > 0:
        raise InvalidArgumentError(f"temperature tau must be > 0, got {tau}")
    check_choice(reduction, ("mean", "sum", "none"), "reduction")
    left_out = torch.eye(n, dtype=torch.bool, device=embeddings.device)
    if exclude is not None:
        left_out = left_out | exclude
    logits = (embeddings @ embeddings.t() / tau).masked_fill(left_out, float("-inf"))
    return F.cross_entropy(logits, positive, reduction=reduction)


def nt_xent(a: Tensor, b: Tensor, tau: float = 0.1, reduction: str = "mean") -> Tensor:
    """NT-Xent (SimCLR) between two views of a batch: ``a[i]`` and ``b[i]`` are positives.

    The ``2B`` rows of ``a`` and ``b`` are L2-normalised; each one is a query whose positive
    is its partner in the other view and whose negatives are the other ``2B - 2`` rows of
    both views. The mean over the ``2B`` queries is the ``"simclr"`` loss of Ravula et al.'s
    robust distillation (their ``(part1 + part2) / 2 / bsz``), with ``a`` the teacher's
    embeddings of clean images and ``b`` the student's of corrupted ones.

    Args:
        a: ``(B, D)`` embeddings of the first view (any norm).
        b: ``(B, D)`` embeddings of the second view, row ``i`` the same image as ``a[i]``.
        tau: temperature (the paper's 0.1).
        reduction: ``"mean"`` or ``"sum"`` over the ``2B`` queries, or ``"none"`` for
            ``(2B,)``: the queries of ``a`` first, then those of ``b``.

    Returns:
        The loss; for identical rows everywhere it is ``log(2B - 1)``, and it reaches
        ``-log(1 / (1 + (2B - 2) e^{-1/tau}))`` when partners coincide and all other pairs
        are orthogonal.

    Raises:
        ShapeError: ``a`` and ``b`` are not both ``(B, D)`` of one shape.

    Reference:
        Chen et al., "A Simple Framework for Contrastive Learning of Visual Representations",
        ICML 2020 (arXiv:2002.05709); Ravula et al., "Inverse Problems Leveraging Pre-trained
        Contrastive Representations", NeurIPS 2021 (arXiv:2110.07439).

    Example:
        >>> a = torch.randn(4, 8)
        >>> bool(nt_xent(a, 3 * a) < nt_xent(a, -a))  # aligned partners cost less
        True
    """
    check_shape(a, "B D", "a")
    check_shape(b, "B D", "b")
    if a.shape != b.shape:
        raise ShapeError(f"nt_xent needs two views of one shape (B, D), got {tuple(a.shape)} and {tuple(b.shape)}")
    n = a.shape[0]
    z = F.normalize(torch.cat([a, b]), dim=1)
    idx = torch.arange(n, device=a.device)
    return info_nce(z, torch.cat([idx + n, idx]), tau=tau, reduction=reduction)
