"""Methods share one constructor; a style layer's hyperparameters come from its constructor."""

import hashlib
import inspect
import json

import numpy as np
import pytest
import torch

from stylebias.layers import STYLE_LAYERS, StyleLayer, layer_hyperparameters
from stylebias.training import METHODS, Method, create_method, default_hparams, random_hparams, train
from stylebias.training.hparams import HPARAMS, known_hparams
from stylebias.models import build_classifier
from tests.training.conftest import NEEDS_USER_FILES
from tests.training.test_loop import cfg_for


class ToyShift(StyleLayer):
    """A plug-in layer no table knows: adds ``strength`` times Gaussian noise."""

    built: list = []

    def __init__(self, p=0.5, strength=0.3, *, generator=None, active=True):
        super().__init__(p, generator=generator, active=active)
        self.strength = strength
        ToyShift.built.append(self)

    def sample_params(self, x, generator=None):
        return {"noise": torch.randn(x.shape, generator=generator)}

    def apply_params(self, x, params):
        return x + self.strength * params["noise"]


@pytest.fixture
def toy_layer(monkeypatch):
    """Register ToyShift as "toy_shift" for one test; both registries are restored after."""
    for registry in (STYLE_LAYERS, METHODS):
        monkeypatch.setattr(registry, "_items", dict(registry._items))
        monkeypatch.setattr(registry, "_keys", dict(registry._keys))
    ToyShift.built = []
    STYLE_LAYERS.register("toy_shift", ToyShift)
    return ToyShift


def test_a_newly_registered_layer_trains_with_its_constructor_defaults(tmp_path, bundle, toy_layer):
    assert "toy_shift" in METHODS and default_hparams("toy_shift")["strength"] == 0.3
    result = train(cfg_for(tmp_path, "default", method="toy_shift", steps=2, layer_after=["layer1"]), data=bundle)
    assert torch.isfinite(torch.tensor(result.final["loss"]))
    saved = json.loads((result.output_dir / "hparams.json").read_text())
    assert saved["strength"] == 0.3 and saved["p"] == 0.5
    assert [layer.strength for layer in toy_layer.built] == [0.3]
    train(cfg_for(tmp_path, "override", method="toy_shift", steps=2, layer_after=["layer1"],
                  hparams={"strength": 0.7}), data=bundle)
    assert toy_layer.built[-1].strength == 0.7


def test_every_method_is_built_by_one_call_with_one_signature():
    # every method takes Method's arguments (spelt out, or forwarded as **options to Method)
    keywords = {k: None for k, p in inspect.signature(Method).parameters.items() if p.kind is p.KEYWORD_ONLY}
    for name in METHODS:
        entry = METHODS.get(name)
        cls = entry.func if hasattr(entry, "func") else entry
        inspect.signature(cls).bind("model", {}, **keywords)  # raises TypeError for a missing one
    for name in sorted(set(METHODS) - NEEDS_USER_FILES):
        torch.manual_seed(0)
        model = build_classifier("small_resnet", 3, width=4)
        method = create_method(name, model, default_hparams(name), layer_after=["layer1"],
                               generator=torch.Generator().manual_seed(0))
        assert isinstance(method, Method)
        assert method.layer == (name if name in STYLE_LAYERS else None)  # methods that are no style layer attach none
        if method.handle is not None:
            assert type(method.handle.layers["layer1"]) is STYLE_LAYERS.get(name)


@pytest.mark.parametrize("name", sorted(STYLE_LAYERS))
def test_layer_defaults_come_from_the_constructor_unless_the_table_sets_them(name):
    params = layer_hyperparameters(STYLE_LAYERS.get(name))
    defaults = default_hparams(name)
    table = HPARAMS.get(name, {})
    for key, param in params.items():
        expected = table[key][0] if key in table else param.default
        assert defaults[key] == expected, key
    assert known_hparams(name) == set(default_hparams("erm")) | set(params)
    assert "generator" not in defaults and "active" not in defaults


def test_defaults_and_draws_of_the_shipped_methods():
    assert default_hparams("dsu")["factor"] == 1.0  # from DSU's constructor
    assert default_hparams("adversarial_style")["steps"] == 2  # the table's training value, not the paper's 6
    assert "eps" not in default_hparams("efdmix") and default_hparams("mixstyle")["eps"] == 1e-6
    draw = random_hparams("mixstyle", 3)
    # each draw depends only on (seed, name), so the layer keys now listed change no old value
    digest = hashlib.sha256(b"3/alpha").digest()
    rng = np.random.default_rng(int.from_bytes(digest[:8], "little"))
    assert draw["alpha"] == float(10 ** rng.uniform(-1.5, 0))
    assert (draw["mix"], draw["eps"], draw["global_batch"]) == ("random", 1e-6, False)  # fixed at the defaults


def test_a_preset_value_applies_unless_hparams_change_it():
    model = build_classifier("small_resnet", 3, width=4)
    method = create_method("adversarial_style", model, default_hparams("adversarial_style"))
    assert method.handle.layers["layer1"].clamp_min == 0.0  # resnet3 preset: post-ReLU features
    model = build_classifier("small_resnet", 3, width=4)
    hp = {**default_hparams("adversarial_style"), "clamp_min": -1.0, "steps": 3}
    layer = create_method("adversarial_style", model, hp).handle.layers["layer1"]
    assert (layer.clamp_min, layer.steps) == (-1.0, 3)


def test_layer_after_places_in_a_vit_take_its_token_layout():
    timm = pytest.importorskip("timm")
    net = timm.create_model("test_vit", pretrained=False, num_classes=3, img_size=32)
    method = create_method("mixstyle", net, default_hparams("mixstyle"), layer_after=["blocks.0"])
    layer = method.handle.layers["blocks.0"]
    assert (layer.layout, layer.prefix_tokens) == ("tokens", 1)
    net.train()(torch.rand(4, 3, 32, 32))  # a (B, C, H, W) layer would raise on the 3-D tokens
