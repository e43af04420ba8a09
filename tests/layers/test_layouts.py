"""Every style layer on token (B, N, C) and channels-last (B, H, W, C) features.

The expectation is the layer's (B, C, H, W) result on the same features laid out as a map:
tokens of an h x w patch grid are reshaped to that grid (not the N x 1 view the layers use),
channels-last maps are permuted; the randomness comes from equally seeded generators.
"""

import pytest
import torch

from stylebias.errors import InvalidArgumentError, ShapeError
from stylebias.layers import AdversarialStyle, create_style_layer, list_style_layers

ALL = list_style_layers()
RANDOM = [n for n in ALL if n != "adversarial_style"]
B, C, H, W = 4, 6, 3, 4


def layer(name, seed=0, **kw):
    return create_style_layer(name, p=1.0, generator=torch.Generator().manual_seed(seed), **kw).train()


def grid_batch(seed=0):
    """(B, C, H, W) maps with per-sample styles, so every layer changes them."""
    g = torch.Generator().manual_seed(seed)
    base = torch.randn(B, C, H, W, generator=g)
    return base * torch.rand(B, C, 1, 1, generator=g).add(0.5) * 2 + torch.randn(B, C, 1, 1, generator=g)


def as_tokens(maps, prefix):
    """(B, C, H, W) -> (B, prefix + H*W, C), row-major patch order, random prefix tokens."""
    tokens = maps.flatten(2).transpose(1, 2)
    extra = torch.randn(maps.shape[0], prefix, maps.shape[1], generator=torch.Generator().manual_seed(9))
    return torch.cat([extra, tokens], dim=1)


@pytest.mark.parametrize("name", RANDOM)
@pytest.mark.parametrize("prefix", [0, 1, 2])
def test_tokens_equal_the_map_result_on_the_patch_grid(name, prefix):
    maps = grid_batch()
    expected = layer(name)(maps)
    assert not torch.allclose(expected, maps)  # the layer fired
    tokens = as_tokens(maps, prefix)
    out = layer(name, layout="tokens", prefix_tokens=prefix)(tokens)
    assert out.shape == tokens.shape
    torch.testing.assert_close(out[:, prefix:], expected.flatten(2).transpose(1, 2))
    assert torch.equal(out[:, :prefix], tokens[:, :prefix])  # class/distillation tokens untouched


@pytest.mark.parametrize("name", RANDOM)
def test_channels_last_equals_the_map_result_on_the_permuted_tensor(name):
    maps = grid_batch()
    expected = layer(name)(maps)
    nhwc = maps.permute(0, 2, 3, 1).contiguous()
    out = layer(name, layout="nhwc")(nhwc)
    assert out.shape == nhwc.shape
    torch.testing.assert_close(out, expected.permute(0, 2, 3, 1))


@pytest.mark.parametrize("layout", ["tokens", "nhwc"])
def test_adversarial_style_applies_its_scales_in_every_layout(layout):
    maps = grid_batch()
    scales = {"mean_scale": torch.rand(1, C, 1, 1) + 0.5, "std_scale": torch.rand(1, C, 1, 1) + 0.5}
    expected = AdversarialStyle()(maps, scales)
    if layout == "tokens":
        out = AdversarialStyle(layout="tokens", prefix_tokens=1)(as_tokens(maps, 1), scales)
        torch.testing.assert_close(out[:, 1:], expected.flatten(2).transpose(1, 2))
    else:
        out = AdversarialStyle(layout="nhwc")(maps.permute(0, 2, 3, 1), scales)
        torch.testing.assert_close(out, expected.permute(0, 2, 3, 1))


@pytest.mark.parametrize("name", ALL)
@pytest.mark.parametrize("layout", ["tokens", "nhwc"])
def test_eval_mode_and_inactive_layers_return_the_input_itself(name, layout):
    x = torch.randn(B, 5, C) if layout == "tokens" else torch.randn(B, H, W, C)
    assert layer(name, layout=layout, prefix_tokens=1).eval()(x) is x
    assert layer(name, layout=layout, prefix_tokens=1, active=False)(x) is x


@pytest.mark.parametrize("name", RANDOM)
def test_gradients_reach_the_patch_tokens_and_pass_the_class_token_unchanged(name):
    tokens = as_tokens(grid_batch(), 1).requires_grad_()
    upstream = torch.randn(tokens.shape, generator=torch.Generator().manual_seed(3))
    (layer(name, layout="tokens", prefix_tokens=1)(tokens) * upstream).sum().backward()
    assert torch.isfinite(tokens.grad).all()
    assert torch.equal(tokens.grad[:, 0], upstream[:, 0])
    assert tokens.grad[:, 1:].abs().sum() > 0


def test_token_layer_gradient_matches_finite_differences():
    tokens = as_tokens(grid_batch(), 1).double().requires_grad_()
    params = {"noise_mu": torch.randn(B, C, dtype=torch.float64), "noise_sigma": torch.randn(B, C, dtype=torch.float64)}
    dsu = create_style_layer("dsu", layout="tokens", prefix_tokens=1).train()
    assert torch.autograd.gradcheck(lambda t: dsu(t, params), (tokens,))


def test_adversarial_search_finds_scales_on_tokens():
    import stylebias

    net = torch.nn.Sequential(torch.nn.Linear(C, C), torch.nn.Flatten(), torch.nn.Linear(5 * C, 2))
    stylebias.attach(net, "adversarial_style", after=["0"], layout="tokens", prefix_tokens=1, steps=2)
    x, y = torch.randn(B, 5, C), torch.tensor([0, 1, 0, 1])
    loss_fn = torch.nn.functional.cross_entropy
    with stylebias.perturb_style(net.train(), loss_fn, x, y) as layers:
        assert layers[0].scales[0].shape == (1, C, 1, 1)
        perturbed = net(x)
    assert not torch.allclose(perturbed, net(x))


def test_wrong_layouts_name_the_fix():
    with pytest.raises(ShapeError, match=r"MixStyle input got a 3-D tensor.*layout is 'nchw'.*layout='tokens'"):
        layer("mixstyle")(torch.randn(B, 5, C))
    with pytest.raises(ShapeError, match=r"got a 4-D tensor.*layout is 'tokens'.*layout='nhwc'"):
        layer("dsu", layout="tokens", prefix_tokens=0)(torch.randn(B, H, W, C))
    with pytest.raises(ShapeError, match=r"got a 3-D tensor.*layout is 'nhwc'"):
        layer("efdmix", layout="nhwc")(torch.randn(B, 5, C))
    with pytest.raises(InvalidArgumentError, match=r"does not know how many class/distillation tokens.*prefix_tokens=1"):
        layer("padain", layout="tokens")(torch.randn(B, 5, C))
    with pytest.raises(ShapeError, match=r"got 2 tokens.*prefix_tokens=2: no image token"):
        layer("mixstyle", layout="tokens", prefix_tokens=2)(torch.randn(B, 2, C))
    with pytest.raises(InvalidArgumentError, match="layout must be one of 'nchw', 'nhwc', 'tokens'; got 'nlc'"):
        create_style_layer("mixstyle", layout="nlc")
    with pytest.raises(InvalidArgumentError, match="prefix_tokens must be an int >= 0"):
        create_style_layer("dsu", layout="tokens", prefix_tokens=-1)


def test_layout_is_shown_but_is_no_hyperparameter():
    from stylebias.layers import layer_hyperparameters
    from stylebias.training import default_hparams

    text = repr(create_style_layer("mixstyle", layout="tokens", prefix_tokens=1))
    assert "layout='tokens', prefix_tokens=1" in text
    assert "layout" not in repr(create_style_layer("mixstyle"))
    for name in ALL:
        assert not {"layout", "prefix_tokens"} & set(layer_hyperparameters(type(create_style_layer(name))))
        assert not {"layout", "prefix_tokens"} & set(default_hparams(name))
    assert repr(create_style_layer("dsu", layout="nhwc")).endswith("layout='nhwc')")
