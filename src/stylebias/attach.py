"""Put style layers into models nobody has to edit.

:func:`attach` runs a style layer on the output of named submodules through forward hooks,
so the model's code, its ``state_dict`` keys and its checkpoints stay exactly as they were.
"""

from __future__ import annotations

import difflib
import fnmatch
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import torch
from torch import Tensor, nn
from torch.utils.hooks import RemovableHandle

from .errors import InvalidArgumentError, UnknownNameError
from .layers.base import AttachHook, StyleLayer, style_layers
from .layers.create import STYLE_LAYERS, LayerSpec, create_style_layer, layer_name
from .presets import PRESETS, Preset, list_presets, model_prefix_tokens

__all__ = ["attach", "AttachHandle", "disabled", "mixing_domains", "Preset", "PRESETS", "list_presets"]

class AttachHandle:
    """What :func:`attach` returns: the layers by location, and ``remove()`` to undo.

    Also a context manager that removes the layers on exit.
    """

    def __init__(self, layers: dict[str, StyleLayer], hooks: list[RemovableHandle]) -> None:
        self.layers = layers
        self._hooks = hooks

    def remove(self) -> None:
        """Detach every layer this call attached (idempotent)."""
        for hook in self._hooks:
            hook.remove()
        self._hooks = []

    def __enter__(self) -> AttachHandle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.remove()

    def __repr__(self) -> str:
        where = ", ".join(self.layers)
        return f"AttachHandle({len(self.layers)} layer(s) after: {where})"


def _resolve(model: nn.Module, wanted: Sequence[str]) -> list[str]:
    modules = dict(model.named_modules())
    names: list[str] = []
    for entry in wanted:
        if any(ch in entry for ch in "*?["):
            matched = [n for n in modules if n and fnmatch.fnmatchcase(n, entry)]
            if not matched:
                raise UnknownNameError(f"no submodule name matches the pattern {entry!r}")
            names.extend(matched)
        elif entry in modules and entry:
            names.append(entry)
        else:
            close = difflib.get_close_matches(entry, [n for n in modules if n], n=5)
            hint = f" Close matches: {', '.join(close)}." if close else ""
            top = ", ".join(n for n, _ in model.named_children())
            raise UnknownNameError(
                f"the model has no submodule named {entry!r}.{hint} Top-level modules: {top}. "
                "Use dotted names from model.named_modules(), e.g. 'layer1' or 'layer1.0.conv1'."
            )
    return list(dict.fromkeys(names))  # keep order, drop repeats


def _spec_name(spec: LayerSpec) -> str | None:
    if isinstance(spec, str):
        return STYLE_LAYERS.canonical(spec)
    if isinstance(spec, StyleLayer):
        return layer_name(spec)
    for name in STYLE_LAYERS:
        if spec is STYLE_LAYERS.get(name):
            return name
    return None


def _preset_locations(model: nn.Module, preset_name: str, spec: LayerSpec) -> tuple[list[str], dict[str, Any]]:
    """The module names and the constructor defaults (the layout among them) of a preset."""
    preset = PRESETS.get(preset_name)
    name = _spec_name(spec)
    if name is None or name not in preset.placements:
        raise InvalidArgumentError(
            f"preset {preset.name!r} has no placement for {spec!r}; it knows "
            f"{', '.join(sorted(preset.placements))}. Pass after=[...] instead."
        )
    modules = dict(model.named_modules())
    missing = [n for n in preset.requires if n not in modules]
    if missing:
        top = ", ".join(n for n, _ in model.named_children())
        raise InvalidArgumentError(
            f"preset {preset.name!r} is for {preset.description}; the model lacks "
            f"{', '.join(missing)} (top-level modules: {top}). Pass after=[...] instead."
        )
    placement = preset.placements[name]
    names = placement(model) if callable(placement) else list(placement)
    defaults = dict(preset.defaults.get(name, {}))
    if preset.layout != "nchw":
        defaults["layout"] = preset.layout
    return names, defaults


def _placed_layout(
    model: nn.Module, layer: LayerSpec, kwargs: dict[str, Any], preset: str | None, preset_layout: str | None
) -> dict[str, Any]:
    """``kwargs`` with the model's prefix-token count added for a layer on tokens.

    A layer instance must already have the preset's layout; one without ``prefix_tokens``
    gets the model's. Raises if a token layer's prefix count cannot be found in the model.
    """
    instance = layer if isinstance(layer, StyleLayer) else None
    if instance is not None and preset_layout is not None and instance.layout != preset_layout:
        raise InvalidArgumentError(
            f"preset {preset!r} places layers on layout={preset_layout!r} features, but the given "
            f"{type(instance).__name__} has layout={instance.layout!r}; build it with layout={preset_layout!r}"
        )
    layout = instance.layout if instance is not None else kwargs.get("layout", "nchw")
    given = instance.prefix_tokens if instance is not None else kwargs.get("prefix_tokens")
    if layout != "tokens" or given is not None:
        return kwargs
    count = model_prefix_tokens(model)
    if count is None:
        raise InvalidArgumentError(
            f"{type(instance).__name__ if instance is not None else layer!r} runs on tokens, but the "
            "model does not say how many class/distillation tokens lead them (no num_prefix_tokens "
            "attribute, no class_token); pass prefix_tokens=N (0 if none)"
        )
    if instance is not None:
        instance.prefix_tokens = count
        return kwargs
    return {**kwargs, "prefix_tokens": count}


def attach(
    model: nn.Module,
    layer: LayerSpec,
    after: Sequence[str] | str | None = None,
    *,
    preset: str | None = None,
    generator: torch.Generator | None = None,
    **kwargs: Any,
) -> AttachHandle:
    """Run a style layer on the output of named submodules of any model.

    Each location gets its own layer instance (built from ``layer`` and ``kwargs``), called by
    a forward hook; it follows the model's train/eval mode. Given one instance, every location
    runs that instance (as the MixStyle README applies one module after two stages): one
    generator, and each call decides on its own whether to fire. No submodule, parameter or
    ``state_dict`` key is added, so checkpoints load with or without the layers, and an
    eval-mode model exports as if they were not there.

    Args:
        model: any ``nn.Module`` (torchvision, timm, your own).
        layer: a registered name (``"mixstyle"``, ``"pAdaIN"``, ...), a StyleLayer class or
            factory, or one StyleLayer instance (shared by all the locations).
        after: dotted module names from ``model.named_modules()``, or wildcards such as
            ``"layer*.0.conv1"``. Give this or ``preset``.
        preset: a placement from the paper of the layer for a backbone family, e.g.
            ``"resnet"``, ``"vit"``, ``"swin"``, ``"convnext"`` (see :func:`list_presets`); it
            also sets the layers' ``layout`` (tokens for ViT, channels-last for Swin).
        generator: one ``torch.Generator`` shared by all the created layers.
        **kwargs: layer constructor arguments (``p``, ``alpha``, ``mix``, ...; ``layout`` for
            outputs that are not ``(B, C, H, W)``, with ``after=``). For
            ``layout="tokens"`` the number of leading class/distillation tokens, left
            untouched, is read from the model (timm's ``num_prefix_tokens``, torchvision's
            ``class_token``) unless ``prefix_tokens`` is given; so is that of a given
            instance without one.

    Returns:
        An :class:`AttachHandle`; ``handle.layers`` maps location -> layer, and
        ``handle.remove()`` detaches them.

    Raises:
        UnknownNameError: a location does not exist (close names are suggested).
        InvalidArgumentError: neither or both of ``after``/``preset``, a preset that does
            not fit the model, ``generator`` given with a layer instance, an instance whose
            layout differs from the preset's, or a token layout on a model that does not
            say how many prefix tokens it has (pass ``prefix_tokens``).

    Example:
        >>> import torchvision
        >>> net = torchvision.models.resnet18()
        >>> handle = attach(net, "mixstyle", after=["layer1", "layer2"], p=0.5)
        >>> sorted(handle.layers)
        ['layer1', 'layer2']
        >>> handle.remove()
        >>> import timm  # doctest: +SKIP
        >>> vit = timm.create_model("vit_tiny_patch16_224", img_size=32)  # doctest: +SKIP
        >>> attach(vit, "mixstyle", preset="vit").layers["blocks.0"]  # doctest: +SKIP
        MixStyle(p=0.5, alpha=0.1, eps=1e-06, mix='random', global_batch=False, layout='tokens', prefix_tokens=1)
    """
    if (after is None) == (preset is None):
        raise InvalidArgumentError("attach() needs exactly one of after=[module names] or preset='name'")
    preset_layout = None
    if preset is not None:
        locations, defaults = _preset_locations(model, preset, layer)
        preset_layout = defaults.get("layout", "nchw")
        kwargs = {**defaults, **kwargs} if not isinstance(layer, StyleLayer) else kwargs
    else:
        locations = [after] if isinstance(after, str) else list(after)  # type: ignore[list-item]
        if not locations:
            raise InvalidArgumentError("after= is empty; name at least one submodule")
    names = _resolve(model, locations)
    if isinstance(layer, StyleLayer) and generator is not None:
        raise InvalidArgumentError(
            f"attach() got a {type(layer).__name__} instance and generator=; give the generator "
            "to the layer's constructor, or pass the layer's name or class"
        )
    kwargs = _placed_layout(model, layer, kwargs, preset, preset_layout)
    if generator is not None:
        kwargs["generator"] = generator
    modules = dict(model.named_modules())
    layers: dict[str, StyleLayer] = {}
    hooks: list[RemovableHandle] = []
    for name in names:
        style_layer = create_style_layer(layer, **kwargs)  # an instance is returned as is
        hooks.append(modules[name].register_forward_hook(AttachHook(style_layer, name)))
        layers[name] = style_layer
    return AttachHandle(layers, hooks)


@contextmanager
def disabled(model: nn.Module) -> Iterator[list[StyleLayer]]:
    """Switch every style layer in ``model`` off; restore each one's previous state on exit.

    Works for attached layers and for layers that are submodules. Yields the layers.

    Example:
        >>> with disabled(model):  # doctest: +SKIP
        ...     clean_logits = model(x)
    """
    layers = style_layers(model)
    previous = [layer.active for layer in layers]
    try:
        for layer in layers:
            layer.active = False
        yield layers
    finally:
        for layer, state in zip(layers, previous):
            layer.active = state


@contextmanager
def mixing_domains(model: nn.Module, domains: Tensor) -> Iterator[list[StyleLayer]]:
    """Give MixStyle/EFDMix layers with ``mix='crossdomain'`` the domain label of each sample.

    Inside the block, each sample is mixed with one of a different domain (drawn at random),
    whatever the order or sizes of the domains in the batch.

    Args:
        model: model with mixing layers.
        domains: integer labels ``(B,)`` of the batch passed to the model.
    """
    layers = [layer for layer in style_layers(model) if hasattr(layer, "domains")]
    previous = [layer.domains for layer in layers]  # type: ignore[attr-defined]
    try:
        for layer in layers:
            layer.domains = domains  # type: ignore[attr-defined]
        yield layers
    finally:
        for layer, old in zip(layers, previous):
            layer.domains = old  # type: ignore[attr-defined]
