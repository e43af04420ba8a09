"""The corruption registry and the record each corruption is registered with."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from .._registry import Registry

__all__ = ["Corruption", "Context", "CORRUPTIONS", "register", "FAMILIES"]

#: Parameter families: ImageNet-C (224 px) and CIFAR-10/100-C (32 px).
FAMILIES = ("imagenet", "cifar")


@dataclass(frozen=True)
class Context:
    """What a corruption kernel may need besides the images and its parameters."""

    family: str
    generator: torch.Generator | None
    frost_dir: str | None = None


@dataclass(frozen=True)
class Corruption:
    """One corruption: a batched kernel and its five severities per parameter family.

    Attributes:
        name: canonical ImageNet-C name, e.g. ``"gaussian_noise"``.
        category: ``"noise"``, ``"blur"``, ``"weather"``, ``"digital"`` (ImageNet-C's groups).
        fn: ``fn(images, param, ctx) -> images`` on ``(B, 3, H, W)`` in [0, 1].
        params: per family, the five severities' parameters (Hendrycks & Dietterich's ``c``).
        extra: one of the four validation corruptions outside the 15 of the benchmark.
    """

    name: str
    category: str
    fn: Callable[[Tensor, Any, Context], Tensor]
    params: dict[str, Sequence[Any]]
    extra: bool = False


CORRUPTIONS: Registry[Corruption] = Registry("corruption")


def register(
    name: str,
    category: str,
    *,
    imagenet: Sequence[Any],
    cifar: Sequence[Any],
    extra: bool = False,
    aliases: tuple[str, ...] = (),
) -> Callable[[Callable[[Tensor, Any, Context], Tensor]], Callable[[Tensor, Any, Context], Tensor]]:
    """Decorator adding a kernel to :data:`CORRUPTIONS` with its parameter tables."""

    def wrap(fn: Callable[[Tensor, Any, Context], Tensor]) -> Callable[[Tensor, Any, Context], Tensor]:
        if len(imagenet) != 5 or len(cifar) != 5:  # pragma: no cover - programming error
            raise ValueError(f"{name}: need 5 severities per family")
        CORRUPTIONS.register(
            name,
            Corruption(name, category, fn, {"imagenet": tuple(imagenet), "cifar": tuple(cifar)}, extra),
            aliases=aliases,
        )
        return fn

    return wrap
