import copy
import inspect
import pickle

import pytest
import torch
from torch import nn

from stylebias import functional as F
from stylebias.errors import InvalidArgumentError, ShapeError, UnknownNameError
from stylebias.layers import (
    DSU,
    AdversarialStyle,
    EFDMix,
    MixStyle,
    STYLE_LAYERS,
    PermutedAdaIN,
    StyleLayer,
    create_style_layer,
    list_style_layers,
)
from stylebias.layers.base import RUNTIME_ARGUMENTS
from tests.conftest import styled_batch

ALL = list_style_layers()
RANDOM = [n for n in ALL if n != "adversarial_style"]  # layers that fire on their own


def make(name, **kw):
    return create_style_layer(name, p=1.0, **kw).train()


def test_registry_lists_every_layer_and_resolves_aliases():
    assert ALL == ["adversarial_style", "dsu", "efdmix", "mixstyle", "padain"]
    assert type(create_style_layer("pAdaIN")) is PermutedAdaIN
    assert type(create_style_layer("Permuted-AdaIN")) is PermutedAdaIN
    assert list_style_layers("*mix*") == ["efdmix", "mixstyle"]
    with pytest.raises(UnknownNameError, match="Did you mean 'mixstyle'"):
        create_style_layer("mixstyel")


def test_create_from_class_factory_and_instance():
    assert isinstance(create_style_layer(MixStyle, alpha=0.3), MixStyle)
    layer = DSU()
    assert create_style_layer(layer) is layer
    with pytest.raises(TypeError, match="existing DSU"):
        create_style_layer(layer, p=0.1)
    with pytest.raises(TypeError, match="not a stylebias StyleLayer"):
        create_style_layer(lambda: nn.Identity())


def test_constructor_defaults_follow_the_papers():
    assert PermutedAdaIN().p == 0.01 and PermutedAdaIN().eps == 1e-5
    m = MixStyle()
    assert (m.p, m.alpha, m.eps, m.mix) == (0.5, 0.1, 1e-6, "random")
    e = EFDMix()
    assert (e.p, e.alpha, e.mix) == (0.5, 0.1, "random")
    a = AdversarialStyle()
    assert (a.steps, a.step_size, a.bound) == (6, 0.2, 1.1)


@pytest.mark.parametrize("name", ALL)
def test_no_parameters_no_state(name):
    layer = make(name)
    assert list(layer.parameters()) == [] and list(layer.buffers()) == []
    assert layer.state_dict() == {}


@pytest.mark.parametrize("name", ALL)
def test_identity_in_eval_and_when_inactive(name):
    x = styled_batch()
    layer = make(name)
    assert layer.eval()(x) is x
    layer.train().active = False
    assert layer(x) is x


@pytest.mark.parametrize("name", RANDOM)
def test_p_zero_is_identity_and_p_one_changes_the_input(name):
    x = styled_batch()
    assert create_style_layer(name, p=0.0).train()(x) is x
    out = make(name, generator=torch.Generator().manual_seed(0))(x)
    assert out.shape == x.shape and out.dtype == x.dtype
    assert not torch.allclose(out, x)


@pytest.mark.parametrize("name", RANDOM)
def test_module_equals_functional_with_sampled_params(name):
    x = styled_batch()
    layer = make(name)
    params = layer.sample_params(x, torch.Generator().manual_seed(1))
    expected = {
        "padain": lambda: F.permuted_adain(x, params["perm"], layer.eps),
        "mixstyle": lambda: F.mixstyle(x, params["perm"], params["lam"], layer.eps),
        "efdmix": lambda: F.efdmix(x, params["perm"], params["lam"]),
        "dsu": lambda: F.dsu(x, params["noise_mu"], params["noise_sigma"], layer.eps, layer.factor),
    }[name]()
    torch.testing.assert_close(layer(x, params), expected, rtol=0, atol=0)


@pytest.mark.parametrize("name", RANDOM)
def test_seeded_generator_reproduces_a_run(name):
    x = styled_batch()

    def run(seed):
        layer = create_style_layer(name, p=0.5, generator=torch.Generator().manual_seed(seed)).train()
        return [layer(x) for _ in range(6)]

    first, second, other = run(3), run(3), run(4)
    assert all(torch.equal(a, b) for a, b in zip(first, second))
    assert not all(torch.equal(a, b) for a, b in zip(first, other))


@pytest.mark.parametrize("name", RANDOM)
def test_empirical_firing_rate_is_p(name):
    x = styled_batch(4, 2, 3, 3)
    p, n = 0.3, 1500
    layer = create_style_layer(name, p=p, generator=torch.Generator().manual_seed(0)).train()
    fired = sum(layer(x) is not x for _ in range(n))
    sd = (p * (1 - p) / n) ** 0.5
    assert abs(fired / n - p) < 4 * sd


@pytest.mark.parametrize("name", RANDOM)
@pytest.mark.parametrize("shape", [(1, 4, 8, 8), (5, 4, 1, 1), (7, 4, 5, 3), (4, 4, 1, 6)])
def test_edge_shapes_never_give_nan(name, shape):
    x = torch.randn(shape).requires_grad_()
    out = make(name)(x)
    out.sum().backward()
    assert torch.isfinite(out).all() and torch.isfinite(x.grad).all()
    if shape[0] == 1 or shape[2] * shape[3] == 1:
        assert out is x  # nothing to mix or no spatial statistics: documented skip


@pytest.mark.parametrize("name", ["mixstyle", "efdmix"])
@pytest.mark.parametrize("batch", [3, 5, 8])
def test_crossdomain_mode_handles_odd_batches(name, batch):
    x = styled_batch(batch)
    layer = make(name, mix="crossdomain", generator=torch.Generator().manual_seed(0))
    params = layer.sample_params(x, torch.Generator().manual_seed(0))
    half = batch // 2
    assert (params["perm"][:half] >= half).all() and (params["perm"][half:] < half).all()
    assert torch.isfinite(layer(x)).all()


@pytest.mark.parametrize("name", ["mixstyle", "efdmix"])
def test_domain_labels_guide_crossdomain_mixing(name):
    x = styled_batch(8)
    domains = torch.tensor([2, 0, 1, 0, 2, 1, 0, 0])
    layer = make(name, mix="crossdomain")
    layer.domains = domains
    for seed in range(10):
        perm = layer.sample_params(x, torch.Generator().manual_seed(seed))["perm"]
        assert (domains[perm] != domains).all()
    layer.domains = torch.tensor([0, 1])
    with pytest.raises(ShapeError, match="2 domain labels for a batch of 8"):
        layer(x)


@pytest.mark.parametrize("name", RANDOM)
@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_autocast_and_half_inputs_with_large_activations(name, dtype):
    x = (styled_batch() * 400 + 2000).requires_grad_()
    layer = make(name)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = layer(x)
    out.float().sum().backward()
    assert torch.isfinite(out).all() and torch.isfinite(x.grad).all()
    half = layer(x.detach().to(dtype))
    assert half.dtype == dtype and torch.isfinite(half).all()


@pytest.mark.parametrize("name", RANDOM)
def test_channels_last_is_preserved(name):
    x = styled_batch().contiguous(memory_format=torch.channels_last)
    assert make(name)(x).is_contiguous(memory_format=torch.channels_last)


@pytest.mark.parametrize("name", ALL)
def test_deepcopy_and_pickle(name):
    layer = create_style_layer(name, generator=torch.Generator().manual_seed(0))
    copied = copy.deepcopy(layer)
    assert type(copied) is type(layer) and copied.p == layer.p
    restored = pickle.loads(pickle.dumps(create_style_layer(name)))
    assert restored.p == create_style_layer(name).p


def test_bad_arguments_are_reported():
    with pytest.raises(InvalidArgumentError, match=r"p must be a probability in \[0, 1\], got 1.5"):
        MixStyle(p=1.5)
    with pytest.raises(InvalidArgumentError, match="mix must be one of 'random', 'crossdomain'"):
        EFDMix(mix="halves")
    with pytest.raises(InvalidArgumentError, match="alpha must be > 0"):
        MixStyle(alpha=0)
    with pytest.raises(TypeError, match="generator must be a torch.Generator"):
        DSU(generator=0)
    with pytest.raises(ShapeError, match=r"MixStyle input got a 2-D tensor of shape \(4, 8\).*layout is 'nchw', which expects \(B, C, H, W\)"):
        MixStyle().train()(torch.randn(4, 8))


@pytest.mark.parametrize("name", [n for n in RANDOM if "eps" in inspect.signature(STYLE_LAYERS.get(n)).parameters])
def test_eps_zero_is_refused(name):
    # eps = 0 divides 0 by 0 on a constant (e.g. dead ReLU) channel: NaN outputs and gradients
    with pytest.raises(InvalidArgumentError, match="eps must be > 0, got 0"):
        create_style_layer(name, eps=0)


def test_efdmix_has_no_eps():
    assert "eps" not in inspect.signature(EFDMix).parameters
    with pytest.raises(InvalidArgumentError, match="EFDMix has no eps: exact distribution matching needs no variance"):
        EFDMix(eps=1e-6)
    with pytest.raises(TypeError, match="unexpected argument.*beta"):
        EFDMix(beta=1.0)


def test_repr_shows_hyperparameters():
    assert repr(MixStyle(p=0.3, mix="crossdomain")) == (
        "MixStyle(p=0.3, alpha=0.1, eps=1e-06, mix='crossdomain', global_batch=False)"
    )
    assert repr(DSU(factor=2.0)) == "DSU(p=0.5, eps=1e-06, factor=2.0)"
    assert repr(EFDMix(active=False)) == "EFDMix(p=0.5, alpha=0.1, mix='random', global_batch=False, active=False)"


def _non_default_arguments(cls):
    """A value unlike the default for each named constructor argument (not generator, active,
    layout or prefix_tokens: run-time and input-shape settings, shown apart)."""
    values = {}
    for param in inspect.signature(cls).parameters.values():
        if param.name in RUNTIME_ARGUMENTS or param.kind in (param.VAR_KEYWORD, param.VAR_POSITIONAL):
            continue
        default = param.default
        if isinstance(default, bool):
            values[param.name] = not default
        elif isinstance(default, int):
            values[param.name] = default + 1
        elif isinstance(default, float):
            values[param.name] = round(default / 2, 9) if param.name == "p" else default * 3
        elif default is None:
            values[param.name] = 0.25
        elif param.name == "mix":
            values[param.name] = "crossdomain"
        else:
            raise AssertionError(f"no test value for {cls.__name__}.{param.name}={default!r}")
    if values.get("global_batch") and values.get("mix") == "crossdomain":
        values["global_batch"] = False  # global_batch supports mix='random' only
    return values


@pytest.mark.parametrize("name", ALL)
def test_extra_repr_shows_every_constructor_hyperparameter(name):
    cls = STYLE_LAYERS.get(name)
    values = _non_default_arguments(cls)
    text = cls(**values).extra_repr()
    shown = dict(item.split("=", 1) for item in text.split(", "))
    assert shown == {k: repr(v) for k, v in values.items()}


def test_new_layers_plug_in_with_a_class():
    class Negate(StyleLayer):
        def sample_params(self, x, generator=None):
            return {}

        def apply_params(self, x, params):
            return -x

    x = styled_batch()
    torch.testing.assert_close(Negate(p=1.0).train()(x), -x)
