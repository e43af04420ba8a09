"""The only home of training defaults and random-search ranges (DomainBed's hparams_registry).

``default_hparams(method)`` gives the values a run uses unless overridden: the optimiser and
model settings below, plus, for a method that is a style layer, every hyperparameter of the
layer's constructor with its default there (:func:`stylebias.layers.layer_hyperparameters`),
so a newly registered layer trains without an edit here. The table below only adds search
ranges and training defaults that differ from a layer's own.
``random_hparams(method, seed)`` draws a configuration for a sweep, each value seeded by
(seed, name) so adding a hyperparameter never changes the draws of the others.
"""

from __future__ import annotations

import hashlib
import inspect
from typing import Any, Callable

import numpy as np

from ..errors import UnknownNameError
from ..layers import STYLE_LAYERS, layer_hyperparameters

__all__ = ["default_hparams", "random_hparams", "known_hparams", "HPARAMS"]

Sampler = Callable[[np.random.Generator], Any]


def _log_uniform(lo: float, hi: float) -> Sampler:
    return lambda r: float(10 ** r.uniform(lo, hi))


def _uniform(lo: float, hi: float) -> Sampler:
    return lambda r: float(r.uniform(lo, hi))


def _fixed(value: Any) -> Sampler:
    return lambda r: value


def _integer(lo: int, hi: int) -> Sampler:
    return lambda r: int(r.integers(lo, hi + 1))


# name -> (default, random-search sampler), common to every method
_COMMON: dict[str, tuple[Any, Sampler]] = {
    "optimizer": ("sgd", _fixed("sgd")),
    "lr": (0.05, _log_uniform(-2.5, -0.7)),
    "momentum": (0.9, _fixed(0.9)),
    "weight_decay": (5e-4, _log_uniform(-5, -3)),
    "warmup_steps": (0, _fixed(0)),
    "label_smoothing": (0.0, _fixed(0.0)),
    "model_width": (32, _fixed(32)),  # channels of small_resnet's first stage
}

# the stylizer of a stylizing method and its weight files (None: the published ones), as
# training/stylizers.py reads them
_STYLIZER: dict[str, tuple[Any, Sampler]] = {
    "stylizer": ("adain", _fixed("adain")),
    "stylizer_vgg": (None, _fixed(None)),
    "stylizer_decoder": (None, _fixed(None)),
    "stylizer_transformer": (None, _fixed(None)),
}

# method -> search ranges (and training defaults that differ from the layer's constructor);
# a layer hyperparameter missing here keeps its constructor default in every draw
_METHOD: dict[str, dict[str, tuple[Any, Sampler]]] = {
    "erm": {},
    "padain": {"p": (0.01, _log_uniform(-3, -1))},
    "mixstyle": {"p": (0.5, _uniform(0.1, 1.0)), "alpha": (0.1, _log_uniform(-1.5, 0))},
    "efdmix": {"p": (0.5, _uniform(0.1, 1.0)), "alpha": (0.1, _log_uniform(-1.5, 0))},
    "dsu": {"p": (0.5, _uniform(0.1, 1.0))},
    "adversarial_style": {
        "steps": (2, _fixed(2)),  # the paper's 6 costs 3x a step; 2 fits a CPU budget
        "step_size": (0.2, _uniform(0.05, 0.4)),
        "bound": (1.1, _uniform(0.2, 1.1)),
    },
    # Ravula et al. (NeurIPS 2021): Adam at 3e-4, no weight decay, NT-Xent at temperature 0.1
    "robust_distill": {
        "optimizer": ("adam", _fixed("adam")),
        "lr": (3e-4, _log_uniform(-4.5, -3)),
        "weight_decay": (0.0, _fixed(0.0)),
        "distill_loss": ("nt_xent", _fixed("nt_xent")),
        "temperature": (0.1, _log_uniform(-1.5, -0.5)),
        "corruptions": (("mask", "noise", "blur"), _fixed(("mask", "noise", "blur"))),
        "severity": (3, _integer(1, 5)),
        "teacher_checkpoint": (None, _fixed(None)),  # a state_dict or run checkpoint.pt; None: the built network
    },
    # AugMix (Hendrycks et al., ICLR 2020): the reference cifar.py defaults; mix_alpha is its alpha
    "augmix": {
        "severity": (3, _integer(1, 5)),
        "width": (3, _fixed(3)),
        "depth": (-1, _fixed(-1)),
        "mix_alpha": (1.0, _fixed(1.0)),
        "jsd": (True, _fixed(True)),
        "jsd_weight": (12.0, _log_uniform(0, 1.5)),
    },
    # PRIME (Modas et al., ECCV 2022): the reference's CIFAR-10 config (32 px, our default size)
    "prime": {
        "width": (3, _fixed(3)),
        "depth": (-1, _fixed(-1)),
        "mix_alpha": (1.0, _fixed(1.0)),
        "jsd": (True, _fixed(True)),
        "jsd_weight": (12.0, _log_uniform(0, 1.5)),
        "diffeo_cut_min": (2, _fixed(2)),
        "diffeo_cut_max": (100, _fixed(100)),
        "diffeo_alpha": (1.0, _fixed(1.0)),
        "color_cut": (100, _fixed(100)),
        "color_temperature": (0.01, _log_uniform(-2.5, -1.3)),
        "color_bandwidth": (0, _fixed(0)),
        "filter_size": (3, _fixed(3)),
        "filter_sigma": (4.0, _uniform(1.0, 6.0)),
    },
    "debiased": {
        **_STYLIZER,
        "style_alpha": (0.5, _uniform(0.2, 1.0)),  # the reference's --alpha
        "label_gamma": (0.8, _uniform(0.5, 1.0)),  # --label-gamma: the shape class's share
        "style_fraction": (1.0, _fixed(1.0)),  # every image gets a stylized copy
    },
    "style_augment": {
        **_STYLIZER,
        "styles": (None, _fixed(None)),  # required: a folder of style images
        "style_alpha": (1.0, _fixed(1.0)),  # full stylization, as Stylized-ImageNet
        "style_fraction": (0.5, _uniform(0.2, 0.8)),
        "style_size": (512, _fixed(512)),
    },
    # Xu et al. 2021 (wildphoton/RandConv exp_mnist10k.sh): multi-scale kernels 1-7,
    # kaiming-normal weights, images normalised before filtering, no clamp; defaults are the
    # script's RC_mix with lambda = 10 (its other setting, RC_img with p = 0.5 and lambda = 5,
    # is mixing=False, randconv_p=0.5, consistency_weight=5; RC_mix did better on ShapeTexture)
    "randconv": {
        "kernel_sizes": ([1, 3, 5, 7], _fixed([1, 3, 5, 7])),
        "mixing": (True, lambda r: bool(r.integers(2))),  # RC_mix or RC_img
        "randconv_p": (1.0, _uniform(0.5, 1.0)),
        "consistency": (True, _fixed(True)),
        "consistency_weight": (10.0, _log_uniform(0, 1.3)),  # 1..20: the scripts use 5 and 10
        "data_mean": ([0.485, 0.456, 0.406], _fixed([0.485, 0.456, 0.406])),  # ImageNet's
        "data_std": ([0.229, 0.224, 0.225], _fixed([0.229, 0.224, 0.225])),
        "clamp_output": (False, _fixed(False)),
    },
}

HPARAMS = _METHOD


def _layer_parameters(method: str) -> dict[str, inspect.Parameter]:
    """The style-layer hyperparameters of ``method`` (none for a method without a layer)."""
    return layer_hyperparameters(STYLE_LAYERS.get(method)) if method in STYLE_LAYERS else {}


def _table(method: str) -> dict[str, tuple[Any, Sampler]]:
    layer = _layer_parameters(method)
    if method not in _METHOD and method not in STYLE_LAYERS:
        known = sorted(set(_METHOD) | set(STYLE_LAYERS))
        raise UnknownNameError(f"no hyperparameters for method {method!r}; known: {', '.join(known)}")
    own = _METHOD.get(STYLE_LAYERS.canonical(method) if method in STYLE_LAYERS else method, {})
    from_layer = {
        name: (param.default, _fixed(param.default))
        for name, param in layer.items()
        if param.default is not inspect.Parameter.empty
    }
    return {**_COMMON, **from_layer, **own}


def _composed_table(method: str, layer: str | None) -> dict[str, tuple[Any, Sampler]]:
    """``method``'s table plus, for a style layer added on top (``layer``), the layer's own
    entries spelt ``"<layer>.<name>"`` (AugMix's ``alpha`` is not MixStyle's ``alpha``)."""
    table = _table(method)
    if layer is None:
        return table
    canonical = STYLE_LAYERS.canonical(layer)
    own = {k: v for k, v in _table(canonical).items() if k not in _COMMON}
    return {**table, **{f"{canonical}.{k}": v for k, v in own.items()}}


def default_hparams(method: str, layer: str | None = None) -> dict[str, Any]:
    """The defaults of ``method``: optimiser/model settings plus its style layer's arguments
    (and, with ``layer``, the added layer's arguments as ``"<layer>.<name>"``)."""
    return {name: default for name, (default, _) in _composed_table(method, layer).items()}


def known_hparams(method: str, layer: str | None = None) -> set[str]:
    """Every hyperparameter name ``method`` (plus ``layer``) accepts: its defaults plus its
    layer's arguments.

    A layer argument without a default (a plug-in layer's required option) is known but has
    no default, so a run must set it.
    """
    known = set(default_hparams(method, layer)) | set(_layer_parameters(method))
    if layer is not None:
        canonical = STYLE_LAYERS.canonical(layer)
        known |= {f"{canonical}.{k}" for k in _layer_parameters(canonical)}
    return known


def random_hparams(method: str, seed: int, layer: str | None = None) -> dict[str, Any]:
    """A random-search draw for ``method``; each value depends only on (seed, its name)."""
    out = {}
    for name, (_, sample) in _composed_table(method, layer).items():
        digest = hashlib.sha256(f"{seed}/{name}".encode()).digest()
        out[name] = sample(np.random.default_rng(int.from_bytes(digest[:8], "little")))
    return out
