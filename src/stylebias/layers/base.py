"""The one base class of every style layer, its hyperparameters, and the hook that attaches it."""

from __future__ import annotations

import inspect
from typing import Any

import torch
from torch import Tensor, nn

from .. import _random
from .._checks import check_choice, check_prob
from ..errors import InvalidArgumentError, ShapeError
from ..functional.layout import LAYOUTS, check_layout, from_maps, to_maps

__all__ = ["StyleLayer", "layer_hyperparameters", "AttachHook", "style_layers"]

# constructor arguments that control a layer at run time or say what its input looks like,
# rather than describe the method (no hyperparameters: not tuned, not part of a run's identity)
RUNTIME_ARGUMENTS = frozenset({"generator", "active", "layout", "prefix_tokens"})


class StyleLayer(nn.Module):
    """Base class: a parameter-free layer that changes feature statistics during training.

    A subclass implements :meth:`sample_params` (draw the randomness) and :meth:`apply_params`
    (one call into :mod:`stylebias.functional`). ``forward`` does the rest, identically for
    every layer:

    * the identity in eval mode, when ``active`` is False, at ``p = 0``, and for inputs the
      layer cannot use (a batch of one sample, or 1 x 1 maps, which carry no spatial
      statistics; the pAdaIN reference skips those too);
    * otherwise fires with probability ``p`` per forward call (one draw per batch, as in the
      references) using ``generator`` (torch's default generator if None);
    * ``forward(x, params)`` with explicit params skips the draws and always applies them;
    * inputs in another ``layout`` than ``(B, C, H, W)`` (tokens ``(B, N, C)``, channels-last
      ``(B, H, W, C)``) are viewed as maps, the layer runs on them, and the result goes back
      (:mod:`stylebias.functional.layout`; leading class tokens are left unchanged).

    Subclasses see only ``(B, C, H, W)`` maps: :meth:`sample_params`, :meth:`apply_params`,
    :meth:`is_applicable` and :meth:`forward_maps` get the map view of the input.
    Style layers own no parameters or buffers, so they add nothing to a ``state_dict``.

    Args:
        p: probability of applying the layer at a training forward pass.
        generator: optional ``torch.Generator`` for every random draw of this layer.
        active: switch the layer off without changing train/eval mode (see
            :func:`stylebias.disabled`).
        layout: what the input looks like: ``"nchw"`` ``(B, C, H, W)``, ``"nhwc"``
            ``(B, H, W, C)`` or ``"tokens"`` ``(B, N, C)`` (statistics over the tokens of
            each channel).
        prefix_tokens: for ``layout="tokens"``, the number of leading tokens that are no image
            positions (1: ViT's class token, 2: DeiT's class and distillation tokens), left out
            of the statistics and returned unchanged. None: not known yet;
            :func:`stylebias.attach` reads it from the model, and a forward pass without it
            raises.

    Raises:
        InvalidArgumentError: unknown ``layout``, or a negative ``prefix_tokens``.
    """

    def __init__(
        self,
        p: float = 0.5,
        *,
        generator: torch.Generator | None = None,
        active: bool = True,
        layout: str = "nchw",
        prefix_tokens: int | None = None,
    ) -> None:
        super().__init__()
        self.p = check_prob(p, "p")
        if generator is not None and not isinstance(generator, torch.Generator):
            raise TypeError(f"generator must be a torch.Generator or None, got {type(generator).__name__}")
        self.generator = generator
        self.active = bool(active)
        self.layout = check_choice(layout, LAYOUTS, "layout")
        if prefix_tokens is not None and (
            isinstance(prefix_tokens, bool) or not isinstance(prefix_tokens, int) or prefix_tokens < 0
        ):
            raise InvalidArgumentError(f"prefix_tokens must be an int >= 0 or None, got {prefix_tokens!r}")
        self.prefix_tokens = prefix_tokens

    def sample_params(self, x: Tensor, generator: torch.Generator | None = None) -> dict[str, Any]:
        """Draw this layer's randomness for maps ``x`` ``(B, C, H, W)``."""
        raise NotImplementedError

    def apply_params(self, x: Tensor, params: dict[str, Any]) -> Tensor:
        """Apply the layer with the given params: one functional call."""
        raise NotImplementedError

    def is_applicable(self, x: Tensor) -> bool:
        """Whether ``x`` has the batch (> 1) and spatial size (> 1 x 1) the layer needs."""
        return x.shape[0] > 1 and x.shape[2] * x.shape[3] > 1

    def forward(self, x: Tensor, params: dict[str, Any] | None = None) -> Tensor:
        """Run the layer on ``x`` in this layer's ``layout``; ``params`` as in :meth:`forward_maps`.

        Returns ``x`` itself (not a copy) whenever the layer does not fire.
        """
        maps = to_maps(x, self.layout, self.prefix_tokens, f"{type(self).__name__} input")
        out = self.forward_maps(maps, params)
        return x if out is maps else from_maps(out, x, self.layout, self.prefix_tokens)

    def forward_maps(self, x: Tensor, params: dict[str, Any] | None = None) -> Tensor:
        """The layer on ``(B, C, H, W)`` maps: ``x`` itself when it does not fire."""
        if params is not None:
            return self.apply_params(x, params)
        if not (self.training and self.active) or not self.is_applicable(x):
            return x
        if not _random.fires(self.p, self.generator):
            return x
        return self.apply_params(x, self.sample_params(x, self.generator))

    def extra_repr(self) -> str:
        """Every hyperparameter (see :func:`layer_hyperparameters`), stored under its own name."""
        names = [n for n in layer_hyperparameters(type(self)) if hasattr(self, n)]
        text = ", ".join(f"{n}={getattr(self, n)!r}" for n in names)
        if self.layout != "nchw":
            text += f", layout={self.layout!r}"
        if self.layout == "tokens":
            text += f", prefix_tokens={self.prefix_tokens!r}"
        return text + ("" if self.active else ", active=False")


def layer_hyperparameters(layer_cls: type[StyleLayer]) -> dict[str, inspect.Parameter]:
    """The constructor arguments of a style layer class that are hyperparameters, in order.

    That is every named argument except ``generator`` and ``active`` (run-time controls) and
    ``*args``/``**kwargs``. The training hyperparameter table, ``extra_repr`` and the run
    identity all read this one list, so a newly registered layer needs no other declaration.
    """
    params = inspect.signature(layer_cls).parameters.values()
    named = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    return {p.name: p for p in params if p.kind in named and p.name not in RUNTIME_ARGUMENTS}


class AttachHook:
    """Forward hook that runs a style layer on the output of the module it is attached to.

    The layer follows the host module's train/eval mode. It is found again by
    :func:`style_layers` (hooks survive ``copy.deepcopy`` and pickling), so attaching never
    adds submodules or ``state_dict`` entries to the model.
    """

    def __init__(self, layer: StyleLayer, host_name: str) -> None:
        self.layer = layer
        self.host_name = host_name

    def __call__(self, module: nn.Module, args: Any, output: Any) -> Any:
        where = f"{type(self.layer).__name__} attached after {self.host_name!r}"
        if not isinstance(output, Tensor):
            raise ShapeError(
                f"{where} needs a feature tensor, but that module returned a "
                f"{type(output).__name__}; attach it after a module that returns one tensor"
            )
        check_layout(output, self.layer.layout, where, self.layer.prefix_tokens)
        self.layer.training = module.training
        return self.layer(output)


def style_layers(model: nn.Module) -> list[StyleLayer]:
    """Every style layer in ``model``: its submodules and the layers attached by hooks."""
    found: dict[int, StyleLayer] = {}
    for module in model.modules():
        if isinstance(module, StyleLayer):
            found.setdefault(id(module), module)
        for hook in module._forward_hooks.values():
            if isinstance(hook, AttachHook):
                found.setdefault(id(hook.layer), hook.layer)
    return list(found.values())
