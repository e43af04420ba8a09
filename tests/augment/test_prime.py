"""PRIME's primitives against the reference re-expressed on the same noise, its invariants and mixing."""

import math

import pytest
import torch

from stylebias.augment import prime as P
from stylebias.augment.augmix import mix_chains
from stylebias.errors import InvalidArgumentError, ShapeError
from tests.corruptions.conftest import photo_like


# --- the reference (amodas/PRIME-augmentations utils/), one image at a time, on given noise -------

def ref_random_filter(img, kernel):
    """rand_filter.py RandomFilter.forward on one image (C, H, W) with its conv_weight (k, k)."""
    c_b = img.unsqueeze(1)  # "b c h w -> c b h w" for b = 1
    out = torch.nn.functional.conv2d(c_b, kernel.view(1, 1, *kernel.shape), padding="same", groups=1)
    return torch.clamp(out.squeeze(1), 0.0, 1.0)


def ref_scalar_field(n, m, c):
    """diffeomorphism.py scalar_field with its randn(m, m) replaced by ``c``."""
    x = torch.linspace(0, 1, n, dtype=torch.float64)
    k = torch.arange(1, m + 1, dtype=torch.float64)
    i, j = torch.meshgrid(k, k, indexing="ij")
    r = (i.pow(2) + j.pow(2)).sqrt()
    e = (r < m + 0.5) / r
    s = torch.sin(math.pi * x[:, None] * k[None, :])
    return torch.einsum("ij,xi,yj->yx", c * e, s, s)


def ref_remap(a, dx, dy):
    """diffeomorphism.py remap, interp='linear'."""
    n, m = a.shape[-2:]
    y, x = torch.meshgrid(torch.arange(n, dtype=dx.dtype), torch.arange(m, dtype=dx.dtype), indexing="ij")
    xn = (x - dx).clamp(0, m - 1)
    yn = (y - dy).clamp(0, n - 1)
    xf, yf, xc, yc = xn.floor().long(), yn.floor().long(), xn.ceil().long(), yn.ceil().long()
    xv, yv = xn - xf, yn - yf
    return ((1 - yv) * (1 - xv) * a[..., yf, xf] + (1 - yv) * xv * a[..., yf, xc]
            + yv * (1 - xv) * a[..., yc, xf] + yv * xv * a[..., yc, xc])


def ref_deform(img, T, cut, cu, cv):
    n = img.shape[-1]
    u, v = ref_scalar_field(n, cut, cu), ref_scalar_field(n, cut, cv)
    return ref_remap(img.double(), T**0.5 * u * n, T**0.5 * v * n)


def ref_smooth_color(img, cut, T, coeff_noise, min_k=None, bandwidth=None):
    """color_jitter.py random_smooth_color on one image, its randn coefficients given."""
    c, h, w = img.shape
    colors = img.reshape(1, c, h * w)
    if bandwidth is not None:
        k = torch.arange(min_k, min(min_k + bandwidth, cut + 1))
    else:
        k = torch.arange(1, cut + 1)
    coeff = coeff_noise[None] * torch.sqrt(torch.tensor(T))
    freqs = torch.sin(colors[..., None] * k[None, None, None, :] * math.pi)
    out = torch.einsum("bcf,bcnf->bcn", coeff, freqs) + colors
    return torch.clamp(out, 0, 1).reshape(c, h, w)


def ref_temperature_range(n, cut):
    cut = cut + 1e-6
    log = math.log(cut)
    return 1 / (math.pi * n**2 * log), 4 / (math.pi**3 * cut**2 * log)


@pytest.fixture(scope="module")
def images():
    return photo_like(4, 24, seed=3)


def test_random_filter_matches_the_reference_convolution(images):
    g = torch.Generator().manual_seed(0)
    noise, sigma = torch.randn(4, 3, 3, generator=g), torch.tensor([0.3, 1.0, 2.5, 4.0])
    kernels = P.filter_kernels_with(noise, sigma)
    out = P.random_filter_with(images, kernels)
    for b in range(4):
        delta = torch.zeros(3, 3)
        delta[1, 1] = 1.0  # the centre; the reference's ceil(3 / 2) = 2 is off-centre (module docstring)
        torch.testing.assert_close(kernels[b], sigma[b] * noise[b] + delta)
        torch.testing.assert_close(out[b], ref_random_filter(images[b], kernels[b]), atol=1e-6, rtol=0)


def test_diffeo_matches_the_reference_field_and_remap(images):
    g = torch.Generator().manual_seed(1)
    cut = torch.tensor([2, 5, 11, 30])
    temperature = torch.tensor([ref_temperature_range(24, int(c))[1] for c in cut], dtype=torch.float64) * 0.9
    noise_u, noise_v = torch.randn(4, 31, 31, generator=g), torch.randn(4, 31, 31, generator=g)
    out = P.diffeo_with(images, noise_u, noise_v, cut, temperature)
    for b in range(4):
        c = int(cut[b])
        expected = ref_deform(images[b], temperature[b].item(), c, noise_u[b, :c, :c].double(), noise_v[b, :c, :c].double())
        torch.testing.assert_close(out[b].double(), expected, atol=1e-6, rtol=0)
    assert (out - images).abs().mean() > 1e-3  # it moved something


def test_temperature_range_and_diffeo_draws_follow_the_reference():
    cuts = torch.tensor([2.0, 7.0, 100.0])
    t1, t2 = P.temperature_range(32, cuts)
    for i, c in enumerate(cuts.tolist()):
        assert (t1[i].item(), t2[i].item()) == pytest.approx(ref_temperature_range(32, c), rel=1e-12)
    s = P.PrimeSettings(diffeo_cut_min=2, diffeo_cut_max=20)
    p = P.sample_diffeo(4000, 32, s, torch.Generator().manual_seed(2))
    assert p["cut"].min() >= 2 and p["cut"].max() <= 21 and p["noise_u"].shape == (4000, 21, 21)
    lo, hi = P.temperature_range(32, p["cut"])
    assert (p["temperature"] >= lo - 1e-15).all() and (p["temperature"] <= torch.maximum(lo, hi) + 1e-15).all()
    # cut = int(Beta(1/2, 1/2) * (cut_max + 1 - 2) + 2), cut_max uniform in 3..20: mass piles at both ends
    assert (p["cut"] == 2).float().mean() > 0.1 and len(p["cut"].unique()) > 15


@pytest.mark.parametrize("bandwidth", [0, 4])
def test_smooth_color_matches_the_reference(images, bandwidth):
    g = torch.Generator().manual_seed(3)
    cut, temperature, min_k = torch.tensor([1, 6, 40, 100]), torch.tensor([0.01, 0.004, 0.01, 0.0077]), torch.tensor([1, 3, 37, 99])
    noise = torch.randn(4, 3, 100, generator=g)
    out = P.smooth_color_with(images, noise, cut, temperature, min_k, bandwidth)
    for b in range(4):
        c, lo = int(cut[b]), int(min_k[b])
        if bandwidth:
            count = len(range(lo, min(lo + bandwidth, c + 1)))
            ref = ref_smooth_color(images[b], c, temperature[b].item(), noise[b, :, lo - 1:lo - 1 + count], lo, bandwidth)
        else:
            ref = ref_smooth_color(images[b], c, temperature[b].item(), noise[b, :, :c])
        torch.testing.assert_close(out[b], ref, atol=2e-5, rtol=0)


def test_every_primitive_is_the_identity_at_zero_strength(images):
    n = images.shape[0]
    zero = torch.zeros(n)
    torch.testing.assert_close(P.random_filter_with(images, P.filter_kernels_with(torch.randn(n, 3, 3), zero)), images)
    noise = torch.randn(n, 10, 10)
    assert torch.equal(P.diffeo_with(images, noise, noise, torch.full((n,), 9), zero.double()), images)
    torch.testing.assert_close(P.smooth_color_with(images, torch.randn(n, 3, 50), torch.full((n,), 50), zero), images)


@pytest.mark.parametrize("name", P.PRIMITIVES)
def test_primitives_stay_in_range_and_treat_each_image_on_its_own(images, name):
    s = P.PrimeSettings()
    out = P.apply_primitive(name, images, s, torch.Generator().manual_seed(4))
    assert out.shape == images.shape and out.dtype == images.dtype and 0 <= out.min() and out.max() <= 1
    # another image's content does not change image 0's result (same draws: same seed, same batch size)
    other = images.clone()
    other[1:] = photo_like(3, 24, seed=9)
    again = P.apply_primitive(name, other, s, torch.Generator().manual_seed(4))
    torch.testing.assert_close(again[0], out[0])
    # two copies of one image get different parameters
    twins = P.apply_primitive(name, images[:1].expand(2, -1, -1, -1).contiguous(), s, torch.Generator().manual_seed(5))
    assert (twins[0] - twins[1]).abs().max() > 1e-3


def test_mixing_runs_each_chain_then_mixes_with_the_drawn_weights(images):
    """Fed draws and stand-in primitives (spatial: +0.1, color: x^2, spectral: 1 - x) against
    the chains composed by hand, mixed by the AugMix formula."""
    x = images[:2]
    draws = P.PrimeDraws(
        weights=torch.tensor([[0.2, 0.3, 0.5], [0.6, 0.4, 0.0]]), mix=torch.tensor([0.8, 0.25]),
        depths=torch.tensor([[1, 3], [2, 1], [3, 2]]),
        primitives=torch.tensor([[[0, 1], [2, 2], [1, 0]], [[2, 2], [0, 1], [1, 1]], [[1, 0], [2, 2], [2, 0]]]),
    )
    fns = [lambda t: t + 0.1, lambda t: t * t, lambda t: 1 - t]
    out = mix_chains(x, P.prime_chains_with(x, draws, lambda i, t: fns[i](t)), draws.weights, draws.mix)
    for b in range(2):
        chains = []
        for i in range(3):
            t = x[b]
            for step in range(int(draws.depths[i, b])):
                t = fns[int(draws.primitives[step, i, b])](t)
            chains.append(t)
        w, m = draws.weights[b], draws.mix[b]
        expected = (1 - m) * x[b] + m * (w[0] * chains[0] + w[1] * chains[1] + w[2] * chains[2])
        torch.testing.assert_close(out[b], expected)


def test_augment_prime_is_seeded_in_range_and_draws_as_the_reference():
    x = photo_like(3, 16, seed=1)
    a = P.augment_prime(x, generator=torch.Generator().manual_seed(0))
    assert torch.equal(a, P.augment_prime(x, generator=torch.Generator().manual_seed(0)))
    assert not torch.equal(a, P.augment_prime(x, generator=torch.Generator().manual_seed(1)))
    assert a.shape == x.shape and 0 <= a.min() and a.max() <= 1
    d = P.sample_prime(3000, generator=torch.Generator().manual_seed(0))
    assert set(d.depths.unique().tolist()) == {1, 2, 3} and set(d.primitives.unique().tolist()) == {0, 1, 2}
    torch.testing.assert_close(d.weights.sum(1), torch.ones(3000))


def test_bad_settings_and_inputs_are_clear_errors():
    with pytest.raises(InvalidArgumentError, match="filter_size must be an odd integer"):
        P.PrimeSettings(filter_size=4).check()
    with pytest.raises(InvalidArgumentError, match="diffeo_cut_min < diffeo_cut_max"):
        P.PrimeSettings(diffeo_cut_min=5, diffeo_cut_max=5).check()
    with pytest.raises(ShapeError, match="at least 2 x 2"):
        P.augment_prime(torch.rand(1, 3, 1, 8))
    with pytest.raises(InvalidArgumentError, match="unknown PRIME primitive 'blur'"):
        P.apply_primitive("blur", torch.rand(1, 3, 4, 4), P.PrimeSettings())
