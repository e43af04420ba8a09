"""Positions in a stable ranking and per-identity gallery candidates."""

from __future__ import annotations

import pytest
import torch

from stylebias.errors import DataError
from stylebias.retrieval._ranking import GalleryIndex, stable_positions


def _expected(dist, cols):
    inverse = torch.argsort(dist.double(), dim=1, stable=True).argsort(dim=1)
    return inverse.gather(1, cols)


@pytest.mark.parametrize("use_numpy", [True, False])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float16, torch.float64])
def test_positions_match_stable_argsort_with_ties_signs_and_infinities(dtype, use_numpy):
    g = torch.Generator().manual_seed(0)
    dist = (torch.randint(-3, 4, (9, 150), generator=g) / 2).to(dtype)  # many ties, negatives
    dist[0, :5] = torch.tensor([0.0, -0.0, float("inf"), -float("inf"), 0.0], dtype=dtype)
    dist[1] = -0.0  # -0.0 and 0.0 tie: column order decides
    dist[1, ::3] = 0.0
    cols = torch.randint(0, 150, (9, 7), generator=g)
    assert torch.equal(stable_positions(dist, cols, use_numpy=use_numpy), _expected(dist, cols))


def test_positions_every_column_is_a_permutation():
    g = torch.Generator().manual_seed(1)
    dist = torch.randint(0, 3, (4, 100), generator=g).float()
    cols = torch.arange(100).expand(4, 100).contiguous()
    pos = stable_positions(dist, cols)
    assert torch.equal(pos.sort(dim=1).values, cols)
    assert torch.equal(pos, _expected(dist, cols))


def test_positions_on_continuous_values():
    g = torch.Generator().manual_seed(2)
    dist = torch.randn(5, 300, generator=g) * 1e3
    cols = torch.randint(0, 300, (5, 11), generator=g)
    assert torch.equal(stable_positions(dist, cols), _expected(dist, cols))


def test_gallery_candidates():
    g_pids = torch.tensor([3, 1, 3, 2, 3, 1])
    g_cams = torch.tensor([1, 1, 2, 1, 1, 2])
    index = GalleryIndex(g_pids, g_cams)
    cols, good, junk = index.candidates(torch.tensor([3, 1, 9]), torch.tensor([1, 2, 1]))
    assert cols.shape == (3, 3)
    assert cols[0].tolist() == [0, 2, 4]  # identity 3, in gallery order
    assert good[0].tolist() == [False, True, False] and junk[0].tolist() == [True, False, True]
    assert cols[1, :2].tolist() == [1, 5]
    assert good[1].tolist() == [True, False, False] and junk[1].tolist() == [False, True, False]
    assert not good[2].any() and not junk[2].any()  # identity 9 is not in the gallery


def test_nan_is_reported():
    dist = torch.zeros(2, 5)
    dist[1, 2] = float("nan")
    with pytest.raises(DataError, match="NaN"):
        stable_positions(dist, torch.zeros(2, 1, dtype=torch.int64))


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_evaluation_equals_cpu():
    from stylebias.retrieval import evaluate_features

    g = torch.Generator().manual_seed(5)
    qf = torch.randint(-3, 4, (70, 8), generator=g).float()
    gf = torch.randint(-3, 4, (300, 8), generator=g).float()
    labels = [torch.randint(0, k, (n,), generator=g) for k, n in ((20, 70), (20, 300), (3, 70), (3, 300))]
    cpu = evaluate_features(qf, gf, *labels, chunk_size=32)
    gpu = evaluate_features(qf.cuda(), gf.cuda(), *[t.cuda() for t in labels], chunk_size=32)
    assert torch.equal(cpu.first_rank, gpu.first_rank)
    assert cpu.mean_ap == pytest.approx(gpu.mean_ap, rel=1e-12)
    assert cpu.mean_inp == pytest.approx(gpu.mean_inp, rel=1e-12)
