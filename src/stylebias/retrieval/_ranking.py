"""Where given entries land in each row's ranking, without ranking the whole row by index.

Evaluation needs only the ranks of a query's true matches and of its removed ("junk") entries,
a few dozen per row, not the full argsort. For an entry of value ``v`` at column ``c`` its
position in the stable ascending order of its row is

    #{m : d[m] < v}  +  #{m < c : d[m] == v}

The first term is a binary search in the row sorted by *value* (a plain SIMD float sort, much
faster than an index-tracking stable argsort); the second is needed only when ``v`` occurs
more than once in the row and is then counted directly. On CPU NumPy sorts the values; on other
devices ``torch.sort`` does.
"""

from __future__ import annotations

import numpy as np
import torch

from ..errors import DataError

__all__ = ["stable_positions", "GalleryIndex"]

_TIE_ROWS = 64  # rows gathered at once to count ties


def stable_positions(
    dist: torch.Tensor, cols: torch.Tensor, *, use_numpy: bool | None = None
) -> torch.Tensor:
    """0-based position of ``dist[i, cols[i, k]]`` in the stable ascending order of row ``i``.

    Equals ``torch.argsort(dist, dim=1, stable=True).argsort(dim=1).gather(1, cols)``: equal
    values keep column order, and ``-0.0 == 0.0``.

    Args:
        dist: values, shape ``(Q, G)``, floating point.
        cols: column indices, shape ``(Q, K)``, int64 in ``[0, G)``.
        use_numpy: sort with NumPy (default: when ``dist`` is on the CPU) or with torch.

    Returns:
        Positions, shape ``(Q, K)``, int64 in ``[0, G)``.

    Raises:
        DataError: ``dist`` contains NaN.
    """
    if not dist.is_floating_point():
        dist = dist.to(torch.float64)  # exact for integers below 2**53
    elif dist.dtype != torch.float64:
        dist = dist.to(torch.float32)  # exact for float16 / bfloat16
    dist = dist.detach().contiguous()
    values = dist.gather(1, cols)
    if dist.device.type == "cpu" if use_numpy is None else use_numpy:
        ordered = torch.from_numpy(np.sort(dist.numpy(), axis=1))
    else:
        ordered = torch.sort(dist, dim=1).values
    if bool(torch.isnan(ordered[:, -1:]).any()):  # NaN sorts last: one column tells
        raise DataError("the distance matrix contains NaN; check the features for NaN or inf")
    pos = torch.searchsorted(ordered, values, side="left")
    tied = torch.searchsorted(ordered, values, side="right") - pos > 1
    if bool(tied.any()):
        rows, ks = tied.nonzero(as_tuple=True)
        columns = torch.arange(dist.shape[1], device=dist.device)
        for start in range(0, rows.numel(), _TIE_ROWS):
            r, k = rows[start : start + _TIE_ROWS], ks[start : start + _TIE_ROWS]
            same = dist[r] == values[r, k].unsqueeze(1)
            earlier = columns.unsqueeze(0) < cols[r, k].unsqueeze(1)
            pos[r, k] += (same & earlier).sum(dim=1)
    return pos


class GalleryIndex:
    """Gallery entries grouped by identity, to list each query's candidates without a scan.

    Args:
        g_pids: identity of each gallery item, shape ``(G,)``, int64.
        g_cams: camera of each gallery item, shape ``(G,)``, int64.
    """

    def __init__(self, g_pids: torch.Tensor, g_cams: torch.Tensor) -> None:
        self.order = torch.argsort(g_pids, stable=True)
        self.sorted_pids = g_pids[self.order]
        self.g_cams = g_cams

    def candidates(
        self, q_pids: torch.Tensor, q_cams: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Gallery columns sharing each query's identity, padded to a ``(Q, K)`` block.

        Returns:
            ``(cols, good, junk)``: columns ``(Q, K)`` int64 (padding repeats a valid column),
            ``good`` (same identity, other camera) and ``junk`` (same identity and camera),
            both bool ``(Q, K)`` and false on padding.
        """
        lo = torch.searchsorted(self.sorted_pids, q_pids, side="left")
        count = torch.searchsorted(self.sorted_pids, q_pids, side="right") - lo
        width = max(int(count.max()), 1) if count.numel() else 1
        slot = torch.arange(width, device=q_pids.device)
        valid = slot.unsqueeze(0) < count.unsqueeze(1)
        index = (lo.unsqueeze(1) + slot).clamp(max=self.order.numel() - 1)
        cols = self.order[index]
        same_cam = self.g_cams[cols] == q_cams.unsqueeze(1)
        return cols, valid & ~same_cam, valid & same_cam
