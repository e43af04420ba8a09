import pytest
import torch

from stylebias.corruptions import corrupt
from stylebias.corruptions._ops import gaussian_blur
from stylebias.errors import InvalidArgumentError, ShapeError, UnknownNameError
from stylebias.training.distortions import (
    PAPER_DISTORTIONS,
    additive_noise,
    canonical_distortions,
    distort,
    random_mask,
)
from stylebias.training.linear_probe import fit_linear_probe


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


def test_random_mask_blacks_out_an_exact_share_of_pixels_in_every_channel():
    x = torch.rand(3, 3, 10, 10) + 0.1  # no pixel is 0 before masking
    out = random_mask(x, 0.75, gen())
    masked = out == 0
    assert torch.equal(masked[:, 0], masked[:, 1]) and torch.equal(masked[:, 0], masked[:, 2])
    assert masked[:, 0].sum(dim=(1, 2)).tolist() == [75, 75, 75]  # int(0.75 * 100) per image
    assert not torch.equal(masked[0, 0], masked[1, 0])  # drawn per image
    kept = ~masked
    assert torch.equal(out[kept], x[kept])
    assert torch.equal(out, random_mask(x, 0.75, gen()))  # the generator decides
    assert not torch.equal(out, random_mask(x, 0.75, gen(1)))
    assert torch.equal(random_mask(x, 0.0, gen()), x) and random_mask(x, 1.0, gen()).abs().sum() == 0


def test_additive_noise_is_unclipped_gaussian_of_the_given_std():
    x = torch.full((4, 3, 32, 32), 0.5)
    out = additive_noise(x, 0.3, gen())
    noise = out - x
    assert noise.std().item() == pytest.approx(0.3, rel=0.05) and abs(noise.mean().item()) < 0.02
    assert out.max() > 1 or out.min() < 0  # not clipped, as the reference
    assert torch.equal(out, additive_noise(x, 0.3, gen()))


def test_distort_uses_each_severity_table():
    x = torch.rand(2, 3, 32, 32)
    for severity in (1, 5):
        std = PAPER_DISTORTIONS["noise"][severity - 1]
        torch.testing.assert_close(distort(x, "noise", severity, gen()), additive_noise(x, std, gen()))
        sigma = PAPER_DISTORTIONS["blur"][severity - 1]
        torch.testing.assert_close(distort(x, "blur", severity, gen()), gaussian_blur(x, sigma))
        fraction = PAPER_DISTORTIONS["mask"][severity - 1]
        assert ((distort(x, "mask", severity, gen()) == 0).all(1).sum(dim=(1, 2)) == int(fraction * 1024)).all()
    # any other name is a stylebias corruption, drawn from the same generator
    torch.testing.assert_close(distort(x, "shot_noise", 2, gen()), corrupt(x, "shot_noise", 2, gen()))


def test_distortion_names_and_severities_are_checked():
    assert canonical_distortions(["mask", "Gaussian-Noise"]) == ["mask", "gaussian_noise"]
    with pytest.raises(UnknownNameError, match=r"mask, noise, blur.*Did you mean 'fog'"):
        canonical_distortions(["fogg"])
    with pytest.raises(InvalidArgumentError, match="non-empty list"):
        canonical_distortions([])
    with pytest.raises(InvalidArgumentError, match="non-empty list"):
        canonical_distortions("mask")
    with pytest.raises(InvalidArgumentError, match="severity must be an integer from 1 to 5"):
        distort(torch.rand(1, 3, 8, 8), "mask", 0)
    with pytest.raises(InvalidArgumentError, match="fraction"):
        random_mask(torch.rand(1, 3, 8, 8), 75)


def test_linear_probe_separates_separable_features_deterministically():
    g = gen(3)
    centres = torch.randn(3, 6, generator=g) * 4
    y = torch.arange(60) % 3
    x = centres[y] + torch.randn(60, 6, generator=g)
    probe = fit_linear_probe(x, y)
    assert (probe(x).argmax(1) == y).all()
    assert probe.weight.shape == (3, 6) and not probe.weight.requires_grad
    again = fit_linear_probe(x, y)
    assert torch.equal(probe.weight, again.weight)  # zero start, full batch: no randomness
    with torch.inference_mode():  # features made without autograd (e.g. RobustDistill.embed)
        frozen = x.clone()
    assert torch.equal(fit_linear_probe(frozen, y).weight, probe.weight)
    assert fit_linear_probe(x, y, num_classes=5).out_features == 5


def test_linear_probe_penalty_shrinks_the_weights():
    g = gen(4)
    x, y = torch.randn(40, 4, generator=g), torch.arange(40) % 2
    loose, tight = fit_linear_probe(x, y, l2=0.0), fit_linear_probe(x, y, l2=1.0)
    assert tight.weight.norm() < loose.weight.norm()


def test_linear_probe_bad_input():
    with pytest.raises(ShapeError, match="labels must have shape"):
        fit_linear_probe(torch.randn(4, 2), torch.tensor([0, 1]))
    with pytest.raises(InvalidArgumentError, match="integer classes"):
        fit_linear_probe(torch.randn(2, 2), torch.tensor([0.0, 1.0]))
    with pytest.raises(InvalidArgumentError, match="num_classes is 2"):
        fit_linear_probe(torch.randn(2, 2), torch.tensor([0, 3]), num_classes=2)
