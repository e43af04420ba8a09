"""Shape bias and 16-class accuracy from trials (one decision per image).

Shape bias (Geirhos et al., ICLR 2019; model-vs-human ``ShapeBias``): over the cue-conflict
images whose shape and texture categories differ, ``shape / (shape + texture)``, where a
"shape" decision names the image's shape category and a "texture" decision its texture
category. Other decisions count towards ``n`` only (``accuracy = (shape + texture) / n``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..errors import DataError
from .categories import CATEGORIES

__all__ = ["Trial", "ShapeBiasResult", "shape_bias", "accuracy"]


@dataclass(frozen=True)
class Trial:
    """One decision.

    Attributes:
        imagename: file name of the stimulus.
        category: true category (the shape category of a cue-conflict image).
        response: the decision: one of the 16 categories (humans may answer ``"na"``).
        texture: texture category of a cue-conflict image, else ``None``.
    """

    imagename: str
    category: str
    response: str
    texture: str | None = None


@dataclass
class ShapeBiasResult:
    """Metrics of one source (a model run or a raw-data CSV file).

    Attributes:
        source: model spec, subject name or file name.
        stimuli: ``"cue-conflict"``, ``"silhouettes"``, ``"edges"`` (or another set name).
        n: trials counted: cue-conflict images with shape != texture; all images otherwise.
        accuracy: cue-conflict: ``(shape + texture) / n``; otherwise ``correct / n``.
        shape_bias: ``shape / (shape + texture)``; ``None`` for non-cue-conflict sets or when
            there is no shape or texture decision.
        shape: number of shape decisions (cue-conflict) or of correct decisions (others).
        texture: number of texture decisions; ``None`` for non-cue-conflict sets.
        per_category: per true (shape) category: shape bias (cue-conflict) or accuracy;
            ``None`` where undefined.
        observer: ``"human"`` or ``"model"``.
        trials: the decisions the metrics were computed from.
    """

    source: str
    stimuli: str
    n: int
    accuracy: float
    shape_bias: float | None
    shape: int
    texture: int | None
    per_category: dict[str, float | None]
    observer: str = "model"
    trials: list[Trial] = field(default_factory=list, repr=False)

    def to_dict(self) -> dict[str, Any]:
        """The JSON object of ``--json``: source, stimuli, shape_bias, shape, texture, n,
        accuracy, per_category, observer."""
        return {
            "source": self.source,
            "stimuli": self.stimuli,
            "shape_bias": self.shape_bias,
            "shape": self.shape,
            "texture": self.texture,
            "n": self.n,
            "accuracy": self.accuracy,
            "per_category": dict(self.per_category),
            "observer": self.observer,
        }


def _ratio(num: int, den: int) -> float | None:
    return num / den if den else None


def shape_bias(
    trials: Iterable[Trial], source: str = "", *, observer: str = "model", stimuli: str = "cue-conflict"
) -> ShapeBiasResult:
    """Shape bias, shape/texture counts, accuracy and per-category shape bias.

    Trials whose texture equals their category (no cue conflict) are left out.

    Args:
        trials: decisions on cue-conflict images (``texture`` set on each).
        source: name of the decision maker.

    Raises:
        DataError: no trial has a texture category, or no trial has a cue conflict.

    Example:
        >>> t = [Trial("a1-b1.png", "a", "a", "b"), Trial("a2-b1.png", "a", "b", "b")]
        >>> shape_bias(t).shape_bias
        0.5
    """
    rows = list(trials)
    if any(t.texture is None for t in rows):
        raise DataError(f"{source or 'trials'}: every cue-conflict trial needs a texture category")
    conflict = [t for t in rows if t.texture != t.category]
    if not conflict:
        raise DataError(
            f"{source or 'trials'}: no cue-conflict trials (all {len(rows)} have shape = texture); "
            f"shape bias is undefined"
        )
    n_shape = sum(t.response == t.category for t in conflict)
    n_texture = sum(t.response == t.texture for t in conflict)
    per_category: dict[str, float | None] = {}
    for cat in _categories(conflict):
        sub = [t for t in conflict if t.category == cat]
        s = sum(t.response == t.category for t in sub)
        x = sum(t.response == t.texture for t in sub)
        per_category[cat] = _ratio(s, s + x)
    return ShapeBiasResult(
        source=source,
        stimuli=stimuli,
        n=len(conflict),
        accuracy=(n_shape + n_texture) / len(conflict),
        shape_bias=_ratio(n_shape, n_shape + n_texture),
        shape=n_shape,
        texture=n_texture,
        per_category=per_category,
        observer=observer,
        trials=rows,
    )


def accuracy(
    trials: Iterable[Trial], source: str = "", *, observer: str = "model", stimuli: str = "silhouettes"
) -> ShapeBiasResult:
    """16-class accuracy, overall and per category (silhouettes, edges, ...).

    Raises:
        DataError: no trials.
    """
    rows = list(trials)
    if not rows:
        raise DataError(f"{source or 'trials'}: no trials to compute accuracy from")
    correct = sum(t.response == t.category for t in rows)
    per_category: dict[str, float | None] = {}
    for cat in _categories(rows):
        sub = [t for t in rows if t.category == cat]
        per_category[cat] = sum(t.response == t.category for t in sub) / len(sub)
    return ShapeBiasResult(
        source=source,
        stimuli=stimuli,
        n=len(rows),
        accuracy=correct / len(rows),
        shape_bias=None,
        shape=correct,
        texture=None,
        per_category=per_category,
        observer=observer,
        trials=rows,
    )


def _categories(rows: Sequence[Trial]) -> list[str]:
    """Categories present, in the order of :data:`CATEGORIES` (unknown ones after, sorted)."""
    present = {t.category for t in rows}
    return [c for c in CATEGORIES if c in present] + sorted(present - set(CATEGORIES))
