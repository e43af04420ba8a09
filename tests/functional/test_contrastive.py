import math

import numpy as np
import pytest
import torch

from stylebias.errors import InvalidArgumentError, ShapeError
from stylebias.functional import info_nce, nt_xent


def reference_simclr(input1, input2, tau):
    """The ``loss_type == 'simclr'`` branch of NoisyCLIP.criterion (Ravula et al.'s
    noisy_clip_dataparallel.py), re-expressed: interleaved views, cosine similarities,
    masked log-sum-exp, the two off-diagonals, mean over 2B."""
    bsz = input1.shape[0]
    full = torch.cat([input1.unsqueeze(1), input2.unsqueeze(1)], dim=1).view(2 * bsz, 1, -1)
    t1 = full.expand(2 * bsz, 2 * bsz, -1)
    t2 = full.permute(1, 0, 2).expand(2 * bsz, 2 * bsz, -1)
    sim = torch.nn.CosineSimilarity(dim=-1)(t1, t2)
    exp_sim = torch.exp(sim / tau)
    mask = torch.ones_like(exp_sim) - torch.eye(2 * bsz, dtype=exp_sim.dtype)
    logmat = -torch.log(exp_sim) + torch.log(torch.sum(mask * exp_sim, 1))
    part1 = torch.sum(torch.diag(logmat, diagonal=1)[np.arange(0, 2 * bsz, 2)])
    part2 = torch.sum(torch.diag(logmat, diagonal=-1)[np.arange(0, 2 * bsz, 2)])
    return (part1 + part2) / 2 / bsz


@pytest.mark.parametrize("tau", [0.1, 0.5])
def test_nt_xent_equals_the_reference_criterion(tau):
    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(6, 5, generator=g, dtype=torch.float64), torch.randn(6, 5, generator=g, dtype=torch.float64)
    torch.testing.assert_close(nt_xent(a, b, tau=tau), reference_simclr(a, b, tau))


def test_identical_embeddings_give_log_2b_minus_1():
    x = torch.ones(4, 3)  # every similarity is 1: the positive is one of 2B - 1 equal keys
    assert nt_xent(x, x * 5, tau=0.1).item() == pytest.approx(math.log(7), rel=1e-5)


@pytest.mark.parametrize("tau", [0.1, 0.3, 1.0])
def test_orthogonal_images_with_matching_views(tau):
    # partners coincide (similarity 1), every other pair is orthogonal (similarity 0)
    e = torch.eye(4, dtype=torch.float64)
    expected = -math.log(math.exp(1 / tau) / (math.exp(1 / tau) + 6))
    assert nt_xent(e, 2 * e, tau=tau).item() == pytest.approx(expected, rel=1e-9)


def test_temperature_scales_the_logits():
    # the loss at tau equals the loss at 1 of embeddings whose similarities are divided by tau:
    # one query, positive similarity 1, negatives -1 (opposite images)
    a = torch.tensor([[1.0, 0.0], [-1.0, 0.0]], dtype=torch.float64)
    for tau in (0.1, 0.5, 2.0):
        pos, neg = math.exp(1 / tau), math.exp(-1 / tau)
        # each query: its partner (sim 1), the other image in both views (sim -1 twice)
        expected = -math.log(pos / (pos + 2 * neg))
        assert nt_xent(a, a, tau=tau).item() == pytest.approx(expected, rel=1e-9)


def test_reduction_none_lists_the_queries_of_a_then_b():
    g = torch.Generator().manual_seed(1)
    a, b = torch.randn(3, 4, generator=g), torch.randn(3, 4, generator=g)
    per_query = nt_xent(a, b, reduction="none")
    assert per_query.shape == (6,)
    torch.testing.assert_close(per_query.mean(), nt_xent(a, b))
    # the symmetric loss: swapping the views swaps the halves
    torch.testing.assert_close(nt_xent(b, a, reduction="none"), per_query.roll(3))


def test_info_nce_leaves_out_excluded_keys():
    z = torch.nn.functional.normalize(torch.randn(4, 3, generator=torch.Generator().manual_seed(2)), dim=1)
    positive = torch.tensor([1, 0, 3, 2])
    exclude = torch.zeros(4, 4, dtype=torch.bool)
    exclude[0, 2] = True
    s = z @ z.t() / 0.2
    expected = -(s[0, 1] - torch.logsumexp(s[0, [1, 3]], 0))
    torch.testing.assert_close(info_nce(z, positive, exclude, tau=0.2, reduction="none")[0], expected)


def test_bad_inputs_are_refused():
    with pytest.raises(ShapeError, match="one shape"):
        nt_xent(torch.randn(3, 4), torch.randn(2, 4))
    with pytest.raises(ShapeError, match="positive"):
        info_nce(torch.randn(3, 4), torch.tensor([1, 0]))
    with pytest.raises(InvalidArgumentError, match="tau"):
        nt_xent(torch.randn(3, 4), torch.randn(3, 4), tau=0.0)
    with pytest.raises(InvalidArgumentError, match="reduction"):
        nt_xent(torch.randn(3, 4), torch.randn(3, 4), reduction="avg")


def test_gradients_flow_to_both_views():
    a = torch.randn(4, 3, requires_grad=True)
    b = torch.randn(4, 3, requires_grad=True)
    nt_xent(a, b).backward()
    assert a.grad.abs().sum() > 0 and b.grad.abs().sum() > 0
