"""Query-gallery distances, whole or one block of query rows at a time.

The two metrics are torchreid's (``torchreid.metrics.distance``): ``"euclidean"`` is the
*squared* Euclidean distance ``|q|^2 + |g|^2 - 2 q.g`` (squaring keeps the ranking and saves a
square root) and ``"cosine"`` is ``1 - cos(q, g)``. Each row of the result depends only on its
own query, so a matrix built block by block equals the matrix built at once.
"""

from __future__ import annotations

from collections.abc import Iterator

import torch
import torch.nn.functional as F

from .._checks import check_choice, check_positive, check_shape
from ..errors import ShapeError

__all__ = ["METRICS", "pairwise_distance", "iter_distance_blocks"]

METRICS = ("euclidean", "cosine")


def _check_features(qf: torch.Tensor, gf: torch.Tensor, metric: str) -> None:
    check_shape(qf, "Q D", "query features")
    check_shape(gf, "G D", "gallery features")
    if qf.shape[1] != gf.shape[1]:
        raise ShapeError(
            f"query and gallery features must have the same dimension D; got "
            f"{qf.shape[1]} (query) and {gf.shape[1]} (gallery). Extract both with the same model."
        )
    check_choice(metric, METRICS, "metric")


def _block(q: torch.Tensor, gf: torch.Tensor, g_sq: torch.Tensor, metric: str) -> torch.Tensor:
    """Distances of the query rows ``q`` to every gallery row (``g_sq``: prepared gallery)."""
    if metric == "cosine":
        return 1.0 - F.normalize(q, p=2, dim=1) @ g_sq.t()
    q_sq = q.pow(2).sum(dim=1, keepdim=True)
    return torch.addmm(q_sq + g_sq.unsqueeze(0), q, gf.t(), beta=1, alpha=-2)


def _prepare_gallery(gf: torch.Tensor, metric: str) -> torch.Tensor:
    """What every block needs from the gallery: normalised rows (cosine) or squared norms."""
    return F.normalize(gf, p=2, dim=1) if metric == "cosine" else gf.pow(2).sum(dim=1)


def iter_distance_blocks(
    qf: torch.Tensor, gf: torch.Tensor, metric: str = "euclidean", chunk_size: int = 256
) -> Iterator[tuple[int, torch.Tensor]]:
    """Yield ``(start, block)`` with ``block`` the distances of queries ``start:start+chunk_size``.

    Only one ``(chunk_size, G)`` block exists at a time, so a 20k x 20k problem needs about
    ``chunk_size * G * 4`` bytes instead of 1.6 GB.

    Args:
        qf: query features, shape ``(Q, D)``.
        gf: gallery features, shape ``(G, D)``, same dtype and device as ``qf``.
        metric: ``"euclidean"`` (squared) or ``"cosine"`` (``1 - cos``).
        chunk_size: query rows per block, > 0.

    Yields:
        ``(start, block)``; ``block`` has shape ``(min(chunk_size, Q - start), G)``.

    Raises:
        ShapeError: features are not 2-D or their dimensions differ.
        InvalidArgumentError: unknown ``metric`` or ``chunk_size`` <= 0.
    """
    _check_features(qf, gf, metric)
    step = int(check_positive(chunk_size, "chunk_size"))
    g_prep = _prepare_gallery(gf, metric)
    for start in range(0, qf.shape[0], step):
        yield start, _block(qf[start : start + step], gf, g_prep, metric)


def pairwise_distance(
    qf: torch.Tensor, gf: torch.Tensor, metric: str = "euclidean", chunk_size: int | None = None
) -> torch.Tensor:
    """The full ``(Q, G)`` distance matrix, optionally built in blocks of query rows.

    Args:
        qf: query features, shape ``(Q, D)``.
        gf: gallery features, shape ``(G, D)``.
        metric: ``"euclidean"`` (squared, as torchreid) or ``"cosine"`` (``1 - cos``).
        chunk_size: build it ``chunk_size`` query rows at a time (bounds the temporaries);
            ``None`` does it in one step.

    Returns:
        Distances, shape ``(Q, G)``, dtype of the features; smaller means more similar.

    Raises:
        ShapeError: features are not 2-D or their dimensions differ.
        InvalidArgumentError: unknown ``metric`` or ``chunk_size`` <= 0.

    Example:
        >>> q = torch.tensor([[0.0, 0.0]]); g = torch.tensor([[3.0, 4.0], [1.0, 0.0]])
        >>> pairwise_distance(q, g)
        tensor([[25.,  1.]])
    """
    step = max(qf.shape[0], 1) if chunk_size is None else chunk_size
    blocks = [block for _, block in iter_distance_blocks(qf, gf, metric, step)]
    if not blocks:
        return qf.new_zeros((0, gf.shape[0]))
    return torch.cat(blocks, dim=0)
