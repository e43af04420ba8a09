"""The one base class of every style layer, its hyperparameters, and the hook that attaches it."""

from __future__ import annotations

import inspect
from typing import Any

import torch
from torch import Tensor, nn

from .. import _random
from .._checks import check_prob, check_shape
from ..errors import ShapeError

__all__ = ["StyleLayer", "layer_hyperparameters", "AttachHook", "style_layers"]

# constructor arguments that control a layer at run time rather than describe it
RUNTIME_ARGUMENTS = frozenset({"generator", "active"})


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
    * ``forward(x, params)`` with explicit params skips the draws and always applies them.

    Style layers own no parameters or buffers, so they add nothing to a ``state_dict``.

    Args:
        p: probability of applying the layer at a training forward pass.
        generator: optional ``torch.Generator`` for every random draw of this layer.
        active: switch the layer off without changing train/eval mode (see
            :func:`stylebias.disabled`).
    """

    def __init__(
        self, p: float = 0.5, *, generator: torch.Generator | None = None, active: bool = True
    ) -> None:
        super().__init__()
        self.p = check_prob(p, "p")
        if generator is not None and not isinstance(generator, torch.Generator):
            raise TypeError(f"generator must be a torch.Generator or None, got {type(generator).__name__}")
        self.generator = generator
        self.active = bool(active)

    def sample_params(self, x: Tensor, generator: torch.Generator | None = None) -> dict[str, Any]:
        """Draw this layer's randomness for input ``x`` ``(B, C, H, W)``."""
        raise NotImplementedError

    def apply_params(self, x: Tensor, params: dict[str, Any]) -> Tensor:
        """Apply the layer with the given params: one functional call."""
        raise NotImplementedError

    def is_applicable(self, x: Tensor) -> bool:
        """Whether ``x`` has the batch (> 1) and spatial size (> 1 x 1) the layer needs."""
        return x.shape[0] > 1 and x.shape[2] * x.shape[3] > 1

    def forward(self, x: Tensor, params: dict[str, Any] | None = None) -> Tensor:
        check_shape(x, "B C H W", f"{type(self).__name__} input")
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
        if not isinstance(output, Tensor) or output.dim() != 4:
            got = f"shape {tuple(output.shape)}" if isinstance(output, Tensor) else type(output).__name__
            raise ShapeError(
                f"{type(self.layer).__name__} attached after {self.host_name!r} needs a "
                f"(B, C, H, W) feature map, but that module returned {got}; attach it after a "
                "convolutional stage instead"
            )
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
