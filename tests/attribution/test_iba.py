"""IBA against the reference's per-sample bottleneck, and the paper's properties."""

import math

import pytest
import torch
from torch import nn

from stylebias.attribution import (
    FeatureStats,
    capacity,
    capacity_heatmap,
    estimate_feature_stats,
    gaussian_kernel,
    iba,
    restrict_information,
    smooth_lambda,
)
from stylebias.errors import DataError, InvalidArgumentError, ShapeError

from . import reference


def small_net(seed=0):
    """conv-relu-conv ("feat") then relu-pool-linear: 5 classes, 8-channel 8x8 map at 16 px."""
    torch.manual_seed(seed)
    head = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 8, 3, padding=1, stride=2))
    tail = nn.Sequential(nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 5))
    model = nn.Sequential()
    model.add_module("head", head)
    model.add_module("tail", tail)
    return model.eval()


def test_batched_welford_equals_the_reference_loop_and_torch_var():
    model = small_net()
    images = torch.randn(13, 3, 16, 16, generator=torch.Generator().manual_seed(1))
    stats = estimate_feature_stats(model, "head", [images[:3], (images[3:8], None), images[8:]])
    with torch.no_grad():
        feats = model.head(images)
    mean, std, active = reference.welford(feats)
    assert stats.count == 13
    torch.testing.assert_close(stats.mean, mean, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(stats.std, std, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(stats.std, feats.std(dim=0), rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(stats.active, active)


def test_estimation_stops_at_max_samples_and_needs_two_images():
    model = small_net()
    images = torch.randn(10, 3, 16, 16)
    assert estimate_feature_stats(model, "head", [images[:4], images[4:]], max_samples=6).count == 6
    with pytest.raises(DataError, match="at least 2"):
        estimate_feature_stats(model, "head", [images[:1]])


def test_kernel_matches_the_reference_construction():
    for sigma in (0.5, 1.0, 2.0):
        ref = reference.reference_kernel(sigma, 1)[1].weight[0, 0]
        torch.testing.assert_close(gaussian_kernel(sigma), ref, rtol=1e-5, atol=1e-7)


def _stats_for(model, seed=2, n=40):
    images = torch.rand(n, 3, 16, 16, generator=torch.Generator().manual_seed(seed))
    return estimate_feature_stats(model, "head", [images])


@pytest.mark.parametrize("sigma", [1.0, None])
def test_heatmap_equals_the_reference_per_image(sigma):
    model = small_net()
    stats = _stats_for(model)
    images = torch.rand(2, 3, 16, 16, generator=torch.Generator().manual_seed(3))
    targets = torch.tensor([1, 3])
    ours = iba(model, images, "head", stats, target=targets, sigma=sigma,
               generator=[torch.Generator().manual_seed(10 + i) for i in range(2)])
    for i in range(2):
        cap, bits = reference.heatmap(model.head, model.tail, images[i:i + 1], int(targets[i]),
                                      stats.mean, stats.std, stats.active, sigma=sigma,
                                      generator=torch.Generator().manual_seed(10 + i))
        torch.testing.assert_close(ours.capacity[i], cap, rtol=2e-4, atol=2e-5)
        # the resized heatmap keeps the reference's total number of bits
        assert ours.heatmaps[i].sum().item() == pytest.approx(bits.sum().item(), rel=2e-4)
    assert ours.heatmaps.shape == (2, 16, 16)
    assert len(ours.losses) == 10


def test_an_image_map_does_not_depend_on_its_batch():
    model = small_net()
    stats = _stats_for(model)
    images = torch.rand(3, 3, 16, 16, generator=torch.Generator().manual_seed(4))
    batched = iba(model, images, "head", stats, generator=[torch.Generator().manual_seed(i) for i in range(3)])
    alone = iba(model, images[1:2], "head", stats, generator=[torch.Generator().manual_seed(1)])
    torch.testing.assert_close(batched.heatmaps[1], alone.heatmaps[0], rtol=1e-4, atol=1e-6)


def test_capacity_is_non_negative_and_zero_without_information():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(4, 6, 5, 5, generator=g) * 3
    lam = torch.rand(4, 6, 5, 5, generator=g).clamp(1e-4, 1 - 1e-4)
    assert (capacity(x, lam) >= -1e-6).all()
    assert capacity(x, torch.full_like(x, 1e-7)).abs().max() < 1e-5
    # a hand value: x_n = 2, lambda = 0.5 -> mu = 1, var = 0.25: 0.5 * (1 + 0.25 - 1 - ln 0.25)
    value = capacity(torch.tensor([2.0]), torch.tensor([0.5]))
    assert value.item() == pytest.approx(0.5 * (0.25 - math.log(0.25)), rel=1e-6)


def test_lambda_near_one_leaves_the_features_unchanged():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(2, 3, 4, 4, generator=g)
    stats = FeatureStats(x.mean(0), x.std(0), torch.ones(3, 4, 4), 2)
    z, _ = restrict_information(x, torch.full_like(x, 1 - 1e-6), stats, torch.randn(x.shape, generator=g))
    torch.testing.assert_close(z, x, rtol=1e-4, atol=1e-4)


def test_heatmap_resizing_keeps_the_total_bits():
    cap = torch.rand(2, 4, 7, 5, generator=torch.Generator().manual_seed(0))
    maps = capacity_heatmap(cap, (32, 24))
    assert maps.shape == (2, 32, 24)
    torch.testing.assert_close(maps.sum((1, 2)), cap.sum((1, 2, 3)) / math.log(2))


def test_smoothing_keeps_lambda_in_range_and_needs_a_large_enough_map():
    lam = smooth_lambda(torch.randn(2, 3, 6, 6) * 4, 1.0)
    assert lam.shape == (2, 3, 6, 6) and ((lam > 0) & (lam < 1)).all()
    with pytest.raises(ShapeError, match="larger map"):
        smooth_lambda(torch.zeros(1, 1, 2, 2), 1.0)


def test_removing_the_bottleneck_restores_the_model_exactly():
    model = small_net().train()
    stats = _stats_for(model)
    x = torch.rand(2, 3, 16, 16)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    model.eval()
    with torch.no_grad():
        expected = model(x)
    model.train()
    iba(model, x, "head", stats, steps=2)
    assert model.training
    assert all(not m._forward_hooks for m in model.modules())
    assert all(p.grad is None for p in model.parameters())
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    model.eval()
    with torch.no_grad():
        assert torch.equal(model(x), expected)


def test_bits_concentrate_where_the_evidence_is():
    """A model whose decision reads one feature-map cell (input pixels about 2..8): IBA puts
    most of the bits in the 10 x 10 corner around it, a tenth of the image."""
    torch.manual_seed(0)

    class OneCell(nn.Module):
        def __init__(self):
            super().__init__()
            self.features = nn.Conv2d(3, 8, 3, padding=1, stride=2)
            self.fc = nn.Linear(8, 4)

        def forward(self, x):
            return self.fc(self.features(x)[:, :, 2, 2] * 20)

    model = OneCell().eval()
    images = torch.rand(64, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    stats = estimate_feature_stats(model, "features", [images])
    maps = iba(model, images[:4], "features", stats).heatmaps
    share = maps[:, :10, :10].sum((1, 2)) / maps.sum((1, 2))
    assert (share > 0.5).all(), share


def test_errors_name_the_problem():
    model = small_net()
    stats = _stats_for(model)
    x = torch.rand(1, 3, 16, 16)
    with pytest.raises(InvalidArgumentError, match="did you mean head"):
        iba(model, x, "haed", stats)
    with pytest.raises(ShapeError, match="estimate them at this layer"):
        iba(model, torch.rand(1, 3, 32, 32), "head", stats)
    with pytest.raises(ShapeError, match=r"\(B, C, h, w\) feature map"):
        iba(model, x, "tail.2", stats)
    with pytest.raises(InvalidArgumentError, match="steps and samples"):
        iba(model, x, "head", stats, steps=0)
    with pytest.raises(InvalidArgumentError, match="one per image"):
        iba(model, x, "head", stats, generator=[torch.Generator(), torch.Generator()])
