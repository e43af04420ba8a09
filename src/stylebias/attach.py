"""Put style layers into models nobody has to edit.

:func:`attach` runs a style layer on the output of named submodules through forward hooks,
so the model's code, its ``state_dict`` keys and its checkpoints stay exactly as they were.
"""

from __future__ import annotations

import difflib
import fnmatch
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Union

import torch
from torch import Tensor, nn
from torch.utils.hooks import RemovableHandle

from ._registry import Registry
from .errors import InvalidArgumentError, UnknownNameError
from .layers.base import AttachHook, StyleLayer, style_layers
from .layers.create import STYLE_LAYERS, LayerSpec, create_style_layer, layer_name

__all__ = ["attach", "AttachHandle", "disabled", "mixing_domains", "Preset", "PRESETS", "list_presets"]

Placement = Union[Sequence[str], Callable[[nn.Module], list[str]]]


def all_convs(model: nn.Module) -> list[str]:
    """Names of every ``nn.Conv2d`` in the model (pAdaIN goes after each one)."""
    return [name for name, m in model.named_modules() if isinstance(m, nn.Conv2d)]


@dataclass(frozen=True)
class Preset:
    """Where each style layer goes in one family of backbones, following its paper.

    Attributes:
        name: registry name.
        description: one line for ``stylebias list presets``.
        placements: layer registry name -> module names (or a function of the model).
        defaults: layer registry name -> constructor defaults the papers use at those places.
        requires: module names the model must have for the preset to apply.
    """

    name: str
    description: str
    placements: dict[str, Placement]
    defaults: dict[str, dict[str, Any]] = field(default_factory=dict)
    requires: tuple[str, ...] = ()


PRESETS: Registry[Preset] = Registry("preset")
PRESETS.register(
    "resnet",
    Preset(
        name="resnet",
        description="torchvision/timm ResNet, ResNeXt, Wide ResNet (conv1, maxpool, layer1-4)",
        placements={
            "padain": all_convs,  # after every conv, before its BN (pAdaIN paper)
            "mixstyle": ["layer1", "layer2", "layer3"],  # stages 1-3, never the last (MixStyle)
            "efdmix": ["layer1", "layer2", "layer3"],  # as MixStyle (EFDM paper)
            "dsu": ["conv1", "maxpool", "layer1", "layer2", "layer3", "layer4"],  # DSU's 6 places
            "adversarial_style": ["layer1"],  # AdvBN perturbs the output of stage 1
        },
        defaults={"adversarial_style": {"clamp_min": 0.0}},  # post-ReLU features stay >= 0
        requires=("layer1", "layer2", "layer3", "layer4"),
    ),
)
PRESETS.register(
    "resnet3",
    Preset(
        name="resnet3",
        description="three-stage ResNets for small images: CIFAR ResNets, stylebias SmallResNet (conv1, layer1-3)",
        placements={
            "padain": all_convs,
            "mixstyle": ["layer1", "layer2"],  # all but the last stage
            "efdmix": ["layer1", "layer2"],
            "dsu": ["conv1", "layer1", "layer2", "layer3"],
            "adversarial_style": ["layer1"],
        },
        defaults={"adversarial_style": {"clamp_min": 0.0}},
        requires=("conv1", "layer1", "layer2", "layer3"),
    ),
)
PRESETS.register(
    "convs",
    Preset(
        name="convs",
        description="any CNN: after every Conv2d (the pAdaIN recipe, for any layer)",
        placements={name: all_convs for name in STYLE_LAYERS},
    ),
)


def list_presets(pattern: str = "*") -> list[str]:
    """Names of the attachment presets, e.g. ``["convs", "resnet"]``."""
    return PRESETS.list(pattern)


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
    return names, dict(preset.defaults.get(name, {}))


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
            ``"resnet"`` (see :func:`list_presets`).
        generator: one ``torch.Generator`` shared by all the created layers.
        **kwargs: layer constructor arguments (``p``, ``alpha``, ``mix``, ...).

    Returns:
        An :class:`AttachHandle`; ``handle.layers`` maps location -> layer, and
        ``handle.remove()`` detaches them.

    Raises:
        UnknownNameError: a location does not exist (close names are suggested).
        InvalidArgumentError: neither or both of ``after``/``preset``, a preset that does
            not fit the model, or ``generator`` given with a layer instance.

    Example:
        >>> import torchvision
        >>> net = torchvision.models.resnet18()
        >>> handle = attach(net, "mixstyle", after=["layer1", "layer2"], p=0.5)
        >>> sorted(handle.layers)
        ['layer1', 'layer2']
        >>> handle.remove()
    """
    if (after is None) == (preset is None):
        raise InvalidArgumentError("attach() needs exactly one of after=[module names] or preset='name'")
    if preset is not None:
        locations, defaults = _preset_locations(model, preset, layer)
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
