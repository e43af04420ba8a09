"""The 16 entry-level categories of Geirhos et al. and the ImageNet -> 16-class decision.

A 1000-way ImageNet classifier is turned into a 16-way one by averaging its softmax
probabilities over each category's ImageNet classes (``knife`` = class 499 alone, ``dog`` = 109
classes, ...) and taking the category with the highest mean, as in texture-vs-shape's
``ImageNetProbabilitiesTo16ClassesMapping`` and model-vs-human's decision mapping of the same
name. The index lists ship as ``stylebias/data/imagenet16.json``.

Reference:
    Geirhos et al., ImageNet-trained CNNs are biased towards texture; increasing shape bias
    improves accuracy and robustness, ICLR 2019 (arXiv:1811.12231).
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib.resources import files
from types import MappingProxyType
from collections.abc import Mapping

import torch
from torch import Tensor

from .._checks import check_shape
from ..errors import ModelOutputError

__all__ = [
    "CATEGORIES",
    "NUM_IMAGENET_CLASSES",
    "imagenet_indices",
    "aggregation_matrix",
    "probabilities_to_16",
    "logits_to_decisions",
]

NUM_IMAGENET_CLASSES = 1000


@lru_cache(maxsize=1)
def _load() -> Mapping[str, tuple[int, ...]]:
    text = (files("stylebias") / "data" / "imagenet16.json").read_text(encoding="utf-8")
    raw = json.loads(text)["categories"]
    return MappingProxyType({name: tuple(int(i) for i in raw[name]) for name in sorted(raw)})


def imagenet_indices() -> Mapping[str, tuple[int, ...]]:
    """Read-only ``{category: ImageNet class indices}`` for the 16 categories (sorted by name)."""
    return _load()


CATEGORIES: tuple[str, ...] = tuple(_load())
"""The 16 categories in alphabetical order: airplane, bear, bicycle, ..., truck."""


@lru_cache(maxsize=8)
@torch.inference_mode(False)  # cached: an inference tensor would break a later Grad-CAM's backward
def _matrix(dtype: torch.dtype, device: str) -> Tensor:
    mat = torch.zeros(NUM_IMAGENET_CLASSES, len(CATEGORIES), dtype=dtype)
    for col, name in enumerate(CATEGORIES):
        idx = torch.tensor(imagenet_indices()[name])
        mat[idx, col] = 1.0 / len(idx)
    return mat.to(device)


OUTPUT_WIDTHS = (NUM_IMAGENET_CLASSES, 16)  # ImageNet logits, or the 16 categories themselves


def aggregation_matrix(dtype: torch.dtype = torch.float32, device: str | torch.device = "cpu") -> Tensor:
    """``(1000, 16)`` matrix ``M`` with ``probs @ M`` = mean probability of each category.

    ``M[i, c] = 1 / |indices(c)|`` if ImageNet class ``i`` belongs to category ``c``, else 0.
    """
    return _matrix(dtype, str(torch.device(device)))


def probabilities_to_16(probabilities: Tensor) -> Tensor:
    """Mean ImageNet softmax probability of each of the 16 categories.

    Args:
        probabilities: ``(B, 1000)`` softmax output.

    Returns:
        ``(B, 16)``; column ``c`` belongs to ``CATEGORIES[c]``.
    """
    check_shape(probabilities, f"B {NUM_IMAGENET_CLASSES}", "probabilities")
    return probabilities @ aggregation_matrix(probabilities.dtype, probabilities.device)


def logits_to_decisions(logits: Tensor) -> list[str]:
    """The 16-class decision for each row of a classifier's logits.

    For ImageNet logits ``(B, 1000)``: softmax (in float32), mean per category, highest mean
    wins (the first category in alphabetical order on an exact tie, as texture-vs-shape's loop
    does). For a 16-way classifier ``(B, 16)`` whose outputs are the categories in
    :data:`CATEGORIES` order (alphabetical, model-vs-human's), the highest logit wins.

    Raises:
        ModelOutputError: ``logits`` is neither ``(B, 1000)`` nor ``(B, 16)``.
    """
    if not isinstance(logits, Tensor) or logits.dim() != 2 or logits.shape[1] not in OUTPUT_WIDTHS:
        got = tuple(logits.shape) if isinstance(logits, Tensor) else type(logits).__name__
        raise ModelOutputError(
            f"model returned {got} but a 1000-way ImageNet classifier is needed (the 16-class decision "
            f"averages the softmax over ImageNet classes), or a 16-way one whose outputs are the "
            f"categories in order: {', '.join(CATEGORIES)}"
        )
    if logits.shape[1] == len(CATEGORIES):
        best = logits.float().argmax(dim=1).tolist()
    else:
        best = probabilities_to_16(torch.softmax(logits.float(), dim=1)).argmax(dim=1).tolist()
    return [CATEGORIES[i] for i in best]
