"""Mixing across the global batch under DDP (MixStyle/EFDMix global_batch=True)."""

import os

import pytest
import torch
import torch.distributed as dist

from stylebias.errors import InvalidArgumentError
from stylebias.functional import efdmix, instance_stats, mixstyle
from stylebias.layers import EFDMix, MixStyle
from tests.conftest import run_ranks, styled_batch


def test_partner_statistics_equal_mixing_within_the_concatenated_batch():
    local, other = styled_batch(3, seed=1), styled_batch(4, seed=2)
    everything = torch.cat([local, other])
    perm = torch.tensor([5, 0, 3, 6, 1, 2, 4])
    lam = torch.rand(7)
    mu, sigma = instance_stats(everything, 1e-6)
    torch.testing.assert_close(
        mixstyle(local, perm[:3], lam[:3], partner_stats=(mu, sigma)), mixstyle(everything, perm, lam)[:3]
    )
    values = everything.flatten(2).sort(-1).values
    torch.testing.assert_close(
        efdmix(local, perm[:3], lam[:3], partner_values=values), efdmix(everything, perm, lam)[:3]
    )


def test_global_batch_needs_random_mixing():
    with pytest.raises(InvalidArgumentError, match="global_batch mixing supports mix='random' only"):
        MixStyle(mix="crossdomain", global_batch=True)


def _worker(rank, world, port, results):
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=world)
    torch.set_num_threads(1)
    try:
        # rank r holds samples whose channel means are 100 r + 10 i: easy to tell apart
        x = torch.randn(3, 2, 6, 6, generator=torch.Generator().manual_seed(rank))
        x = x + (100.0 * rank + 10.0 * torch.arange(3.0)).view(3, 1, 1, 1)
        record = {}
        for name, cls in (("mixstyle", MixStyle), ("efdmix", EFDMix)):
            layer = cls(p=0.5, alpha=0.1, global_batch=True, generator=torch.Generator().manual_seed(10 + rank)).train()
            fired, means = [], []
            for _ in range(12):
                out = layer(x)
                fired.append(out is not x)
                means.append(out.mean(dim=(1, 2, 3)))
            record[name] = (fired, torch.stack(means))
        results[rank] = record
    finally:
        dist.destroy_process_group()


def test_ddp_ranks_fire_together_and_mix_across_ranks():
    results = run_ranks(_worker)
    r0, r1 = results[0], results[1]
    for name in ("mixstyle", "efdmix"):
        fired0, means0 = r0[name]
        fired1, means1 = r1[name]
        assert fired0 == fired1 and 0 < sum(fired0) < 12  # one shared decision per forward
        # rank 0's samples (means 0..20) picked up statistics of rank 1's (100..120) somewhere
        assert (means0 > 40).any() and (means1 < 80).any()
