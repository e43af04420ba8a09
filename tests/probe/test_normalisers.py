"""Normaliser diagnostics: hand values, and Beyond BatchNorm's directional claims on small
random networks (10 conv layers of width 16 at initialisation, 32 random inputs)."""

import pytest
import torch
from torch import nn

from stylebias.errors import InvalidArgumentError
from stylebias.probe import mean_pairwise_cosine, normaliser_diagnostics, stable_rank


def test_hand_values():
    a = torch.tensor([[1.0, 0.0], [0.0, 2.0], [1.0, 1.0]])
    # pairs: (1,2) 0, (1,3) 1/sqrt2, (2,3) 1/sqrt2 -> mean over the 3 pairs
    assert mean_pairwise_cosine(a).item() == pytest.approx((2 / 2**0.5) / 3)
    assert stable_rank(torch.eye(4) * 3).item() == pytest.approx(4.0)
    assert stable_rank(torch.ones(5, 1) * torch.arange(1.0, 4.0)).item() == pytest.approx(1.0)
    assert stable_rank(torch.zeros(3, 4)).item() == 0.0
    with pytest.raises(InvalidArgumentError, match="at least 2"):
        mean_pairwise_cosine(torch.ones(1, 3))


def net(norm, groups=None, seed=0, depth=10, width=16):
    torch.manual_seed(seed)
    layers, c = [], 3
    for _ in range(depth):
        layers.append(nn.Conv2d(c, width, 3, padding=1, bias=False))
        c = width
        if norm == "bn":
            layers.append(nn.BatchNorm2d(width))
        elif norm == "gn":
            layers.append(nn.GroupNorm(groups, width, affine=False))
        layers.append(nn.ReLU())
    model = nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(width, 10))
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
    return model


def convs(model, seed):
    x = torch.randn(32, 3, 16, 16, generator=torch.Generator().manual_seed(seed + 10))
    names = [n for n, m in model.named_modules() if isinstance(m, nn.Conv2d)]
    return normaliser_diagnostics(model, x, layers=names)


@pytest.mark.parametrize("seed", [0, 1])
def test_beyond_batchnorm_directions(seed):
    plain = convs(net("none", seed=seed), seed)
    batch = convs(net("bn", seed=seed), seed)
    instance = convs(net("gn", 16, seed), seed)  # group size 1
    group4 = convs(net("gn", 4, seed), seed)  # group size 4
    layer = convs(net("gn", 1, seed), seed)  # group size 16
    # without normalisation, similarity rises with depth; BatchNorm keeps it lower
    assert plain[-1].cosine_similarity > plain[1].cosine_similarity + 0.2
    assert batch[-1].cosine_similarity < plain[-1].cosine_similarity - 0.15
    # GroupNorm: similarity rises with group size; LayerNorm's is as high as no normaliser's
    assert instance[-1].cosine_similarity < group4[-1].cosine_similarity < layer[-1].cosine_similarity
    assert layer[-1].cosine_similarity > batch[-1].cosine_similarity + 0.2
    # collapse shows in the stable rank too
    assert plain[-1].stable_rank < batch[-1].stable_rank
    # instance normalisation: early layers get larger gradients than late ones; LayerNorm the reverse
    assert instance[0].grad_norm > 1.5 * instance[-1].grad_norm
    assert layer[0].grad_norm < 0.5 * layer[-1].grad_norm


def test_model_and_gradients_are_left_alone():
    model = net("bn").eval()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    out = normaliser_diagnostics(model, torch.randn(4, 3, 8, 8))
    assert [d.layer for d in out][-1] == "32"  # the Linear head is measured too
    assert not model.training and all(p.grad is None for p in model.parameters())
    # BatchNorm ran on batch statistics, but its running statistics are restored
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    with pytest.raises(InvalidArgumentError, match="no module named 'nope'"):
        normaliser_diagnostics(model, torch.randn(4, 3, 8, 8), layers=["nope"])
