"""CMC, mAP and mINP under the Market-1501 protocol, one block of queries at a time.

For each query, gallery entries with the query's identity *and* camera are removed from its
ranking (they would be trivial matches); the remaining entries with its identity are the true
matches. A query with no true match left is skipped and counted, as in torchreid's
``eval_market1501``. Rankings sort each distance row with a *stable* sort, so equal distances
keep gallery order (torchreid's ``np.argsort`` gives the same order whenever there are no ties;
with ties its quicksort order is unspecified).

Per query, with ``r_1 < ... < r_n`` the 1-based ranks of its ``n`` true matches among the kept
entries:

* CMC@k = 1 if ``r_1 <= k``; the curve is averaged over the evaluated queries.
* AP (``ap_mode="noninterpolated"``, torchreid's) = ``(1/n) sum_i i / r_i``.
* AP (``ap_mode="trapezoid"``, the official Market-1501 code) =
  ``(1/n) sum_i (p_i + p'_i) / 2`` with ``p_i = i / r_i`` and ``p'_i = (i - 1) / (r_i - 1)``
  (``p'_i = 1`` when ``r_i = 1``).
* INP = ``n / r_n``, the inverse negative penalty of the hardest match (Ye et al.).

Nothing is a per-query Python loop. Per block of queries the only full-size work is one value
sort of the distance rows; the ranks of each query's matches and removed entries are then
binary searches (see :mod:`._ranking`), and the metrics are computed on a small
``(queries, matches)`` block.
"""

from __future__ import annotations

import logging
import math
import numbers
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import torch

from .._checks import check_choice, check_positive, check_shape, check_tensor
from ..errors import DataError, ShapeError
from ._ranking import GalleryIndex, stable_positions
from .distance import iter_distance_blocks

__all__ = ["AP_MODES", "RetrievalResult", "evaluate", "evaluate_features"]

log = logging.getLogger(__name__)

AP_MODES = ("noninterpolated", "trapezoid")


@dataclass(frozen=True)
class RetrievalResult:
    """What :func:`evaluate` measured.

    Attributes:
        cmc: fraction of evaluated queries whose first true match is within rank ``k + 1``,
            shape ``(max_rank,)``, float64 in [0, 1].
        mean_ap: mAP over the evaluated queries, fraction in [0, 1].
        mean_inp: mINP over the evaluated queries, fraction in [0, 1].
        ap: per-query AP, shape ``(Q,)``, NaN for skipped queries.
        inp: per-query INP, shape ``(Q,)``, NaN for skipped queries.
        first_rank: 1-based rank of each query's first true match, shape ``(Q,)``, 0 if skipped.
        num_queries: number of queries given.
        num_skipped: queries without any true match in the gallery (not averaged).
        ap_mode: ``"noninterpolated"`` or ``"trapezoid"``.
    """

    cmc: torch.Tensor
    mean_ap: float
    mean_inp: float
    ap: torch.Tensor
    inp: torch.Tensor
    first_rank: torch.Tensor
    num_queries: int
    num_skipped: int
    ap_mode: str

    @property
    def num_evaluated(self) -> int:
        """Queries that have at least one true match (the ones averaged)."""
        return self.num_queries - self.num_skipped

    def rank(self, k: int) -> float:
        """CMC at rank ``k`` (1-based), e.g. ``rank(1)`` is rank-1 accuracy as a fraction."""
        if not 1 <= k <= self.cmc.numel():
            raise ShapeError(
                f"rank k must be in [1, {self.cmc.numel()}] (the max_rank evaluated); got {k}. "
                "Evaluate with a larger max_rank."
            )
        return float(self.cmc[k - 1])

    def to_dict(self, ranks: Iterable[int] = (1, 5, 10)) -> dict[str, Any]:
        """A JSON-ready summary: ``mAP``, ``mINP``, ``rank<k>`` and query counts (fractions)."""
        out: dict[str, Any] = {"mAP": self.mean_ap, "mINP": self.mean_inp}
        for k in ranks:
            if k <= self.cmc.numel():
                out[f"rank{k}"] = self.rank(k)
        out.update(
            num_queries=self.num_queries,
            num_evaluated=self.num_evaluated,
            num_skipped=self.num_skipped,
            max_rank=self.cmc.numel(),
            ap_mode=self.ap_mode,
        )
        return out


def _labels(x: Any, name: str, length: int, device: torch.device) -> torch.Tensor:
    t = torch.as_tensor(x, device=device)
    check_shape(t, "N", name)
    if t.is_floating_point() or t.is_complex() or t.dtype == torch.bool:
        raise TypeError(f"{name} must hold integers (identity or camera ids); got dtype {t.dtype}")
    if t.numel() != length:
        raise ShapeError(
            f"{name} must have one entry per {'query' if name.startswith('q') else 'gallery'} "
            f"item ({length}); got {t.numel()}"
        )
    return t.to(torch.int64)


def _block_stats(
    dist: torch.Tensor,
    q_pids: torch.Tensor,
    q_cams: torch.Tensor,
    gallery: GalleryIndex,
    ap_mode: str,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Per-query ``(n_good, ap, inp, first_rank)`` of one block of distance rows ``(q, G)``."""
    cols, good, junk = gallery.candidates(q_pids, q_cams)
    pos = stable_positions(dist, cols)  # 0-based, unique within a row
    beyond = dist.shape[1]  # sorts after every real position
    good_pos = torch.where(good, pos, beyond).sort(dim=1).values  # matches in rank order
    junk_pos = torch.where(junk, pos, beyond).sort(dim=1).values
    rank = good_pos - torch.searchsorted(junk_pos, good_pos) + 1  # 1-based among kept entries

    n_good = good.sum(dim=1)
    is_match = torch.arange(good.shape[1], device=dist.device).unsqueeze(0) < n_good.unsqueeze(1)
    rank_f = torch.where(is_match, rank, 1).to(torch.float64)
    hit = torch.arange(1, good.shape[1] + 1, device=dist.device, dtype=torch.float64)
    precision = hit / rank_f
    if ap_mode == "trapezoid":
        before = torch.where(rank_f > 1, (hit - 1) / (rank_f - 1).clamp(min=1), 1.0)
        precision = (precision + before) / 2
    # cumsum is sequential along a row, so padding never changes a row's sum: exact chunking
    last = (n_good - 1).clamp(min=0).unsqueeze(1)
    total = torch.where(is_match, precision, 0.0).cumsum(dim=1).gather(1, last).squeeze(1)
    n = n_good.to(torch.float64)
    valid = n_good > 0
    nan = torch.full_like(n, math.nan)
    ap = torch.where(valid, total / n.clamp(min=1), nan)
    inp = torch.where(valid, n / rank_f.gather(1, last).squeeze(1), nan)
    first = torch.where(valid, rank[:, 0], 0)
    return n_good, ap, inp, first


def _summarise(
    blocks: Iterable[tuple[int, torch.Tensor]],
    q_pids: Any,
    g_pids: Any,
    q_camids: Any,
    g_camids: Any,
    num_q: int,
    num_g: int,
    device: torch.device,
    max_rank: int,
    ap_mode: str,
) -> RetrievalResult:
    """Run :func:`_block_stats` over ``(start, block)`` pairs and average the results."""
    check_choice(ap_mode, AP_MODES, "ap_mode")
    if isinstance(max_rank, bool) or not isinstance(max_rank, numbers.Integral):
        raise TypeError(f"max_rank must be an int, got {max_rank!r}")
    check_positive(max_rank, "max_rank")
    qp = _labels(q_pids, "q_pids", num_q, device)
    gp = _labels(g_pids, "g_pids", num_g, device)
    qc = _labels(q_camids, "q_camids", num_q, device)
    gc = _labels(g_camids, "g_camids", num_g, device)
    if num_q == 0 or num_g == 0:
        raise DataError(f"need at least one query and one gallery item; got {num_q} x {num_g}")
    if num_g < max_rank:
        log.info("gallery has only %d items; max_rank lowered from %d", num_g, max_rank)
        max_rank = num_g
    max_rank = int(max_rank)

    gallery = GalleryIndex(gp, gc)
    n_good, ap, inp, first = [], [], [], []
    for start, dist in blocks:
        stop = start + dist.shape[0]
        stats = _block_stats(dist, qp[start:stop], qc[start:stop], gallery, ap_mode)
        for acc, value in zip((n_good, ap, inp, first), stats):
            acc.append(value)
    n_good_t, ap_t, inp_t, first_t = (torch.cat(a).cpu() for a in (n_good, ap, inp, first))
    valid = n_good_t > 0
    num_valid = int(valid.sum())
    if num_valid == 0:
        raise DataError(
            f"none of the {num_q} queries has a true match in the gallery (same identity, other "
            "camera); check that query and gallery identities and camera ids are parsed alike"
        )
    hits = torch.bincount(first_t[valid].clamp(max=max_rank + 1) - 1, minlength=max_rank + 1)
    cmc = torch.cumsum(hits[:max_rank], 0).to(torch.float64) / num_valid
    return RetrievalResult(
        cmc=cmc,
        mean_ap=float(ap_t[valid].mean()),
        mean_inp=float(inp_t[valid].mean()),
        ap=ap_t,
        inp=inp_t,
        first_rank=first_t,
        num_queries=num_q,
        num_skipped=num_q - num_valid,
        ap_mode=ap_mode,
    )


def evaluate(
    distmat: Any,
    q_pids: Any,
    g_pids: Any,
    q_camids: Any,
    g_camids: Any,
    max_rank: int = 50,
    *,
    ap_mode: str = "noninterpolated",
    chunk_size: int = 256,
) -> RetrievalResult:
    """Market-1501 CMC / mAP / mINP of a query-gallery distance matrix.

    With the default ``ap_mode`` the CMC and mAP equal torchreid's
    ``evaluate_rank(distmat, q_pids, g_pids, q_camids, g_camids, max_rank)`` (up to float
    rounding; ties in a row are ordered by gallery index).

    Args:
        distmat: distances, shape ``(Q, G)`` (tensor or array); smaller means more similar.
        q_pids: identity of each query, shape ``(Q,)``, integers.
        g_pids: identity of each gallery item, shape ``(G,)``, integers.
        q_camids: camera of each query, shape ``(Q,)``, integers.
        g_camids: camera of each gallery item, shape ``(G,)``, integers.
        max_rank: length of the CMC curve; lowered to ``G`` when the gallery is smaller.
        ap_mode: ``"noninterpolated"`` (torchreid) or ``"trapezoid"`` (official Market-1501).
        chunk_size: query rows ranked at once; temporaries are about ``4 * chunk_size * G``
            bytes (one sorted copy of the rows, float32).

    Returns:
        A :class:`RetrievalResult` (fractions, not percent).

    Raises:
        ShapeError: ``distmat`` is not 2-D or a label vector has the wrong length.
        TypeError: labels are not integers.
        InvalidArgumentError: unknown ``ap_mode``, ``max_rank`` or ``chunk_size`` <= 0.
        DataError: no query has a true match, the problem is empty, or distances are NaN.

    Reference:
        Zheng et al., "Scalable Person Re-identification: A Benchmark", ICCV 2015
        (Market-1501); Ye et al., "Deep Learning for Person Re-identification: A Survey and
        Outlook", TPAMI 2021, arXiv:2001.04193 (mINP).

    Example:
        >>> d = torch.tensor([[0.1, 0.2, 0.3]])
        >>> r = evaluate(d, [1], [2, 1, 1], [0], [1, 1, 0])
        >>> round(r.mean_ap, 4), r.rank(1), r.rank(2)
        (0.5, 0.0, 1.0)
    """
    dist = torch.as_tensor(distmat)
    check_shape(dist, "Q G", "distmat")
    step = int(check_positive(chunk_size, "chunk_size"))
    blocks = ((s, dist[s : s + step]) for s in range(0, dist.shape[0], step))
    return _summarise(
        blocks, q_pids, g_pids, q_camids, g_camids, *dist.shape, dist.device, max_rank, ap_mode
    )


def evaluate_features(
    qf: torch.Tensor,
    gf: torch.Tensor,
    q_pids: Any,
    g_pids: Any,
    q_camids: Any,
    g_camids: Any,
    max_rank: int = 50,
    *,
    metric: str = "euclidean",
    ap_mode: str = "noninterpolated",
    chunk_size: int = 256,
) -> RetrievalResult:
    """Like :func:`evaluate`, from features, never building the full ``(Q, G)`` matrix.

    Distances of ``chunk_size`` queries are computed, ranked and dropped before the next
    block: about ``8 * chunk_size * G`` bytes of temporaries (40 MB for 256 x 20k) instead of
    ``4 * Q * G`` for the matrix (1.6 GB for 20k x 20k). The result equals
    ``evaluate(pairwise_distance(qf, gf, metric), ...)`` exactly when the distances are
    computed identically (BLAS may round a block's rows differently from the whole matrix's
    in the last bit, which can swap near-ties).

    Args:
        qf: query features, shape ``(Q, D)``.
        gf: gallery features, shape ``(G, D)``.
        q_pids, g_pids, q_camids, g_camids, max_rank, ap_mode: as in :func:`evaluate`.
        metric: ``"euclidean"`` (squared) or ``"cosine"`` (``1 - cos``), as torchreid.
        chunk_size: queries per block.

    Returns:
        A :class:`RetrievalResult`.

    Raises:
        ShapeError, TypeError, InvalidArgumentError, DataError: as in :func:`evaluate`.
    """
    check_tensor(qf, "qf")
    check_tensor(gf, "gf")
    blocks = iter_distance_blocks(qf, gf, metric, chunk_size)
    return _summarise(
        blocks, q_pids, g_pids, q_camids, g_camids,
        qf.shape[0], gf.shape[0], qf.device, max_rank, ap_mode,
    )  # fmt: skip
