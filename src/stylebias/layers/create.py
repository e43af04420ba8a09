"""The style-layer registry: every layer reachable by name.

Adding a layer takes a function in :mod:`stylebias.functional`, a class in its own file here
and one ``STYLE_LAYERS.register`` line below. The layer is then also a training method, whose
hyperparameters and defaults come from its constructor (:func:`layer_hyperparameters`).
"""

from __future__ import annotations

from typing import Any, Callable, Union

from .._registry import Registry
from .adversarial import AdversarialStyle
from .base import StyleLayer
from .dsu import DSU
from .efdmix import EFDMix
from .mixstyle import MixStyle
from .padain import PermutedAdaIN

__all__ = ["STYLE_LAYERS", "LayerSpec", "create_style_layer", "list_style_layers", "layer_name"]

STYLE_LAYERS: Registry[type[StyleLayer]] = Registry("style layer")
STYLE_LAYERS.register("padain", PermutedAdaIN, aliases=("PermutedAdaIN", "permuted_adain"))
STYLE_LAYERS.register("mixstyle", MixStyle, aliases=("MixStyle",))
STYLE_LAYERS.register("efdmix", EFDMix, aliases=("EFDMix",))
STYLE_LAYERS.register("dsu", DSU, aliases=("DistributionUncertainty",))
STYLE_LAYERS.register("adversarial_style", AdversarialStyle, aliases=("AdversarialStyle", "advstyle", "advbn"))

LayerSpec = Union[str, type, StyleLayer, Callable[..., StyleLayer]]


def create_style_layer(spec: LayerSpec, **kwargs: Any) -> StyleLayer:
    """Build a style layer from a registered name, a class or a factory (e.g. a partial).

    Args:
        spec: ``"mixstyle"`` (any case; see :func:`list_style_layers`), a StyleLayer
            subclass, a callable returning a StyleLayer, or an instance (returned as is).
        **kwargs: constructor arguments (``p`` always; ``alpha``, ``eps``, ``mix``, ... as the
            layer has them; ``generator``).

    Raises:
        UnknownNameError: unknown name; the message lists the close and the available ones.
        TypeError: the spec does not produce a StyleLayer, or kwargs were given with an instance.

    Example:
        >>> create_style_layer("MixStyle", p=0.5, alpha=0.1)
        MixStyle(p=0.5, alpha=0.1, eps=1e-06, mix='random', global_batch=False)
    """
    if isinstance(spec, StyleLayer):
        if kwargs:
            raise TypeError(f"got an existing {type(spec).__name__} and arguments {sorted(kwargs)}; pass a name or class to build a new layer")
        return spec
    factory = STYLE_LAYERS.get(spec) if isinstance(spec, str) else spec
    if not callable(factory):
        raise TypeError(f"a style layer spec must be a name, class or factory; got {type(spec).__name__}")
    layer = factory(**kwargs)
    if not isinstance(layer, StyleLayer):
        raise TypeError(f"{spec!r} built a {type(layer).__name__}, not a stylebias StyleLayer")
    return layer


def list_style_layers(pattern: str = "*") -> list[str]:
    """Registered layer names matching a wildcard, e.g. ``list_style_layers("*mix*")``."""
    return STYLE_LAYERS.list(pattern)


def layer_name(layer: StyleLayer) -> str | None:
    """The registry name of a layer's class, or None for an unregistered subclass."""
    for name in STYLE_LAYERS:
        if type(layer) is STYLE_LAYERS.get(name):
            return name
    return None
