import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from stylebias.augment import RandConv, consistency_loss, randconv, randconv_with, sample_randconv
from stylebias.augment.randconv import random_conv_weight
from stylebias.errors import InvalidArgumentError, ShapeError

MEAN, STD = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]


def images(b=4, size=10, seed=0):
    return torch.rand(b, 3, size, size, generator=torch.Generator().manual_seed(seed))


def reference_module_forward(x_whitened, weight, alpha, range_low=None, range_up=None):
    """wildphoton/RandConv's RandConvModule.forward re-expressed: a bias-free Conv2d with padding
    k // 2 on the whitened input, ``alpha * output + (1 - alpha) * input``, optional clamp."""
    k = weight.shape[-1]
    conv = nn.Conv2d(3, 3, k, padding=k // 2, bias=False)
    with torch.no_grad():
        conv.weight.copy_(weight)
        out = conv(x_whitened)
    if alpha is not None:
        out = alpha * out + (1 - alpha) * x_whitened
    if range_low is not None:
        out = torch.max(torch.min(out, range_up), range_low)
    return out


@pytest.mark.parametrize("k", [1, 3, 5, 7])
def test_filter_on_raw_images_equals_conv2d_with_the_same_weights(k):
    x, w = images(), torch.randn(3, 3, k, k)
    torch.testing.assert_close(randconv_with(x, w), F.conv2d(x, w, padding=k // 2))
    out = randconv_with(x, w, 0.3)
    assert out.shape == x.shape and out.dtype == x.dtype
    torch.testing.assert_close(out, 0.3 * F.conv2d(x, w, padding=k // 2) + 0.7 * x)


def test_one_pixel_by_hand():
    x, w = images(b=1, size=5), torch.randn(3, 3, 3, 3)
    out = randconv_with(x, w)
    # interior pixel (2, 2): sum over input channels and the 3x3 window
    want = [sum(float(w[o, c, i, j] * x[0, c, 1 + i, 1 + j]) for c in range(3) for i in range(3) for j in range(3))
            for o in range(3)]
    torch.testing.assert_close(out[0, :, 2, 2], torch.tensor(want))
    # corner (0, 0): zero padding drops the window's first row and column
    want = [sum(float(w[o, c, i, j] * x[0, c, i - 1, j - 1]) for c in range(3) for i in (1, 2) for j in (1, 2))
            for o in range(3)]
    torch.testing.assert_close(out[0, :, 0, 0], torch.tensor(want))


@pytest.mark.parametrize("alpha", [None, 0.25])
@pytest.mark.parametrize("clamp", [False, True])
def test_normalised_filtering_matches_the_reference_module(alpha, clamp):
    x, w = images(), torch.randn(3, 3, 5, 5) * 0.3
    m, s = torch.tensor(MEAN).reshape(3, 1, 1), torch.tensor(STD).reshape(3, 1, 1)
    low, up = ((0 - m) / s, (1 - m) / s) if clamp else (None, None)
    want = reference_module_forward((x - m) / s, w, alpha, low, up)
    got = randconv_with(x, w, alpha, mean=MEAN, std=STD, clamp=clamp)
    torch.testing.assert_close((got - m) / s, want, rtol=1e-5, atol=1e-5)  # ours is back on the [0, 1] scale
    if clamp:
        assert got.min() >= 0 and got.max() <= 1
    else:
        assert got.min() < 0 or got.max() > 1  # unbounded, as the reference without --clamp_output


def test_identity_filter_and_no_weight_leave_images_unchanged():
    x = images()
    identity = torch.zeros(3, 3, 3, 3)
    identity[[0, 1, 2], [0, 1, 2], 1, 1] = 1.0
    torch.testing.assert_close(randconv_with(x, identity, 0.6, mean=MEAN, std=STD), x)
    assert randconv_with(x, None, 0.6) is x


def test_weights_follow_kaiming_normal_fan_in():
    g = torch.Generator().manual_seed(1)
    for k in (1, 7):
        w = torch.stack([random_conv_weight(k, generator=g) for _ in range(400)])
        assert w.shape == (400, 3, 3, k, k)
        std = 1 / math.sqrt(3 * k * k)  # torch.nn.init.kaiming_normal_(w, nonlinearity="conv2d")
        assert abs(w.std().item() / std - 1) < 0.05 and abs(w.mean().item()) < 0.05 * std


def test_kernel_sizes_are_drawn_uniformly_from_the_list():
    g, x = torch.Generator().manual_seed(2), images(b=1, size=8)
    sizes = [sample_randconv(x, (1, 3, 5, 7), generator=g).weight.shape[-1] for _ in range(800)]
    counts = [sizes.count(k) for k in (1, 3, 5, 7)]
    assert sum(counts) == 800  # nothing outside the list
    chi2 = sum((c - 200) ** 2 / 200 for c in counts)
    assert chi2 < 16.3  # 99.9% quantile of chi-square with 3 degrees of freedom
    assert {sample_randconv(x, (3,), generator=g).weight.shape[-1] for _ in range(5)} == {3}


def test_probability_and_mixing_weight_draws():
    g, x = torch.Generator().manual_seed(3), images(b=1, size=8)
    draws = [sample_randconv(x, mixing=True, p=0.3, generator=g) for _ in range(1000)]
    filtered = [d for d in draws if d.weight is not None]
    assert abs(len(filtered) / 1000 - 0.3) < 0.05
    assert all(d.alpha is None for d in draws if d.weight is None)
    alphas = torch.tensor([d.alpha for d in filtered])
    assert alphas.min() >= 0 and alphas.max() <= 1 and abs(alphas.mean().item() - 0.5) < 0.05
    state = g.get_state()
    assert sample_randconv(x, p=0.0, generator=g).weight is None
    assert torch.equal(g.get_state(), state)  # p = 0 draws nothing
    assert sample_randconv(x, mixing=False, generator=g).alpha is None


def test_the_generator_decides_everything():
    x = images()
    a = randconv(x, mixing=True, p=0.5, generator=torch.Generator().manual_seed(5))
    torch.manual_seed(123)  # the global RNG plays no part
    b = randconv(x, mixing=True, p=0.5, generator=torch.Generator().manual_seed(5))
    torch.testing.assert_close(a, b, rtol=0, atol=0)
    outs = [randconv(x, generator=torch.Generator().manual_seed(s)) for s in range(4)]
    assert not all(torch.equal(outs[0], o) for o in outs[1:])


def test_module_equals_function_and_passes_through_in_eval():
    x = images()
    layer = RandConv(mixing=True, mean=MEAN, std=STD, generator=torch.Generator().manual_seed(0))
    params = layer.sample_params(x)
    torch.testing.assert_close(layer(x, params), randconv_with(x, params.weight, params.alpha, mean=MEAN, std=STD))
    seeded = randconv(x, mixing=True, mean=MEAN, std=STD, generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(RandConv(mixing=True, mean=MEAN, std=STD, generator=torch.Generator().manual_seed(0))(x), seeded)
    assert layer.eval()(x) is x


def test_gradient_flows_to_the_images():
    x = images(b=1, size=4).double().requires_grad_()
    w = torch.randn(3, 3, 3, 3, dtype=torch.float64)
    assert torch.autograd.gradcheck(lambda t: randconv_with(t, w, 0.4, mean=MEAN, std=STD), (x,))


def test_bad_arguments_name_the_problem():
    x = images()
    with pytest.raises(InvalidArgumentError, match="odd"):
        randconv(x, (1, 2))
    with pytest.raises(InvalidArgumentError, match="non-empty list"):
        randconv(x, ())
    with pytest.raises(InvalidArgumentError, match=r"probability in \[0, 1\]"):
        randconv(x, p=1.5)
    with pytest.raises(ShapeError, match=r"\(3, 3, k, k\) with odd k"):
        randconv_with(x, torch.randn(3, 3, 4, 4))
    with pytest.raises(ShapeError, match=r"images must have shape \(B, C, H, W\)"):
        randconv_with(x[0], torch.randn(3, 3, 3, 3))
    with pytest.raises(InvalidArgumentError, match="both mean and std"):
        randconv_with(x, torch.randn(3, 3, 3, 3), mean=MEAN)


def _kl(p, q):
    return sum(pi * math.log(pi / qi) for pi, qi in zip(p, q) if pi > 0)


def test_consistency_loss_on_known_logits():
    # two samples, three views, three classes; softmax and KL by hand in plain Python
    logits = [torch.tensor([[2.0, 0.0, -1.0], [0.5, 0.5, 0.5]]),
              torch.tensor([[0.0, 1.0, 0.0], [3.0, -2.0, 0.0]]),
              torch.tensor([[1.0, 1.0, 1.0], [0.0, 0.0, 4.0]])]

    def softmax(row):
        e = [math.exp(v) for v in row]
        return [v / sum(e) for v in e]

    want = 0.0
    for b in range(2):
        ps = [softmax(v[b].tolist()) for v in logits]
        mix = [sum(p[k] for p in ps) / 3 for k in range(3)]
        want += sum(_kl(p, mix) for p in ps) / 3 / 2  # mean over views, batchmean over samples
    assert consistency_loss(logits).item() == pytest.approx(want, rel=1e-5)
    same = [logits[0]] * 3
    assert consistency_loss(same).item() == pytest.approx(0.0, abs=1e-6)
    with pytest.raises(InvalidArgumentError, match="at least 2 views"):
        consistency_loss(logits[:1])
    with pytest.raises(ShapeError, match="same shape"):
        consistency_loss([logits[0], logits[1][:1]])


def test_consistency_loss_clamps_the_mixture_like_the_reference():
    # a class every view gives probability ~0: the reference clamps the mixture at 1e-7 before
    # the log, so the loss stays finite and equals the unclamped value (the KL ignores p = 0)
    logits = [torch.tensor([[0.0, -200.0]]), torch.tensor([[1.0, -200.0]])]
    assert torch.isfinite(consistency_loss(logits)) and consistency_loss(logits).item() == pytest.approx(0.0, abs=1e-6)
