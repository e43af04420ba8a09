"""Rank flags along each distance row: a stable sort without ``torch.argsort(stable=True)``.

Evaluation only needs to know, in ranked order, which gallery entries are true matches and
which are removed ("junk"). Each entry becomes one unique int64 key

    high 32 bits: the float32 distance as a signed int ordered like the float
    low 32 bits:  gallery index * 4 + 2 * is_match + is_junk

so an ordinary (unstable) sort of the keys orders the row exactly like a stable argsort of the
distances (ties by gallery index), and the two flags come out already permuted: no index
tensor, no gather. On CPU NumPy sorts the keys in place (its SIMD int64 sort is several times
faster than ``torch.argsort(stable=True)``); elsewhere ``torch.sort`` does. float64 distances
keep their precision through a stable argsort and two gathers.
"""

from __future__ import annotations

import sys

import numpy as np
import torch

__all__ = ["ranked_flags"]

_MAX_COLUMNS = 2**29  # index * 4 + 3 must stay below 2**31


def _numpy_path(dist: torch.Tensor, good: torch.Tensor, junk: torch.Tensor):
    bits = (dist.numpy() + np.float32(0.0)).view(np.int32)  # a copy; -0.0 + 0.0 = +0.0
    bits ^= (bits >> 31) & 0x7FFFFFFF  # signed ints ordered like the floats
    keys = bits.astype(np.int64)
    keys <<= 32
    keys |= np.arange(0, 4 * dist.shape[1], 4, dtype=np.int64)
    keys |= good.numpy().view(np.int8) << 1
    keys |= junk.numpy().view(np.int8)
    keys.sort(axis=1)
    flags = torch.from_numpy(keys.view(np.int32)[:, 0::2] & 3)  # low words (little endian)
    return flags == 2, flags == 1


def _torch_path(dist: torch.Tensor, good: torch.Tensor, junk: torch.Tensor):
    bits = (dist + 0.0).view(torch.int32)
    bits = bits ^ ((bits >> 31) & 0x7FFFFFFF)
    cols = torch.arange(0, 4 * dist.shape[1], 4, device=dist.device)
    keys = (bits.to(torch.int64) << 32) | cols | (good.to(torch.int64) << 1) | junk.to(torch.int64)
    flags = torch.sort(keys, dim=1).values & 3
    return flags == 2, flags == 1


def ranked_flags(
    dist: torch.Tensor, good: torch.Tensor, junk: torch.Tensor, *, use_numpy: bool | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """``good`` and ``junk`` permuted along each row into ascending-distance order.

    The order is that of ``torch.argsort(dist, dim=1, stable=True)`` (``-0.0 == 0.0``).

    Args:
        dist: distances, shape ``(Q, G)``, floating point, without NaN.
        good: true-match flags, shape ``(Q, G)``, bool; never true where ``junk`` is.
        junk: removed-entry flags, shape ``(Q, G)``, bool.
        use_numpy: sort with NumPy; default: on CPU when the machine is little endian.

    Returns:
        ``(good_ranked, junk_ranked)``, bool, shape ``(Q, G)``, on ``dist``'s device.
    """
    if dist.dtype == torch.float64 or dist.shape[1] >= _MAX_COLUMNS:
        order = torch.argsort(dist, dim=1, stable=True)
        return good.gather(1, order), junk.gather(1, order)
    dist = dist.to(torch.float32)
    if use_numpy is None:
        use_numpy = dist.device.type == "cpu" and sys.byteorder == "little"
    if use_numpy:
        return _numpy_path(dist.contiguous(), good.contiguous(), junk.contiguous())
    return _torch_path(dist, good, junk)
