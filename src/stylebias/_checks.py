"""Argument checks shared by the whole package.

They run always (never ``assert``), cost almost nothing on success and build their message only
on failure.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import torch

from ._registry import close_matches
from .errors import InvalidArgumentError, ShapeError

__all__ = ["check_shape", "check_prob", "check_choice", "check_positive", "check_tensor", "check_module_names"]


def check_tensor(x: Any, name: str = "input") -> None:
    """Raise ``TypeError`` unless ``x`` is a ``torch.Tensor``."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")


def check_shape(x: Any, spec: str, name: str = "input") -> None:
    """Check ``x`` against a shape spec such as ``"B C H W"`` or ``"B 3 H W"``.

    Letters match any size, integers must match exactly.

    Raises:
        TypeError: ``x`` is not a tensor.
        ShapeError: wrong number of dimensions or a fixed size differs.
    """
    check_tensor(x, name)
    dims = spec.split()
    if x.dim() != len(dims):
        raise ShapeError(
            f"{name} must have shape ({', '.join(dims)}), a {len(dims)}-D tensor; "
            f"got a {x.dim()}-D tensor of shape {tuple(x.shape)}"
        )
    for axis, (want, got) in enumerate(zip(dims, x.shape)):
        if want.isdigit() and int(want) != got:
            raise ShapeError(
                f"{name} must have shape ({', '.join(dims)}); dimension {axis} should be "
                f"{want} but is {got} (shape {tuple(x.shape)})"
            )


def check_prob(value: Any, name: str) -> float:
    """Return ``value`` as a float after checking it is a probability in [0, 1]."""
    try:
        p = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a number in [0, 1], got {value!r}") from None
    if not 0.0 <= p <= 1.0:
        raise InvalidArgumentError(f"{name} must be a probability in [0, 1], got {p}")
    return p


def check_positive(value: Any, name: str, *, allow_zero: bool = False) -> float:
    """Return ``value`` as a float after checking it is > 0 (or >= 0 with ``allow_zero``)."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a number, got {value!r}") from None
    if not (v >= 0.0 if allow_zero else v > 0.0) or v != v:
        bound = ">= 0" if allow_zero else "> 0"
        raise InvalidArgumentError(f"{name} must be {bound}, got {value!r}")
    return v


def check_choice(value: Any, choices: Iterable[str], name: str) -> str:
    """Return ``value`` after checking it is one of ``choices``."""
    options = tuple(choices)
    if value not in options:
        raise InvalidArgumentError(
            f"{name} must be one of {', '.join(repr(c) for c in options)}; got {value!r}"
        )
    return value


def _inside_wrapper(model: torch.nn.Module, name: str, modules: dict[str, torch.nn.Module]) -> str:
    """``name`` as the user knows it from their network (``"layer3"``), spelt as it is inside
    stylebias's input-normalising wrapper (``"model.layer3"``) when ``model`` is that wrapper."""
    from .models.preprocess import Normalized

    if name and name not in modules and isinstance(model, Normalized) and f"model.{name}" in modules:
        return f"model.{name}"
    return name


def check_module_names(model: torch.nn.Module, names: Sequence[str], what: str = "layer") -> list[torch.nn.Module]:
    """The modules ``names`` name in ``model.named_modules()``, in order.

    Inside stylebias's normalising wrapper (:class:`~stylebias.models.preprocess.Normalized`,
    which every loaded model spec wears) the wrapped network's own names work too: ``layer3``
    for ``model.layer3``.

    Raises:
        InvalidArgumentError: a name the model does not have; the message suggests the closest
            module names ("did you mean") or lists the first few.
    """
    modules = dict(model.named_modules())
    names = [_inside_wrapper(model, n, modules) for n in names]
    missing = [n for n in names if not n or n not in modules]
    if missing:
        known = [n for n in modules if n]
        hints = [f"{n!r} (did you mean {', '.join(close)}?)" if (close := close_matches(n, known)) else repr(n)
                 for n in missing]
        raise InvalidArgumentError(
            f"model has no {what} {', '.join(hints)}: no module named {', '.join(map(repr, missing))} in "
            f"model.named_modules(), e.g. {', '.join(known[:5])}"
        )
    return [modules[n] for n in names]
