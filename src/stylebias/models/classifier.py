"""``build_classifier(spec, num_classes)``: any model spec as a trainable ``nn.Module`` with
``num_classes`` outputs, and the one head-resizing rule every source shares.

The network is returned bare (no :class:`~stylebias.models.Normalized` wrapper), so module
names (attachment presets, ``layer_after``) and state_dict keys are the network's own. It takes
RGB in [0, 1]: pretrained weights get their normalisation as a forward pre-hook on the network
(no parameters, no state_dict entries); a network built without weights learns from [0, 1].
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor, nn

from ..errors import InvalidArgumentError
from .preprocess import Normalized, Preprocess
from .spec import MODELS, LoadedModel, ModelSpec, _find_callable, _load_timm, _load_torchvision, parse_spec

__all__ = ["build_classifier", "builder_options", "resize_head", "head_width", "IDENTITY_PREPROCESS"]

# [0, 1] in, no resize or crop: the preprocessing of the small registered networks
IDENTITY_PREPROCESS = Preprocess(resize=None, crop=None, mean=(0.0, 0.0, 0.0), std=(1.0, 1.0, 1.0))


def _last_linear(model: nn.Module) -> tuple[str, nn.Linear] | None:
    last = None
    for name, module in model.named_modules():
        if isinstance(module, nn.Linear):
            last = (name, module)
    return last


def head_width(model: nn.Module) -> int | None:
    """The number of outputs of ``model``'s classifier head (timm's ``num_classes``, else the
    last ``nn.Linear``'s ``out_features``), or None when it has neither."""
    if hasattr(model, "reset_classifier") and isinstance(getattr(model, "num_classes", None), int):
        return int(model.num_classes)
    last = _last_linear(model)
    return None if last is None else last[1].out_features


def resize_head(model: nn.Module, num_classes: int) -> nn.Module:
    """Give ``model`` a fresh ``num_classes``-way head unless it already has that width.

    The rule: a timm model's ``reset_classifier(num_classes)``; otherwise the last ``nn.Linear``
    in module order is replaced by a new one with the same input width, bias and device
    (initialised from the global RNG, like any new layer). Returns ``model`` (changed in place).

    Raises:
        InvalidArgumentError: the width differs and the model has no ``nn.Linear`` head.
    """
    if head_width(model) == num_classes:
        return model
    if hasattr(model, "reset_classifier") and isinstance(getattr(model, "num_classes", None), int):
        model.reset_classifier(num_classes)
        return model
    last = _last_linear(model)
    if last is None:
        raise InvalidArgumentError(
            f"{type(model).__name__} has no nn.Linear classifier head to resize to {num_classes} outputs; "
            "build it with that many outputs (a callable may take a num_classes argument)"
        )
    name, old = last
    parent_name, _, attr = name.rpartition(".")
    parent = model.get_submodule(parent_name) if parent_name else model
    new = nn.Linear(old.in_features, num_classes, bias=old.bias is not None)
    setattr(parent, attr, new.to(device=old.weight.device, dtype=old.weight.dtype))
    return model


class _NormalizeInput:
    """A forward pre-hook: ``x -> (x - mean) / std`` on the first positional input."""

    def __init__(self, mean: tuple[float, ...], std: tuple[float, ...]) -> None:
        self.mean, self.std = mean, std

    def __call__(self, module: nn.Module, args: tuple[Any, ...]) -> tuple[Any, ...]:
        x: Tensor = args[0]
        mean = torch.tensor(self.mean, dtype=x.dtype, device=x.device).view(1, -1, 1, 1)
        std = torch.tensor(self.std, dtype=x.dtype, device=x.device).view(1, -1, 1, 1)
        return ((x - mean) / std, *args[1:])


def _accepts(factory: Callable[..., Any], name: str) -> bool:
    try:
        return name in inspect.signature(factory).parameters
    except (TypeError, ValueError):  # builtins without a signature
        return False


def builder_options(spec: str | ModelSpec) -> frozenset[str]:
    """The keyword options ``build_classifier`` passes on for ``spec``: those of a registered
    model's factory (e.g. ``{"width"}`` for ``small_resnet``); none for other sources (their
    files are not imported to find out)."""
    parsed = spec if isinstance(spec, ModelSpec) else parse_spec(spec)
    if parsed.kind != "registered":
        return frozenset()
    params = inspect.signature(MODELS.get(parsed.target).factory).parameters
    return frozenset(params) - {"pretrained", "num_classes"}


def _call_with_classes(factory: Callable[..., Any], num_classes: int, args: tuple[Any, ...],
                       options: dict[str, Any], where: str) -> Any:
    unknown = sorted(k for k in options if not _accepts(factory, k))
    if unknown:
        raise InvalidArgumentError(f"{where} takes no option(s) {', '.join(unknown)}")
    if _accepts(factory, "num_classes"):
        options = {**options, "num_classes": num_classes}
    return factory(*args, **options)


def build_classifier(spec: str | ModelSpec, num_classes: int, *, pretrained: bool = False,
                     image_size: int | None = None, **options: Any) -> nn.Module:
    """A network with ``num_classes`` outputs from any model spec, taking RGB in [0, 1].

    torchvision without weights and timm build the head at that width themselves (the same
    initialisation as asking them directly); an ``open_clip:`` image encoder gets a new
    linear head on its embedding (:class:`~stylebias.models.clip.ImageEncoderClassifier`); a registered model or a user callable gets
    ``num_classes=`` when its signature has that argument. Any other head is resized by
    :func:`resize_head`. Pretrained weights whose mean/std are not (0, 1) get an
    input-normalising forward pre-hook.

    Args:
        spec: as :func:`~stylebias.models.load_model` (``torchvision:NAME[.WEIGHTS]``,
            ``timm:NAME``, ``open_clip:ARCH[/PRETRAINED]``, ``file.py:callable``,
            ``package.module:callable``, a registered name).
        num_classes: outputs of the head.
        pretrained: load pretrained weights (torchvision, timm, open_clip, registered models).
        image_size: side of the square input images, if known: timm models with a fixed
            input size (ViT, DeiT, Swin) are built for it (``img_size``); others ignore it.
        options: keyword arguments for a registered factory or a user callable
            (see :func:`builder_options`); ones it does not take are refused.

    Raises:
        InvalidArgumentError, UnknownNameError, MissingFileError: as ``load_model``; also
            an unknown option, a result that is not an ``nn.Module``, or a head that cannot
            be resized.
    """
    parsed = spec if isinstance(spec, ModelSpec) else parse_spec(spec)
    if parsed.kind in ("torchvision", "timm", "open_clip") and options:
        raise InvalidArgumentError(f"model {parsed.text!r} takes no option(s) {', '.join(sorted(options))}")
    if parsed.kind in ("torchvision", "timm"):
        # torchvision's builders refuse num_classes together with weights: resize afterwards
        if parsed.kind == "timm":
            model, preprocess = _load_timm(parsed, pretrained, num_classes, image_size)
        else:
            model, preprocess = _load_torchvision(parsed, pretrained, None if pretrained else num_classes)
    elif parsed.kind == "open_clip":  # the image encoder with a linear head
        from .clip import load_open_clip_encoder

        model, preprocess = load_open_clip_encoder(parsed.target, parsed.attr, pretrained, num_classes)
    elif parsed.kind == "registered":
        entry = MODELS.get(parsed.target)
        model = _call_with_classes(entry.factory, num_classes, (pretrained,), options, f"model {parsed.text!r}")
        preprocess = entry.preprocess
    else:
        model = _call_with_classes(_find_callable(parsed), num_classes, (), options, f"model callable {parsed.text!r}")
        preprocess = IDENTITY_PREPROCESS  # a user's network normalises (or not) itself
    if isinstance(model, LoadedModel):
        model, preprocess = model.model, IDENTITY_PREPROCESS  # normalises inside already
    if not isinstance(model, nn.Module):
        raise InvalidArgumentError(f"model spec {parsed.text!r} produced a {type(model).__name__}, not a torch.nn.Module")
    if isinstance(model, Normalized):
        resize_head(model.model, num_classes)
    else:
        resize_head(model, num_classes)
    if pretrained and (preprocess.mean, preprocess.std) != (IDENTITY_PREPROCESS.mean, IDENTITY_PREPROCESS.std):
        model.register_forward_pre_hook(_NormalizeInput(preprocess.mean, preprocess.std))
    return model
