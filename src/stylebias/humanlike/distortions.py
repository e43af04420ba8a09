"""The twelve model-vs-human distortions by name: ``distort(images, "contrast", 0.05)``.

Geirhos et al. (NeurIPS 2018) degraded ImageNet images in twelve parametric ways; model-vs-human
(bethgelab/model-vs-human, ``modelvshuman/datasets/experiments.py``) ships them as datasets
whose condition names this module maps to levels. A level is either a number (any strength in
the distortion's range, not only the experiment's) or one of those condition names::

    distort(x, "contrast", 0.05) == distort(x, "contrast", "c05")
    distort(x, "eidolonII", 16.0, generator=g)      # reach 16, coherence 0.3, grain 10
    distort(x, "false-colour", "False")             # model-vs-human's 'opponent' condition

Levels (model-vs-human's conditions in brackets; every result but colour's and false colour's
is the grey image in all three channels, as the experiments showed):

==================  ======================================  ===================================
colour              0 colour, 1 grey                        cr, bw
contrast            contrast fraction in [0, 1]             c100 .. c01
high-pass           filter std in pixels, > 0; inf = grey   inf, 3.0 .. 0.4
low-pass            filter std in pixels, >= 0              0 .. 40
phase-scrambling    phase noise width in [0, 180] degrees   0 .. 180  (random)
power-equalisation  0 grey, 1 equalised (224 x 224 only)    0, pow
false-colour        0 true colours, 1 opponent colours      True, False
rotation            0, 90, 180, 270 degrees                 0 .. 270
eidolonI/II/III     reach in pixels, >= 0                   1-10-10 .. 128-0-10  (random)
uniform-noise       noise half-width >= 0 (contrast 0.3)    0.0 .. 0.9  (random)
==================  ======================================  ===================================

The operations themselves live in :mod:`.distortion_ops` and :mod:`.eidolon`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from .._registry import Registry
from ..errors import InvalidArgumentError
from .distortion_ops import (
    ROTATION_ANGLES,
    false_colour,
    grayscale_contrast,
    greyscale,
    high_pass,
    low_pass,
    phase_scramble,
    power_equalise,
    rotate,
    uniform_noise,
)
from .eidolon import EIDOLON_COHERENCE, eidolon

__all__ = [
    "Distortion",
    "DISTORTIONS",
    "distort",
    "CONTRAST_LEVELS",
    "HIGH_PASS_STDS",
    "LOW_PASS_STDS",
    "PHASE_NOISE_WIDTHS",
    "ROTATION_ANGLES",
    "EIDOLON_REACHES",
    "UNIFORM_NOISE_WIDTHS",
]

# model-vs-human's levels, in its condition order (experiments.py; the reference's plots agree).
CONTRAST_LEVELS = (1.0, 0.5, 0.3, 0.15, 0.1, 0.05, 0.03, 0.01)
HIGH_PASS_STDS = (math.inf, 3.0, 1.5, 1.0, 0.7, 0.55, 0.45, 0.4)
LOW_PASS_STDS = (0.0, 1.0, 3.0, 5.0, 7.0, 10.0, 15.0, 40.0)
PHASE_NOISE_WIDTHS = (0.0, 30.0, 60.0, 90.0, 120.0, 150.0, 180.0)
EIDOLON_REACHES = (1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0)
UNIFORM_NOISE_WIDTHS = (0.0, 0.03, 0.05, 0.1, 0.2, 0.35, 0.6, 0.9)


@dataclass(frozen=True)
class Distortion:
    """One distortion: its operation, its allowed levels and model-vs-human's conditions.

    Attributes:
        name: model-vs-human's dataset name.
        op: ``op(images, level, generator) -> images``.
        conditions: model-vs-human condition name -> level.
        allowed: the levels accepted, in words (for error messages).
        accepts: whether a numeric level is allowed.
        random: whether the result depends on the generator.
    """

    name: str
    op: Callable[[Tensor, Any, torch.Generator | None], Tensor]
    conditions: dict[str, Any]
    allowed: str
    accepts: Callable[[float], bool]
    random: bool = False

    def level(self, level: Any) -> Any:
        """``level`` as the number the operation takes; condition names are translated."""
        if isinstance(level, str):
            if level in self.conditions:
                return self.conditions[level]
            raise InvalidArgumentError(
                f"{self.name}: unknown condition {level!r}; model-vs-human's conditions are "
                f"{', '.join(map(repr, self.conditions))}, or pass a number ({self.allowed})"
            )
        try:
            value = float(level)
        except (TypeError, ValueError):
            raise TypeError(f"{self.name}: level must be a number or a condition name, got {level!r}") from None
        if value != value or not self.accepts(value):
            raise InvalidArgumentError(f"{self.name}: level must be {self.allowed}; got {level!r}")
        return value

    def __call__(self, images: Tensor, level: Any, generator: torch.Generator | None = None) -> Tensor:
        """Distort ``(B, 3, H, W)`` RGB in [0, 1] at ``level``; ``generator`` for random ones."""
        return self.op(images, self.level(level), generator)


def _conditions(names: tuple[str, ...], levels: tuple[Any, ...]) -> dict[str, Any]:
    return dict(zip(names, levels))


def _binary(value: float) -> bool:
    return value in (0.0, 1.0)


def _colour(images: Tensor, level: float, generator: torch.Generator | None) -> Tensor:
    return greyscale(images) if level else images.clone()


def _power(images: Tensor, level: float, generator: torch.Generator | None) -> Tensor:
    # The experiment's 'original' condition is the grey image, as for every grey experiment.
    return power_equalise(images) if level else greyscale(images)


def _false(images: Tensor, level: float, generator: torch.Generator | None) -> Tensor:
    return false_colour(images) if level else images.clone()


def _eidolon_op(coherence: float) -> Callable[[Tensor, float, torch.Generator | None], Tensor]:
    def op(images: Tensor, reach: float, generator: torch.Generator | None) -> Tensor:
        return eidolon(images, reach, coherence, generator)

    return op


def _eidolon_conditions(coherence: float) -> dict[str, float]:
    tag = str(int(round(coherence * 10)))
    return {f"{int(r)}-{tag}-10": r for r in EIDOLON_REACHES}


def _finite_at_least_zero(v: float) -> bool:
    return 0.0 <= v < math.inf


DISTORTIONS: Registry[Distortion] = Registry("distortion")

for _d, _aliases in [
    (
        Distortion("colour", _colour, {"cr": 0.0, "bw": 1.0}, "0 (colour) or 1 (greyscale)", _binary),
        ("color", "greyscale", "grayscale"),
    ),
    (
        Distortion(
            "contrast",
            lambda x, c, g: grayscale_contrast(x, c),
            _conditions(("c100", "c50", "c30", "c15", "c10", "c05", "c03", "c01"), CONTRAST_LEVELS),
            "a contrast fraction in [0, 1]",
            lambda v: 0.0 <= v <= 1.0,
        ),
        (),
    ),
    (
        Distortion(
            "high-pass",
            lambda x, s, g: high_pass(x, s),
            _conditions(("inf", "3.0", "1.5", "1.0", "0.7", "0.55", "0.45", "0.4"), HIGH_PASS_STDS),
            "a filter standard deviation > 0 in pixels (inf: unfiltered)",
            lambda v: v > 0.0,
        ),
        ("highpass",),
    ),
    (
        Distortion(
            "low-pass",
            lambda x, s, g: low_pass(x, s),
            _conditions(("0", "1", "3", "5", "7", "10", "15", "40"), LOW_PASS_STDS),
            "a finite filter standard deviation >= 0 in pixels",
            _finite_at_least_zero,
        ),
        ("lowpass",),
    ),
    (
        Distortion(
            "phase-scrambling",
            lambda x, w, g: phase_scramble(x, w, g),
            _conditions(tuple(str(int(w)) for w in PHASE_NOISE_WIDTHS), PHASE_NOISE_WIDTHS),
            "a phase noise width in [0, 180] degrees",
            lambda v: 0.0 <= v <= 180.0,
            random=True,
        ),
        ("phase-noise",),
    ),
    (
        Distortion("power-equalisation", _power, {"0": 0.0, "pow": 1.0}, "0 (original) or 1 (equalised)", _binary),
        ("power-equalization",),
    ),
    (
        Distortion("false-colour", _false, {"True": 0.0, "False": 1.0}, "0 (true) or 1 (opponent colours)", _binary),
        ("false-color", "opponent-colour"),
    ),
    (
        Distortion(
            "rotation",
            lambda x, a, g: rotate(x, int(a)),
            {str(a): float(a) for a in ROTATION_ANGLES},
            "an angle of 0, 90, 180 or 270 degrees",
            lambda v: v in ROTATION_ANGLES,
        ),
        (),
    ),
    *[
        (
            Distortion(
                name,
                _eidolon_op(coherence),
                _eidolon_conditions(coherence),
                "a finite reach >= 0 in pixels",
                _finite_at_least_zero,
                random=True,
            ),
            (),
        )
        for name, coherence in EIDOLON_COHERENCE.items()
    ],
    (
        Distortion(
            "uniform-noise",
            lambda x, w, g: uniform_noise(x, w, g),
            _conditions(("0.0", "0.03", "0.05", "0.1", "0.2", "0.35", "0.6", "0.9"), UNIFORM_NOISE_WIDTHS),
            "a finite noise half-width >= 0",
            _finite_at_least_zero,
            random=True,
        ),
        ("noise",),
    ),
]:
    DISTORTIONS.register(_d.name, _d, aliases=_aliases)


def distort(images: Tensor, name: str, level: Any, generator: torch.Generator | None = None) -> Tensor:
    """Apply the distortion ``name`` at ``level`` to a batch.

    Args:
        images: ``(B, 3, H, W)`` float RGB in [0, 1] (power equalisation: 224 x 224; phase
            scrambling: even H and W).
        name: one of ``DISTORTIONS.list()`` (case, '-' and '_' ignored).
        level: a number in the distortion's range or a model-vs-human condition name.
        generator: source of randomness for phase-scrambling, uniform-noise and the eidolons.

    Returns:
        ``(B, 3, H, W)`` in [0, 1], same dtype and device (rotation of non-square images swaps
        H and W).

    Raises:
        UnknownNameError: ``name`` is not a distortion (the message suggests close names).
        InvalidArgumentError: ``level`` is outside the distortion's range.
    """
    return DISTORTIONS.get(name)(images, level, generator)
