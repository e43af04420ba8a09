import math

import pytest
import torch

from stylebias import _random
from stylebias.errors import ShapeError
from tests.functional.reference import ref_mixstyle_crossdomain_perm


@pytest.mark.parametrize("alpha", [0.1, 0.3, 1.0, 2.5])
def test_beta_samples_have_the_beta_moments(alpha):
    g = torch.Generator().manual_seed(1)
    lam = _random.sample_beta(alpha, 40_000, g)
    assert lam.dtype == torch.float32 and lam.min() >= 0 and lam.max() <= 1
    lam = lam.double()
    var = 1 / (4 * (2 * alpha + 1))  # variance of Beta(a, a)
    assert lam.mean().item() == pytest.approx(0.5, abs=4 * math.sqrt(var / 40_000))
    assert lam.var().item() == pytest.approx(var, rel=0.05)


def test_beta_distribution_matches_torch_beta_by_ks_distance():
    g = torch.Generator().manual_seed(2)
    ours = _random.sample_beta(0.1, 20_000, g).sort().values
    theirs = torch.distributions.Beta(0.1, 0.1).sample((20_000,)).sort().values
    # inner grid: for alpha = 0.1 about 10% of draws lie within float32 rounding of 1.0
    grid = torch.linspace(0.005, 0.995, 199)
    cdf = lambda s: torch.searchsorted(s, grid).double() / s.numel()  # noqa: E731
    assert (cdf(ours) - cdf(theirs)).abs().max() < 0.03  # KS 1% critical value ~ 0.016 * sqrt(2)


def test_draws_are_reproducible_with_a_generator():
    a = _random.sample_beta(0.3, 10, torch.Generator().manual_seed(5))
    b = _random.sample_beta(0.3, 10, torch.Generator().manual_seed(5))
    assert torch.equal(a, b)
    g1, g2 = torch.Generator().manual_seed(3), torch.Generator().manual_seed(3)
    assert [_random.fires(0.5, g1) for _ in range(20)] == [_random.fires(0.5, g2) for _ in range(20)]


def test_fires_never_draws_at_zero_or_one():
    g = torch.Generator().manual_seed(0)
    state = g.get_state()
    assert _random.fires(1.0, g) and not _random.fires(0.0, g)
    assert torch.equal(g.get_state(), state)


@pytest.mark.parametrize("batch", [2, 4, 8, 64])
def test_crossdomain_perm_matches_reference_distribution(batch):
    g = torch.Generator().manual_seed(batch)
    perm = _random.crossdomain_perm(batch, g)
    half = batch // 2
    assert sorted(perm.tolist()) == list(range(batch))
    assert (perm[:half] >= half).all() and (perm[half:] < half).all()
    # the reference's draw has the same support: a permutation swapping the halves
    ref = ref_mixstyle_crossdomain_perm(batch, torch.Generator().manual_seed(0))
    assert (ref[:half] >= half).all() and (ref[half:] < half).all()


@pytest.mark.parametrize("batch", [1, 3, 5, 9])
def test_crossdomain_perm_odd_batches(batch):
    perm = _random.crossdomain_perm(batch, torch.Generator().manual_seed(0))
    assert perm.shape == (batch,)
    if batch == 1:
        assert perm.tolist() == [0]
        return
    half = batch // 2
    assert (perm[:half] >= half).all() and (perm[half:] < half).all()
    assert len(set(perm[:half].tolist())) == half  # no repeats within the first half


def test_domain_perm_partners_come_from_other_domains():
    domains = torch.tensor([0, 0, 0, 1, 2, 2, 1, 0])
    for seed in range(20):
        perm = _random.domain_perm(domains, torch.Generator().manual_seed(seed))
        assert (domains[perm] != domains).all()


def test_domain_perm_single_domain_falls_back_to_permutation():
    perm = _random.domain_perm(torch.zeros(6, dtype=torch.long), torch.Generator().manual_seed(0))
    assert sorted(perm.tolist()) == list(range(6))
    with pytest.raises(ShapeError, match="1-D integer tensor"):
        _random.domain_perm(torch.zeros(2, 3))


@pytest.mark.parametrize("a, b", [(0.5, 0.5), (2.0, 0.7)])
def test_asymmetric_beta_has_the_beta_moments(a, b):
    lam = _random.sample_beta(a, 40_000, torch.Generator().manual_seed(3), beta=b).double()
    mean, var = a / (a + b), a * b / ((a + b) ** 2 * (a + b + 1))
    assert lam.mean().item() == pytest.approx(mean, abs=4 * math.sqrt(var / 40_000))
    assert lam.var().item() == pytest.approx(var, rel=0.05)


@pytest.mark.parametrize("alpha", [0.3, 1.0])
def test_dirichlet_rows_sum_to_one_with_the_dirichlet_moments(alpha):
    w = _random.sample_dirichlet(alpha, 30_000, 3, torch.Generator().manual_seed(4))
    assert w.shape == (30_000, 3) and w.dtype == torch.float32 and w.min() >= 0
    torch.testing.assert_close(w.sum(1), torch.ones(30_000))
    w = w.double()
    var = (1 / 3) * (2 / 3) / (3 * alpha + 1)  # variance of one coordinate of Dirichlet(a, a, a)
    assert w.mean(0).tolist() == pytest.approx([1 / 3] * 3, abs=4 * math.sqrt(var / 30_000))
    assert w[:, 0].var().item() == pytest.approx(var, rel=0.05)
