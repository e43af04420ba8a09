"""A style layer added on top of another method (``TrainConfig.layer``): its hyperparameters are
``"<layer>.<name>"``, they configure the layer and only it, and impossible combinations are refused."""

import json

import pytest
import torch

from stylebias.errors import InvalidArgumentError, StyleBiasError
from stylebias.models import build_classifier
from stylebias.training import create_method, default_hparams, train
from stylebias.training.hparams import known_hparams
from stylebias.training.identity import resolve_hparams
from tests.training.test_loop import cfg_for


def _net():
    return build_classifier("small_resnet", 3, width=4)


def _mixstyle_layers(method):
    return [layer for layer in method.handle.layers.values()]


def test_added_layer_hparams_are_namespaced():
    hp = default_hparams("erm", "mixstyle")
    assert hp["mixstyle.alpha"] == default_hparams("mixstyle")["alpha"]
    assert "alpha" not in hp and "mixstyle.p" in hp
    assert "mixstyle.mix" in known_hparams("erm", "mixstyle")  # a constructor argument of the layer
    assert "alpha" not in default_hparams("erm")


def test_namespaced_values_configure_the_layer_and_unprefixed_ones_do_not():
    hp = {**resolve_hparams("erm", {"mixstyle.alpha": 0.3}, "mixstyle"), "alpha": 7.0}  # a method's own alpha
    method = create_method("erm", _net(), hp, layer="mixstyle")
    layers = _mixstyle_layers(method)
    assert layers and all(layer.alpha == 0.3 for layer in layers)
    hp = {**resolve_hparams("erm", {}, "mixstyle"), "alpha": 7.0}
    assert all(layer.alpha == default_hparams("mixstyle")["alpha"] for layer in _mixstyle_layers(create_method("erm", _net(), hp, layer="mixstyle")))


def test_typo_in_a_namespaced_hparam_is_refused_with_a_suggestion():
    with pytest.raises(InvalidArgumentError, match=r"mixstyle\.alpah.*did you mean 'mixstyle\.alpha'"):
        resolve_hparams("erm", {"mixstyle.alpah": 0.3}, "mixstyle")
    with pytest.raises(InvalidArgumentError, match="mixstyle.alpha"):  # without --layer the name is unknown
        resolve_hparams("erm", {"mixstyle.alpha": 0.3})


@pytest.mark.parametrize("method, layer, message", [
    ("mixstyle", "dsu", "itself a style layer"),
    ("erm", "adversarial_style", "own update step"),
    ("erm", "mixstyel", "mixstyle"),
])
def test_impossible_combinations_are_refused(tmp_path, bundle, method, layer, message):
    with pytest.raises(StyleBiasError, match=message):
        train(cfg_for(tmp_path, method=method, layer=layer), data=bundle)
    assert not (tmp_path / "run").exists()  # refused before anything was written


def test_training_with_an_added_layer_differs_from_without_and_is_its_own_run(tmp_path, bundle):
    plain = train(cfg_for(tmp_path, "plain", steps=4), data=bundle)
    mixed = train(cfg_for(tmp_path, "mixed", steps=4, layer="mixstyle", hparams={"mixstyle.p": 1.0}), data=bundle)
    w0 = torch.load(plain.output_dir / "checkpoint.pt", weights_only=True)["model"]
    w1 = torch.load(mixed.output_dir / "checkpoint.pt", weights_only=True)["model"]
    assert any(not torch.equal(w0[k], w1[k]) for k in w0)  # the layer changed the training
    with pytest.raises(InvalidArgumentError, match="layer"):  # the folder holds the run with the layer
        train(cfg_for(tmp_path, "mixed", steps=4, hparams={}), data=bundle)


@pytest.mark.parametrize("method", ["randconv", "augmix"])
def test_image_level_methods_take_a_layer_with_clashing_hparam_names(tmp_path, bundle, method):
    """AugMix and RandConv have their own mixing weights; MixStyle's alpha stays MixStyle's."""
    hp = resolve_hparams(method, {"mixstyle.alpha": 0.3}, "mixstyle")
    assert hp["mixstyle.alpha"] == 0.3 and "alpha" not in hp
    built = create_method(method, _net(), hp, layer="mixstyle", generator=torch.Generator().manual_seed(0))
    assert built.layer == "mixstyle" and all(layer.alpha == 0.3 for layer in _mixstyle_layers(built))
    result = train(cfg_for(tmp_path, method=method, layer="mixstyle", steps=2, checkpoint_every=2), data=bundle)
    stored = json.loads((result.output_dir / "hparams.json").read_text())
    assert stored["mixstyle.alpha"] == default_hparams("mixstyle")["alpha"]
