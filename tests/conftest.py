"""Shared fixtures: every test starts from a fixed torch seed."""

import pytest
import torch


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


def styled_batch(b=6, c=5, h=7, w=9, seed=0, dtype=torch.float32):
    """A batch whose samples have clearly different per-channel means and scales."""
    g = torch.Generator().manual_seed(seed)
    mu = torch.randn(b, c, 1, 1, generator=g, dtype=torch.float64) * 2
    sigma = torch.rand(b, c, 1, 1, generator=g, dtype=torch.float64) * 2 + 0.5
    x = torch.randn(b, c, h, w, generator=g, dtype=torch.float64) * sigma + mu
    return x.to(dtype)


def run_ranks(worker, world=2, *args):
    """Run ``worker(rank, world, port, results, *args)`` in ``world`` spawned processes (a gloo
    group on a free loopback port); returns the ``results`` dict the workers filled."""
    import socket

    import torch.multiprocessing as mp

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with mp.get_context("spawn").Manager() as manager:
        results = manager.dict()
        mp.start_processes(worker, args=(world, port, results, *args), nprocs=world, start_method="spawn")
        return dict(results)
