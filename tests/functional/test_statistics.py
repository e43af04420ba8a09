import pytest
import torch

from stylebias.errors import InvalidArgumentError, ShapeError
from stylebias.functional import adain, instance_stats
from tests.conftest import styled_batch
from tests.functional.reference import adain_calc_mean_std, ref_adain


def test_instance_stats_hand_computed():
    x = torch.tensor([1.0, 2.0, 3.0, 6.0]).view(1, 1, 2, 2)
    mu, sigma = instance_stats(x, eps=1e-12)
    assert mu.shape == (1, 1, 1, 1)
    assert mu.item() == pytest.approx(3.0)
    # unbiased variance: ((-2)^2 + (-1)^2 + 0 + 3^2) / 3 = 14 / 3
    assert sigma.item() == pytest.approx((14 / 3) ** 0.5)
    _, sigma_biased = instance_stats(x, eps=1e-12, unbiased=False)
    assert sigma_biased.item() == pytest.approx((14 / 4) ** 0.5)


def test_instance_stats_match_adain_reference():
    x = styled_batch()
    mu, sigma = instance_stats(x, eps=1e-5)
    ref_mu, ref_sigma = adain_calc_mean_std(x, 1e-5)
    torch.testing.assert_close(mu, ref_mu)
    torch.testing.assert_close(sigma, ref_sigma)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_instance_stats_are_float32_for_half_input_with_large_activations(dtype):
    x = (torch.randn(2, 3, 16, 16) * 3000 + 20000).to(dtype)  # var ~ 1e7 overflows float16
    mu, sigma = instance_stats(x)
    assert mu.dtype == sigma.dtype == torch.float32
    assert torch.isfinite(sigma).all()
    ref_mu, ref_sigma = adain_calc_mean_std(x.float())
    torch.testing.assert_close(sigma, ref_sigma, rtol=1e-4, atol=1e-3)


def test_instance_stats_under_autocast_stay_float32():
    x = torch.randn(2, 3, 8, 8) * 1000
    with torch.autocast("cpu", dtype=torch.bfloat16):
        mu, sigma = instance_stats(x)
    assert sigma.dtype == torch.float32
    torch.testing.assert_close(sigma, adain_calc_mean_std(x)[1])


def test_instance_stats_one_by_one_map_is_finite():
    mu, sigma = instance_stats(torch.randn(3, 4, 1, 1), eps=1e-5)
    assert torch.isfinite(sigma).all()
    torch.testing.assert_close(sigma, torch.full_like(sigma, 1e-5**0.5))


def test_instance_stats_rejects_wrong_rank():
    with pytest.raises(ShapeError, match=r"\(B, C, H, W\).*3-D"):
        instance_stats(torch.randn(3, 4, 5))
    with pytest.raises(TypeError, match="torch.Tensor"):
        instance_stats([[1.0]])


def test_adain_equals_reference_forward_and_backward():
    content = styled_batch(4, 3, 8, 6, seed=1).requires_grad_()
    style = styled_batch(4, 3, 5, 11, seed=2).requires_grad_()
    out = adain(content, style)
    c2, s2 = content.detach().clone().requires_grad_(), style.detach().clone().requires_grad_()
    ref = ref_adain(c2, s2)
    torch.testing.assert_close(out, ref)
    g = torch.randn_like(out)
    out.backward(g)
    ref.backward(g)
    torch.testing.assert_close(content.grad, c2.grad)
    torch.testing.assert_close(style.grad, s2.grad)


def test_adain_output_carries_style_statistics():
    content = styled_batch(3, 4, 16, 16, seed=3, dtype=torch.float64)
    style = styled_batch(3, 4, 9, 7, seed=4, dtype=torch.float64)
    out = adain(content, style, eps=1e-12)
    out_mu, out_sigma = adain_calc_mean_std(out, 0.0)
    style_mu, style_sigma = adain_calc_mean_std(style, 0.0)
    torch.testing.assert_close(out_mu, style_mu)
    torch.testing.assert_close(out_sigma, style_sigma)


def test_adain_broadcasts_one_style_over_the_batch():
    content = styled_batch(3, 2, 8, 8)
    style = styled_batch(1, 2, 8, 8, seed=5)
    out = adain(content, style)
    torch.testing.assert_close(out, adain(content, style.expand(3, -1, -1, -1)))


def test_adain_rejects_channel_mismatch():
    with pytest.raises(ShapeError, match="channels"):
        adain(torch.randn(2, 3, 4, 4), torch.randn(2, 4, 4, 4))


def test_instance_stats_accurate_for_rows_with_large_offsets():
    # rows with mean >> std take the Welford fallback; the others the fast sum-of-squares path
    x = torch.randn(2, 6, 20, 20, dtype=torch.float64)
    x[:, :3] = x[:, :3] * 0.01 + 3000.0
    x[0, 4] = 7.0  # a constant map
    eps = 1e-12
    mu, sigma = instance_stats(x.float(), eps=eps)
    ref_var, ref_mu = torch.var_mean(x.float().double(), dim=(2, 3), keepdim=True)
    torch.testing.assert_close(mu.double(), ref_mu, rtol=1e-6, atol=1e-5)
    torch.testing.assert_close(sigma.double(), (ref_var + eps).sqrt(), rtol=1e-4, atol=1e-6)
    assert sigma[0, 4].item() == pytest.approx(eps**0.5)  # exactly zero variance


def test_instance_stats_gradients():
    x = styled_batch(3, 4, 5, 6, dtype=torch.float64)
    x[0, 0] = 0.0  # a dead channel must not give NaN gradients
    x.requires_grad_()
    assert torch.autograd.gradcheck(lambda t: instance_stats(t, eps=1e-5), (x,))


@pytest.mark.parametrize(("offset", "spread"), [(0.0, 1e19), (1e20, 1e18)])
def test_instance_stats_finite_where_float32_sum_of_squares_overflows(offset, spread):
    # sum(x^2) over 400 values near 1e19 exceeds float32's 3.4e38; var_mean stays finite
    g = torch.Generator().manual_seed(0)
    x = (torch.randn(2, 3, 20, 20, generator=g, dtype=torch.float64) * spread + offset).float()
    mu, sigma = instance_stats(x)
    assert torch.isfinite(mu).all() and torch.isfinite(sigma).all()
    ref_var, ref_mu = torch.var_mean(x.double(), dim=(2, 3), keepdim=True)
    torch.testing.assert_close(mu.double(), ref_mu, rtol=1e-5, atol=0.0)
    torch.testing.assert_close(sigma.double(), ref_var.sqrt(), rtol=1e-4, atol=0.0)


def test_eps_must_be_positive():
    x = torch.zeros(2, 3, 4, 4)  # all-zero channels: eps = 0 would give 0 / 0 = NaN
    for eps in (0, 0.0, -1e-5, float("nan")):
        with pytest.raises(InvalidArgumentError, match="eps must be > 0"):
            instance_stats(x, eps=eps)
        with pytest.raises(InvalidArgumentError, match="eps must be > 0"):
            adain(x, x, eps=eps)
