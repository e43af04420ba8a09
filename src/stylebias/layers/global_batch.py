"""Mixing statistics across the whole global batch under DDP (MixStyle/EFDMix ``global_batch``).

No published implementation does this: under DistributedDataParallel every process mixes only
within its own slice of the batch, and DataParallel breaks cross-domain mixing silently
(mixstyle-release issue 19). Here rank 0 decides whether the layer fires and draws a shared
seed, so every rank takes part in the same collectives; the per-sample statistics (or sorted
values, for EFDMix) are gathered from all ranks, and each sample's partner is drawn from a
permutation of the global batch. Partners on other ranks receive no gradient.
"""

from __future__ import annotations

import torch
import torch.distributed as dist
from torch import Tensor

from .. import _random
from ..functional import efdmix, instance_stats, mixstyle

__all__ = ["world_size", "gather_rows", "global_mixing"]


def world_size() -> int:
    """Number of processes of the default group (1 outside torch.distributed)."""
    return dist.get_world_size() if dist.is_available() and dist.is_initialized() else 1


def _shared_draw(p: float, generator: torch.Generator | None, device: torch.device) -> tuple[bool, int]:
    """Rank 0's decision to fire and a shared seed, broadcast to every rank."""
    message = torch.zeros(2, dtype=torch.int64)
    if dist.get_rank() == 0:
        message[0] = int(_random.fires(p, generator))
        message[1] = int(torch.randint(2**62, (), generator=generator, device=generator.device if generator else "cpu"))
    message = message.to(device)
    dist.broadcast(message, src=0)
    return bool(message[0]), int(message[1])


def gather_rows(t: Tensor) -> tuple[Tensor, list[int]]:
    """Concatenate ``t`` (detached) over ranks along dim 0; per-rank sizes may differ."""
    world = dist.get_world_size()
    size = torch.tensor([t.shape[0]], device=t.device)
    sizes = [torch.zeros_like(size) for _ in range(world)]
    dist.all_gather(sizes, size)
    counts = [int(s) for s in sizes]
    padded = t.new_zeros((max(counts), *t.shape[1:]))
    padded[: t.shape[0]] = t
    parts = [torch.empty_like(padded) for _ in range(world)]
    dist.all_gather(parts, padded.contiguous())
    return torch.cat([part[:n] for part, n in zip(parts, counts)]), counts


def global_mixing(layer, x: Tensor, kind: str) -> Tensor:
    """One forward of a mixing layer over the global batch (``kind``: "stats" or "values")."""
    fire, seed = _shared_draw(layer.p, layer.generator, x.device)
    if not fire or x.shape[2] * x.shape[3] < 2:  # spatial size is the same on every rank
        return x
    if kind == "stats":
        mu, sigma = instance_stats(x.detach(), layer.eps)
        partners, counts = gather_rows(torch.cat([mu, sigma], dim=1))
        channels = x.shape[1]
        shared = (partners[:, :channels], partners[:, channels:])
    else:
        partners, counts = gather_rows(torch.sort(x.detach().flatten(2), dim=-1).values)
    offset = sum(counts[: dist.get_rank()])
    order = torch.randperm(sum(counts), generator=torch.Generator().manual_seed(seed))
    perm = order[offset : offset + x.shape[0]].to(x.device)
    lam = _random.sample_beta(layer.alpha, x.shape[0], layer.generator).to(x.device)
    if kind == "stats":
        return mixstyle(x, perm, lam, layer.eps, partner_stats=shared)
    return efdmix(x, perm, lam, partner_values=partners)
