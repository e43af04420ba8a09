"""Deletion and insertion curves against RISE's one-image loop, and what they measure."""

import numpy as np
import pytest
import torch
from torch import nn

from stylebias.attribution import area_under_curve, blur_substrate, deletion_curve, insertion_curve
from stylebias.errors import InvalidArgumentError, ShapeError

from . import reference


def tiny_model():
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, 6, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(2), nn.Flatten(), nn.Linear(24, 4)).eval()


@pytest.mark.parametrize("mode", ["del", "ins"])
def test_curves_equal_the_rise_loop(mode):
    model = tiny_model()
    g = torch.Generator().manual_seed(0)
    images = torch.rand(3, 3, 8, 8, generator=g)
    saliency = torch.rand(3, 8, 8, generator=g)
    targets = torch.tensor([0, 2, 3])
    fn = deletion_curve if mode == "del" else insertion_curve
    substrate = (lambda x: torch.zeros_like(x)) if mode == "del" else blur_substrate
    ours = fn(model, images, saliency, targets, step=5, batch_size=7)
    for i in range(3):
        ref = reference.rise_curve(model, images[i:i + 1].clone(), saliency[i:i + 1], int(targets[i]), substrate, 5, mode)
        np.testing.assert_allclose(ours[i].numpy(), ref, rtol=1e-5, atol=1e-6)
        assert area_under_curve(ours[i:i + 1]).item() == pytest.approx(reference.rise_auc(ref), rel=1e-5)
    assert ours.shape == (3, (64 + 4) // 5 + 1)


def test_area_is_the_normalised_trapezoid():
    curves = torch.tensor([[1.0, 0.5, 0.0], [1.0, 1.0, 1.0]])
    torch.testing.assert_close(area_under_curve(curves), torch.tensor([0.5, 1.0]))


def test_a_faithful_map_deletes_faster_and_inserts_faster_than_its_reverse():
    """The model's class-0 logit is the mean brightness of the left half: a map that ranks the
    left half first must beat the reversed map on both metrics."""

    class LeftHalf(nn.Module):
        def forward(self, x):
            left = x[:, :, :, : x.shape[-1] // 2].mean((1, 2, 3))
            return torch.stack([8 * left, torch.full_like(left, 2.0)], dim=1)

    model = LeftHalf()
    images = torch.rand(2, 3, 8, 8, generator=torch.Generator().manual_seed(0)) * 0.5 + 0.5
    good = torch.zeros(2, 8, 8)
    good[:, :, :4] = 1 + torch.rand(2, 8, 4)
    bad = -good
    targets = torch.zeros(2, dtype=torch.long)
    d_good = area_under_curve(deletion_curve(model, images, good, targets, step=4))
    d_bad = area_under_curve(deletion_curve(model, images, bad, targets, step=4))
    i_good = area_under_curve(insertion_curve(model, images, good, targets, step=4))
    i_bad = area_under_curve(insertion_curve(model, images, bad, targets, step=4))
    assert (d_good < d_bad - 0.05).all() and (i_good > i_bad + 0.05).all()


def test_bad_shapes_and_steps_are_refused():
    model = tiny_model()
    x = torch.rand(2, 3, 8, 8)
    with pytest.raises(ShapeError, match="resize the maps"):
        deletion_curve(model, x, torch.rand(2, 4, 4))
    with pytest.raises(InvalidArgumentError, match="step"):
        deletion_curve(model, x, torch.rand(2, 8, 8), step=0)
