"""AdaINStylizer against the reference semantics of naoto0804/pytorch-AdaIN (re-expressed here)."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from stylebias.errors import InvalidArgumentError, ShapeError
from stylebias.functional import efdm
from stylebias.stylize import coral
from stylebias.stylize.network import build_decoder, build_vgg


# ---- reference semantics (function.py / test.py), written out for comparison ---------------
def ref_mean_std(feat, eps=1e-5):
    n, c = feat.shape[:2]
    var = feat.view(n, c, -1).var(dim=2) + eps
    return feat.view(n, c, -1).mean(dim=2).view(n, c, 1, 1), var.sqrt().view(n, c, 1, 1)


def ref_adain(content_f, style_f):
    s_mean, s_std = ref_mean_std(style_f)
    c_mean, c_std = ref_mean_std(content_f)
    return (content_f - c_mean) / c_std * s_std + s_mean


def ref_style_transfer(vgg, decoder, content, style, alpha=1.0, weights=None):
    content_f, style_f = vgg(content), vgg(style)
    if weights:
        base = ref_adain(content_f, style_f)
        feat = sum(w * base[i : i + 1] for i, w in enumerate(weights))
        content_f = content_f[0:1]
    else:
        feat = ref_adain(content_f, style_f)
    return decoder(feat * alpha + content_f * (1 - alpha))


def ref_coral(source, target):  # (3, H, W) each
    def flat_stats(f):
        flat = f.reshape(3, -1)
        return flat, flat.mean(-1, keepdim=True), flat.std(-1, keepdim=True)

    def sqrtm(x):
        u, d, v = torch.svd(x)
        return u @ d.pow(0.5).diag() @ v.t()

    s, s_mean, s_std = flat_stats(source)
    s_norm = (s - s_mean) / s_std
    s_cov = s_norm @ s_norm.t() + torch.eye(3)
    t, t_mean, t_std = flat_stats(target)
    t_norm = (t - t_mean) / t_std
    t_cov = t_norm @ t_norm.t() + torch.eye(3)
    out = sqrtm(t_cov) @ torch.inverse(sqrtm(s_cov)) @ s_norm
    return (out * t_std + t_mean).view(source.shape)


def ref_efdm(content_f, style_f):  # YBZh/EFDM, equal sizes only
    b, c, h, w = content_f.shape
    _, index_content = torch.sort(content_f.view(b, c, -1))
    value_style, _ = torch.sort(style_f.view(b, c, -1))
    inverse_index = index_content.argsort(-1)
    new = content_f.view(b, c, -1) + (value_style.gather(-1, inverse_index) - content_f.view(b, c, -1).detach())
    return new.view(b, c, h, w)


@pytest.fixture(scope="module")
def reference(weight_files):
    vgg, dec = build_vgg(), build_decoder()
    vgg.load_state_dict(torch.load(weight_files[0], weights_only=True))
    dec.load_state_dict(torch.load(weight_files[1], weights_only=True))
    return nn.Sequential(*list(vgg.children())[:31]).eval(), dec.eval()


def close(a, b, tol=1e-4):
    scale = b.abs().max().clamp_min(1)
    return (a - b).abs().max() / scale < tol


@torch.no_grad()
@pytest.mark.parametrize("alpha", [1.0, 0.6, 0.0])
def test_matches_reference_style_transfer(stylizer, reference, alpha):
    gen = torch.Generator().manual_seed(1)
    content, style = torch.rand(2, 3, 32, 40, generator=gen), torch.rand(2, 3, 48, 32, generator=gen)
    ours = stylizer(content, style, alpha, clamp=False)
    ref = ref_style_transfer(*reference, content, style, alpha)
    assert ours.shape == ref.shape == content.shape
    assert close(ours, ref)


@torch.no_grad()
def test_interpolation_weights_match_reference(stylizer, reference):
    gen = torch.Generator().manual_seed(2)
    styles = torch.rand(3, 3, 32, 32, generator=gen)
    content = torch.rand(1, 3, 32, 32, generator=gen)
    weights = [0.2, 0.5, 0.3]
    ours = stylizer(content, styles, 0.8, interpolation_weights=[2, 5, 3], clamp=False)
    ref = ref_style_transfer(*reference, content.expand(3, -1, -1, -1), styles, 0.8, weights)
    assert close(ours, ref)
    one_hot = stylizer(content, styles, interpolation_weights=[0, 1, 0], clamp=False)
    assert close(one_hot, stylizer(content, styles[1:2], clamp=False))


@torch.no_grad()
@pytest.mark.parametrize("size", [(1, 1), (3, 2), (5, 7), (17, 33), (30, 21)])
def test_output_has_content_size(stylizer, size):
    out = stylizer(torch.rand(2, 3, *size), torch.rand(1, 3, 9, 11))
    assert out.shape == (2, 3, *size)
    assert float(out.min()) >= 0 and float(out.max()) <= 1


@torch.no_grad()
def test_batched_equals_one_by_one_and_code_reuse(stylizer):
    gen = torch.Generator().manual_seed(3)
    content, style = torch.rand(3, 3, 24, 20, generator=gen), torch.rand(3, 3, 32, 32, generator=gen)
    batched = stylizer(content, style, 0.7, clamp=False)
    singles = torch.cat([stylizer(content[i : i + 1], style[i : i + 1], 0.7, clamp=False)
                         for i in range(3)])  # fmt: skip
    assert close(batched, singles)
    code = stylizer.encode_style(style)
    assert close(stylizer(content, code, 0.7, clamp=False), batched)
    # style batch of one broadcasts
    code0 = stylizer.encode_style(style[:1])
    assert close(stylizer(content, code0, clamp=False), stylizer(content, style[:1], clamp=False))
    # per-sample alpha
    per = stylizer(content, code, torch.tensor([0.0, 0.7, 1.0]), clamp=False)
    assert close(per[1], batched[1])


@torch.no_grad()
def test_stylize_many_is_batch_independent(stylizer):
    gen = torch.Generator().manual_seed(4)
    images = [torch.rand(3, 27, 30, generator=gen), torch.rand(3, 32, 25, generator=gen)]
    code = stylizer.encode_style(torch.rand(2, 3, 32, 32, generator=gen))
    outs = stylizer.stylize_many(images, code, 0.9)
    for i, img in enumerate(images):
        alone = stylizer(img[None], code[i], 0.9)[0]
        assert outs[i].shape == img.shape and close(outs[i], alone, 1e-3)
    with pytest.raises(ShapeError, match="padded size"):
        stylizer.stylize_many([torch.rand(3, 16, 16), torch.rand(3, 40, 16)], code)


@torch.no_grad()
def test_efdm_method(stylizer, reference):
    gen = torch.Generator().manual_seed(5)
    content, style = torch.rand(1, 3, 32, 32, generator=gen), torch.rand(1, 3, 32, 32, generator=gen)
    _, dec = reference
    # EFDM follows ranks, so float noise between conv algorithms (channels_last vs not) can
    # swap near-equal values: match on the stylizer's own relu4_1 features.
    with torch.no_grad():
        ref = dec(ref_efdm(stylizer.encode(content), stylizer.encode(style)))
        ours = stylizer(content, style, method="efdm", clamp=False)
    assert close(ours, ref)
    code = stylizer.encode_style(torch.rand(1, 3, 64, 48, generator=gen), method="efdm")
    assert stylizer(content, code, method="efdm").shape == content.shape
    with pytest.raises(InvalidArgumentError, match="efdm"):
        stylizer(content, stylizer.encode_style(style, "adain"), method="efdm")


def test_efdm_functional_any_sizes():
    gen = torch.Generator().manual_seed(6)
    c, s = torch.randn(2, 4, 5, 5, generator=gen), torch.randn(2, 4, 5, 5, generator=gen)
    assert torch.allclose(efdm(c, s), ref_efdm(c, s))
    # different sizes: the sorted output is the style's quantile function at n points
    s2 = torch.randn(1, 4, 7, 9, generator=gen)
    out = efdm(c, s2)
    q = torch.quantile(s2.flatten(2), torch.linspace(0, 1, 25), dim=-1).permute(1, 2, 0)
    assert torch.allclose(out.flatten(2).sort().values, q.expand(2, -1, -1), atol=1e-5)
    # the content's ranks are kept
    assert torch.equal(out.flatten(2).argsort(-1), c.flatten(2).argsort(-1))
    # gradients: identity into the content (straight-through), as the reference
    c.requires_grad_(True)
    efdm(c, s2).sum().backward()
    assert torch.equal(c.grad, torch.ones_like(c))


@torch.no_grad()
def test_coral_matches_reference_for_equal_sizes():
    gen = torch.Generator().manual_seed(7)
    src = torch.rand(2, 3, 16, 16, generator=gen)
    tgt = torch.rand(2, 3, 16, 16, generator=gen) * torch.tensor([0.3, 1.0, 0.6]).view(1, 3, 1, 1)
    ours = coral(src, tgt)
    for i in range(2):
        assert torch.allclose(ours[i], ref_coral(src[i], tgt[i]), atol=1e-4)
    # different sizes: the target's channel means and stds are matched
    big = coral(src, torch.rand(2, 3, 40, 40, generator=gen) * 0.5)
    assert big.shape == src.shape


@torch.no_grad()
def test_preserve_color_recolours_style(stylizer):
    gen = torch.Generator().manual_seed(8)
    content, style = torch.rand(2, 3, 16, 16, generator=gen), torch.rand(1, 3, 24, 24, generator=gen)
    out = stylizer(content, style, preserve_color=True)
    expect = stylizer(content, coral(style.expand(2, -1, -1, -1), content))
    assert close(out, expect, 1e-3)
    blend = stylizer(content, torch.rand(2, 3, 16, 16), interpolation_weights=[1, 1], preserve_color=True)
    assert blend.shape == content.shape
    with pytest.raises(InvalidArgumentError, match="preserve_color"):
        stylizer(content, stylizer.encode_style(style), preserve_color=True)


def test_bad_arguments(stylizer):
    content = torch.rand(2, 3, 16, 16)
    with pytest.raises(InvalidArgumentError, match="alpha"):
        stylizer(content, torch.rand(1, 3, 16, 16), alpha=1.5)
    with pytest.raises(ShapeError, match="one per content image"):
        stylizer(content, torch.rand(3, 3, 16, 16))
    with pytest.raises(ShapeError, match=r"\(B, 3, H, W\)"):
        stylizer(torch.rand(3, 16, 16), torch.rand(1, 3, 16, 16))
    with pytest.raises(InvalidArgumentError, match="interpolation_weights"):
        stylizer(content, torch.rand(2, 3, 16, 16), interpolation_weights=[1.0])
    with pytest.raises(InvalidArgumentError, match="method"):
        stylizer(content, torch.rand(1, 3, 16, 16), method="wct")
    with pytest.raises(TypeError, match="float"):
        stylizer(content.mul(255).byte(), torch.rand(1, 3, 16, 16))


@torch.no_grad()
def test_stylize_many_encodes_a_repeated_image_once(stylizer, monkeypatch):
    gen = torch.Generator().manual_seed(9)
    img = torch.rand(3, 16, 16, generator=gen)
    code = stylizer.encode_style(torch.rand(3, 3, 16, 16, generator=gen))
    seen = []
    original = stylizer.encoder.forward
    monkeypatch.setattr(stylizer.encoder, "forward", lambda x: seen.append(x.shape[0]) or original(x))
    outs = stylizer.stylize_many([img, img, img], code)
    assert seen == [1]
    monkeypatch.undo()
    for i in range(3):
        assert close(outs[i], stylizer(img[None], code[i])[0], 1e-3)
