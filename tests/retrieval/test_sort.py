"""Ranked flags: the key sort must order rows exactly like a stable argsort."""

from __future__ import annotations

import pytest
import torch

from stylebias.retrieval._sort import ranked_flags


def _expected(dist, good, junk):
    order = torch.argsort(dist.double(), dim=1, stable=True)
    return good.gather(1, order), junk.gather(1, order)


def _flags(shape, g):
    good = torch.rand(shape, generator=g) < 0.3
    junk = (torch.rand(shape, generator=g) < 0.2) & ~good
    return good, junk


@pytest.mark.parametrize("use_numpy", [True, False])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float16, torch.float64])
def test_matches_stable_argsort_with_ties_signs_and_infinities(use_numpy, dtype):
    g = torch.Generator().manual_seed(0)
    dist = torch.randint(-3, 4, (9, 40), generator=g).to(dtype) / 2  # many ties, negatives
    dist[0, :5] = torch.tensor([0.0, -0.0, float("inf"), -float("inf"), 0.0], dtype=dtype)
    dist[1] = -0.0  # -0.0 and 0.0 tie: gallery order decides
    dist[1, ::3] = 0.0
    good, junk = _flags(dist.shape, g)
    got = ranked_flags(dist, good, junk, use_numpy=use_numpy)
    want = _expected(dist, good, junk)
    assert torch.equal(got[0], want[0]) and torch.equal(got[1], want[1])


@pytest.mark.parametrize("use_numpy", [True, False])
def test_matches_on_continuous_values(use_numpy):
    g = torch.Generator().manual_seed(1)
    dist = torch.randn(5, 300, generator=g) * 1e3
    good, junk = _flags(dist.shape, g)
    got = ranked_flags(dist, good, junk, use_numpy=use_numpy)
    want = _expected(dist, good, junk)
    assert torch.equal(got[0], want[0]) and torch.equal(got[1], want[1])
