"""The contrastive stylizer's losses against hand-computed values and the reference's loops."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from stylebias.errors import InvalidArgumentError, ShapeError
from stylebias.stylize.contrastive_losses import (
    content_contrastive_loss,
    content_loss,
    contrastive_embedding,
    contrastive_loss,
    identity_losses,
    lsgan_loss,
    style_contrastive_loss,
    style_loss,
)

EPS = 1e-5


def ref_compute_contrastive_loss(feat_q, feat_k, tau, index):  # net.py
    out = torch.mm(feat_q, feat_k.transpose(1, 0)) / tau
    return F.cross_entropy(out, torch.tensor([index], dtype=torch.long))


def ref_style_contrastive(style_up, style_down, half):  # net.py Net.forward, verbatim loops
    loss = 0
    for i in range(half):
        reference_style = style_up[i : i + 1]
        if i == 0:
            comparisons = torch.cat([style_down[0 : half - 1], style_up[1:]], 0)
        elif i == 1:
            comparisons = torch.cat([style_down[1:], style_up[0:1], style_up[2:]], 0)
        elif i == (half - 1):
            comparisons = torch.cat([style_down[half - 1 :], style_down[0 : half - 2],
                                     style_up[0 : half - 1]], 0)  # fmt: skip
        else:
            comparisons = torch.cat([style_down[i:], style_down[0 : i - 1], style_up[0:i],
                                     style_up[i + 1 :]], 0)  # fmt: skip
        loss += ref_compute_contrastive_loss(reference_style, comparisons, 0.2, 0)
    for i in range(half):
        reference_style = style_down[i : i + 1]
        if i == 0:
            comparisons = torch.cat([style_up[0:1], style_up[2:], style_down[1:]], 0)
        elif i == (half - 2):
            comparisons = torch.cat([style_up[half - 2 : half - 1], style_up[0 : half - 2],
                                     style_down[0 : half - 2], style_down[half - 1 :]], 0)  # fmt: skip
        elif i == (half - 1):
            comparisons = torch.cat([style_up[half - 1 :], style_up[1 : half - 1],
                                     style_down[0 : half - 1]], 0)  # fmt: skip
        else:
            comparisons = torch.cat([style_up[i : i + 1], style_up[0:i], style_up[i + 2 :],
                                     style_down[0:i], style_down[i + 1 :]], 0)  # fmt: skip
        loss += ref_compute_contrastive_loss(reference_style, comparisons, 0.2, 0)
    return loss


def ref_content_contrastive(content_up, content_down, half):  # net.py Net.forward, verbatim
    loss = 0
    for i in range(half):
        reference_content = content_up[i : i + 1]
        if i == 0:
            comparisons = torch.cat([content_down[half - 1 :], content_down[1 : half - 1],
                                     content_up[1:]], 0)  # fmt: skip
        elif i == 1:
            comparisons = torch.cat([content_down[0:1], content_down[2:], content_up[0:1],
                                     content_up[2:]], 0)  # fmt: skip
        elif i == (half - 1):
            comparisons = torch.cat([content_down[half - 2 : half - 1], content_down[0 : half - 2],
                                     content_up[0 : half - 1]], 0)  # fmt: skip
        else:
            comparisons = torch.cat([content_down[i - 1 : i], content_down[0 : i - 1],
                                     content_down[i + 1 :], content_up[0:i],
                                     content_up[i + 1 :]], 0)  # fmt: skip
        loss += ref_compute_contrastive_loss(reference_content, comparisons, 0.2, 0)
    for i in range(half):
        reference_content = content_down[i : i + 1]
        if i == 0:
            comparisons = torch.cat([content_up[1:], content_down[1:]], 0)
        elif i == (half - 2):
            comparisons = torch.cat([content_up[half - 1 :], content_up[0 : half - 2],
                                     content_down[0 : half - 2], content_down[half - 1 :]], 0)  # fmt: skip
        elif i == (half - 1):
            comparisons = torch.cat([content_up[0 : half - 1], content_down[0 : half - 1]], 0)
        else:
            comparisons = torch.cat([content_up[i + 1 : i + 2], content_up[0:i],
                                     content_up[i + 2 :], content_down[0:i],
                                     content_down[i + 1 :]], 0)  # fmt: skip
        loss += ref_compute_contrastive_loss(reference_content, comparisons, 0.2, 0)
    return loss


def unit_rows(n, d, seed):
    x = torch.randn(n, d, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    return x / x.norm(dim=1, keepdim=True)


# ---- contrastive ----------------------------------------------------------------------------
@pytest.mark.parametrize("half", [2, 3, 5])
def test_identical_embeddings_give_log_of_the_number_of_keys(half):
    # every query compares with 2h - 2 keys (itself and one same-content/same-style sample
    # left out), all equally similar: -log(1 / (2h - 2)) per query, 2h queries summed
    same = torch.ones(half, 4, dtype=torch.float64) / 2
    expected = 2 * half * math.log(2 * half - 2)
    assert style_contrastive_loss(same, same).item() == pytest.approx(expected, rel=1e-12)
    assert content_contrastive_loss(same, same).item() == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("half", [2, 3, 4, 6])
def test_batch_losses_equal_the_reference_loops(half):
    up, down = unit_rows(half, 8, 0), unit_rows(half, 8, 1)
    assert torch.allclose(style_contrastive_loss(up, down), ref_style_contrastive(up, down, half))
    assert torch.allclose(content_contrastive_loss(up, down),
                          ref_content_contrastive(up, down, half))  # fmt: skip


def test_single_query_loss_by_hand():
    q = torch.tensor([[1.0, 0.0]], dtype=torch.float64)
    keys = torch.tensor([[1.0, 0.0], [0.0, 1.0]], dtype=torch.float64)
    # logits 1/0.2 = 5 and 0: -log(e^5 / (e^5 + 1))
    assert contrastive_loss(q, keys).item() == pytest.approx(math.log1p(math.exp(-5)), rel=1e-12)
    assert contrastive_loss(q, keys, index=1).item() == pytest.approx(
        5 + math.log1p(math.exp(-5)), rel=1e-12
    )
    assert torch.allclose(contrastive_loss(q, keys, 0.5), ref_compute_contrastive_loss(q, keys, 0.5, 0))


def test_positive_pulled_close_lowers_the_style_loss():
    up, down = unit_rows(3, 8, 2), unit_rows(3, 8, 3)
    assert style_contrastive_loss(up, up.clone()) < style_contrastive_loss(up, down)


def test_contrastive_bad_shapes():
    with pytest.raises(ShapeError, match=">= 2"):
        style_contrastive_loss(torch.ones(1, 4), torch.ones(1, 4))
    with pytest.raises(ShapeError):
        content_contrastive_loss(torch.ones(3, 4), torch.ones(2, 4))
    with pytest.raises(ShapeError):
        contrastive_loss(torch.ones(2, 4), torch.ones(3, 4))


def test_contrastive_embedding_is_the_reference_projection():
    torch.manual_seed(0)
    head = nn.Sequential(nn.Linear(256, 128), nn.ReLU(), nn.Linear(128, 128)).double()
    feats = torch.rand(3, 256, 4, 5, dtype=torch.float64)
    out = head(torch.sum(feats, dim=[2, 3]))
    expected = out / torch.norm(out, p=2, dim=1, keepdim=True)
    got = contrastive_embedding(feats, head)
    assert torch.allclose(got, expected) and torch.allclose(got.norm(dim=1), torch.ones(3, dtype=torch.float64))


# ---- content, style, identity, GAN ----------------------------------------------------------
def test_content_loss_by_hand():
    a = torch.zeros(1, 2, 2, 2)
    assert content_loss(a, a + 3).item() == pytest.approx(9.0)
    # normalised: an affine change per channel (positive scale) is invisible
    x = torch.tensor([0.0, 2.0, 4.0, 6.0]).view(1, 1, 2, 2)
    assert content_loss(x, 10 * x - 7, norm=True).item() < 1e-6
    # [0, 2, 4, 6]: mean 3, unbiased var 20/3, so normalised values are (x - 3) / sqrt(20/3 + eps)
    flat = torch.full((1, 1, 2, 2), 3.0)
    expected = sum(((v - 3) / math.sqrt(20 / 3 + EPS)) ** 2 for v in (0, 2, 4, 6)) / 4
    assert content_loss(x, flat, norm=True).item() == pytest.approx(expected, rel=1e-5)


def test_style_loss_by_hand():
    x = torch.tensor([0.0, 2.0]).view(1, 1, 1, 2)  # mean 1, unbiased var 2
    y = torch.tensor([1.0, 1.0]).view(1, 1, 1, 2)  # mean 1, var 0
    expected = (math.sqrt(2 + EPS) - math.sqrt(EPS)) ** 2
    assert style_loss(x, y).item() == pytest.approx(expected, rel=1e-5)
    z = torch.tensor([4.0, 4.0]).view(1, 1, 1, 2)
    assert style_loss(y, z).item() == pytest.approx(9.0, rel=1e-5)


def test_identity_losses_by_hand():
    one, zero = torch.ones(1, 3, 2, 2), torch.zeros(1, 3, 2, 2)
    f1, f0 = [torch.ones(1, 4, 2, 2)] * 5, [torch.zeros(1, 4, 2, 2)] * 5
    pixel, feature = identity_losses(one, zero, 2 * one, zero, f1, f0, f0, f0)
    assert pixel.item() == pytest.approx(1.0 + 4.0)
    assert feature.item() == pytest.approx(5 * (1.0 + 0.0))
    with pytest.raises(ShapeError):
        identity_losses(one, zero, one, zero, f1, f0[:4], f0, f0)


def test_lsgan_loss_by_hand():
    outs = [torch.full((2, 1, 2, 2), 0.5), torch.zeros(1, 1, 1, 1)]
    assert lsgan_loss(outs, 1.0).item() == pytest.approx(0.25 + 1.0)
    assert lsgan_loss(outs, 0.0).item() == pytest.approx(0.25)
    with pytest.raises(InvalidArgumentError):
        lsgan_loss([], 1.0)
