import pytest
import torch

from stylebias.errors import InvalidArgumentError, ShapeError
from stylebias.functional import (
    adversarial_style,
    dsu,
    efdmix,
    instance_stats,
    mixstyle,
    permuted_adain,
)
from tests.conftest import styled_batch
from tests.functional.reference import (
    adain_calc_mean_std,
    ref_advbn_feature,
    ref_dsu,
    ref_efdmix,
    ref_mixstyle,
    ref_permuted_adain,
)

B = 6
PERM = torch.tensor([3, 5, 0, 1, 2, 4])
LAM = torch.tensor([0.0, 0.13, 0.5, 0.77, 0.99, 1.0])
NOISE_MU = torch.randn(B, 5, generator=torch.Generator().manual_seed(7))
NOISE_SIGMA = torch.randn(B, 5, generator=torch.Generator().manual_seed(8))

# (ours, reference, extra args) -- each called as fn(x, *args)
CASES = {
    "permuted_adain": (permuted_adain, ref_permuted_adain, (PERM,)),
    "mixstyle": (mixstyle, ref_mixstyle, (PERM, LAM)),
    "efdmix": (efdmix, ref_efdmix, (PERM, LAM)),
    "dsu": (dsu, ref_dsu, (NOISE_MU, NOISE_SIGMA)),
}


def _forward_backward(fn, x, args, grad):
    x = x.detach().clone().requires_grad_()
    out = fn(x, *args)
    out.backward(grad)
    return out.detach(), x.grad


@pytest.mark.parametrize("name", CASES)
@pytest.mark.parametrize("memory_format", [torch.contiguous_format, torch.channels_last])
def test_equals_reference_forward_and_gradient(name, memory_format):
    ours, ref, args = CASES[name]
    x = styled_batch(B, 5, 7, 9).contiguous(memory_format=memory_format)
    grad = torch.randn(B, 5, 7, 9)
    out, gx = _forward_backward(ours, x, args, grad)
    ref_out, ref_gx = _forward_backward(ref, x.contiguous(), args, grad)
    torch.testing.assert_close(out, ref_out, rtol=1e-5, atol=2e-5)
    torch.testing.assert_close(gx, ref_gx, rtol=1e-4, atol=2e-5)


@pytest.mark.parametrize("name", CASES)
def test_gradient_matches_reference_autograd_in_float64(name):
    # The references detach some statistics, so finite differences (gradcheck) would see a
    # path they cut; their autograd graph in float64 is the exact expected gradient.
    ours, ref, args = CASES[name]
    args = tuple(a.double() if a.is_floating_point() else a for a in args)
    x = styled_batch(B, 5, 3, 4, dtype=torch.float64)
    grad = torch.randn(B, 5, 3, 4, dtype=torch.float64)
    out, gx = _forward_backward(ours, x, args, grad)
    ref_out, ref_gx = _forward_backward(ref, x, args, grad)
    torch.testing.assert_close(out, ref_out, rtol=1e-10, atol=1e-10)
    torch.testing.assert_close(gx, ref_gx, rtol=1e-9, atol=1e-10)


def test_gradcheck_dsu_and_adversarial_scales():
    x = styled_batch(B, 5, 3, 4, dtype=torch.float64).requires_grad_()
    noise = NOISE_MU.double(), NOISE_SIGMA.double()
    assert torch.autograd.gradcheck(lambda t: dsu(t, *noise), (x,))
    scales = torch.rand(2, 1, 5, 1, 1, dtype=torch.float64).requires_grad_()
    assert torch.autograd.gradcheck(lambda s: adversarial_style(x.detach(), s[0], s[1]), (scales,))


@pytest.mark.parametrize("name", CASES)
def test_keeps_dtype_and_channels_last(name):
    ours, _, args = CASES[name]
    x = styled_batch(B, 5, 7, 9).contiguous(memory_format=torch.channels_last)
    out = ours(x, *args)
    assert out.dtype == x.dtype and out.shape == x.shape
    assert out.is_contiguous(memory_format=torch.channels_last)


@pytest.mark.parametrize("name", CASES)
@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_half_precision_with_large_activations_is_finite_and_close(name, dtype):
    ours, ref, args = CASES[name]
    x32 = styled_batch(B, 5, 8, 8) * 500 + 3000  # squares overflow float16
    out = ours(x32.to(dtype), *args)
    assert out.dtype == dtype
    assert torch.isfinite(out).all()
    expected = ref(x32.to(dtype).float(), *args)
    torch.testing.assert_close(out.float(), expected, rtol=2e-2, atol=2e-2 * 500)


@pytest.mark.parametrize("name", CASES)
def test_constant_and_one_by_one_maps_are_finite(name):
    ours, _, args = CASES[name]
    constant = torch.full((B, 5, 4, 4), 3.0).requires_grad_()
    out = ours(constant, *args)
    out.sum().backward()
    assert torch.isfinite(out).all() and torch.isfinite(constant.grad).all()
    tiny = torch.randn(B, 5, 1, 1).requires_grad_()
    out = ours(tiny, *args)
    out.sum().backward()
    assert torch.isfinite(out).all() and torch.isfinite(tiny.grad).all()


def test_mixstyle_lambda_one_is_identity():
    x = styled_batch()
    torch.testing.assert_close(mixstyle(x, PERM, torch.ones(B)), x, rtol=1e-5, atol=1e-5)


def test_mixstyle_lambda_zero_gives_partner_statistics():
    x = styled_batch(dtype=torch.float64)
    out = mixstyle(x, PERM, torch.zeros(B, dtype=torch.float64), eps=1e-12)
    mu, sigma = adain_calc_mean_std(out, 0.0)
    ref_mu, ref_sigma = adain_calc_mean_std(x, 0.0)
    torch.testing.assert_close(mu, ref_mu[PERM])
    torch.testing.assert_close(sigma, ref_sigma[PERM])


def test_mixstyle_gradient_is_sigma_mix_over_sigma():
    x = styled_batch(dtype=torch.float64).requires_grad_()
    eps = 1e-6
    mixstyle(x, PERM, LAM.double(), eps).sum().backward()
    mu, sigma = instance_stats(x.detach(), eps)
    lam = LAM.double().view(B, 1, 1, 1)
    sigma_mix = lam * sigma + (1 - lam) * sigma[PERM]
    expected = (sigma_mix / sigma).expand_as(x)
    torch.testing.assert_close(x.grad, expected)


def test_efdm_sorted_output_equals_sorted_style():
    x = styled_batch(B, 5, 6, 6)
    out = efdmix(x, PERM, torch.zeros(B))
    assert torch.equal(out.flatten(2).sort(-1).values, x[PERM].flatten(2).sort(-1).values)
    # ... and keeps the rank order of the content
    assert torch.equal(out.flatten(2).argsort(-1), x.flatten(2).argsort(-1))


def test_efdmix_lambda_one_is_identity():
    x = styled_batch()
    torch.testing.assert_close(efdmix(x, PERM, torch.ones(B)), x)


def test_efdmix_gradient_is_straight_through_plus_style_path():
    x = styled_batch(B, 5, 3, 3).requires_grad_()
    lam = torch.full((B,), 0.25)
    efdmix(x, PERM, lam).sum().backward()
    # d/dx_i of sum(out): 1 (straight-through) + (1 - lam_j) for every j that uses i as style
    uses = torch.zeros(B)
    uses.index_add_(0, PERM, 1 - lam)
    torch.testing.assert_close(x.grad, (1 + uses).view(B, 1, 1, 1).expand_as(x))


def test_permuted_adain_takes_partner_statistics():
    x = styled_batch(dtype=torch.float64)
    out = permuted_adain(x, PERM, eps=1e-12)
    mu, sigma = adain_calc_mean_std(out, 0.0)
    ref_mu, ref_sigma = adain_calc_mean_std(x, 0.0)
    torch.testing.assert_close(mu, ref_mu[PERM])
    torch.testing.assert_close(sigma, ref_sigma[PERM])


def test_dsu_without_noise_is_identity_and_batch_of_one_is_finite():
    x = styled_batch()
    zeros = torch.zeros(B, 5)
    torch.testing.assert_close(dsu(x, zeros, zeros), x, rtol=1e-5, atol=1e-5)
    single = dsu(x[:1], torch.randn(1, 5), torch.randn(1, 5))
    assert torch.isfinite(single).all()


@pytest.mark.parametrize("per_instance", [False, True])
def test_adversarial_style_equals_advbn_and_is_identity_at_ones(per_instance):
    x = styled_batch()
    n = B if per_instance else 1
    ones = torch.ones(n, 5, 1, 1)
    torch.testing.assert_close(adversarial_style(x, ones, ones, per_instance), x, rtol=1e-5, atol=1e-5)
    if not per_instance:
        m = (torch.rand(1, 5, 1, 1) * 2).requires_grad_()
        s = (torch.rand(1, 5, 1, 1) * 2).requires_grad_()
        out = adversarial_style(x, m, s)
        m2, s2 = m.detach().clone().requires_grad_(), s.detach().clone().requires_grad_()
        ref = ref_advbn_feature(x, m2, s2)
        torch.testing.assert_close(out, ref, rtol=1e-5, atol=1e-5)
        grad = torch.randn_like(out)
        out.backward(grad)
        ref.backward(grad)
        torch.testing.assert_close(m.grad, m2.grad, rtol=1e-4, atol=1e-4)
        torch.testing.assert_close(s.grad, s2.grad, rtol=1e-4, atol=1e-4)


def test_bad_perm_and_lam_are_reported():
    x = styled_batch()
    with pytest.raises(ShapeError, match=r"perm must be an integer tensor of shape \(6,\)"):
        mixstyle(x, torch.arange(5), LAM)
    with pytest.raises(ShapeError, match="perm"):
        permuted_adain(x, PERM.float())
    with pytest.raises(ShapeError, match="lam must be a float tensor with 6"):
        efdmix(x, PERM, torch.ones(3))
    with pytest.raises(ShapeError, match=r"noise_mu must have shape \(6, 5\)"):
        dsu(x, torch.zeros(6, 4), torch.zeros(6, 5))
    with pytest.raises(ShapeError, match="mean_scale"):
        adversarial_style(x, torch.ones(1, 4, 1, 1), torch.ones(1, 5, 1, 1))


def test_eps_zero_is_refused_by_every_op_that_divides_by_sigma():
    x = torch.zeros(B, 3, 4, 4)  # all-zero channels: eps = 0 would give 0 / 0 = NaN
    noise = torch.zeros(B, 3, 1, 1)
    for call in (lambda: mixstyle(x, PERM, LAM, eps=0.0), lambda: permuted_adain(x, PERM, eps=0.0),
                 lambda: dsu(x, noise, noise, eps=0.0)):
        with pytest.raises(InvalidArgumentError, match="eps must be > 0, got 0.0"):
            call()
