"""16-class decisions from any classifier head: ImageNet, the 16 categories, or a user mapping.

* ``(B, 1000)`` ImageNet logits: model-vs-human's ``ImageNetProbabilitiesTo16ClassesMapping``
  (softmax, mean probability over each category's ImageNet classes, highest wins);
* ``(B, 16)`` logits in :data:`~stylebias.shapebias.CATEGORIES` order: the highest wins;
* any other head through a **label mapping**, JSON ``{category: [output indices]}``
  (``{"dog": [0, 3], "cat": [1]}``): softmax over all outputs, mean probability over each
  mapped category's outputs, highest wins; categories left out are never answered.

A mapping, when given, is used whatever the width (also for a 1000-way head, e.g. to compare
another class subset).

>>> decide = decision_function(3, {"dog": [0, 2], "cat": [1]})
>>> decide(torch.tensor([[0.0, 5.0, 0.0], [4.0, 0.0, 4.0]]))
['cat', 'dog']
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import torch
from torch import Tensor

from .._registry import close_matches
from ..errors import DataError, InvalidArgumentError, ModelOutputError
from ..shapebias.categories import CATEGORIES, NUM_IMAGENET_CLASSES, logits_to_decisions

__all__ = ["LabelMapping", "read_label_mapping", "check_label_mapping", "mapping_hash", "decision_function"]

LabelMapping = Mapping[str, Sequence[int]]
_EXAMPLE = '{"airplane": [0], "dog": [3, 7], ...}'


def read_label_mapping(path: str | os.PathLike[str]) -> dict[str, tuple[int, ...]]:
    """A label mapping from a JSON file, checked (:func:`check_label_mapping`).

    Raises:
        DataError: the file is missing, not JSON, or not a valid mapping (the message names it).
    """
    file = Path(path)
    if not file.is_file():
        raise DataError(f"label mapping {file} (--label-map) does not exist; write a JSON object {_EXAMPLE}")
    try:
        raw = json.loads(file.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise DataError(f"label mapping {file} (--label-map) is not valid JSON ({err}); write {_EXAMPLE}") from None
    try:
        return check_label_mapping(raw, source=str(file))
    except InvalidArgumentError as err:
        raise DataError(str(err)) from None


def check_label_mapping(mapping: object, source: str = "label mapping") -> dict[str, tuple[int, ...]]:
    """The mapping with its index lists as tuples, in :data:`CATEGORIES` order.

    Raises:
        InvalidArgumentError: not an object of category -> non-empty list of output indices
            (ints >= 0), an unknown category (with the closest names), or an output index
            given to two categories.
    """
    fix = f"a label mapping is a JSON object of category -> output indices, e.g. {_EXAMPLE}"
    if not isinstance(mapping, Mapping) or not mapping:
        raise InvalidArgumentError(f"{source}: got {type(mapping).__name__} {str(mapping)[:60]}; {fix}")
    unknown = [k for k in mapping if k not in CATEGORIES]
    if unknown:
        hints = [f"{k!r}" + (f" (did you mean {close[0]!r}?)" if (close := close_matches(str(k), CATEGORIES)) else "")
                 for k in unknown]
        raise InvalidArgumentError(f"{source}: unknown categor{'y' if len(unknown) == 1 else 'ies'} "
                                   f"{', '.join(hints)}; the 16 are {', '.join(CATEGORIES)}")
    owner: dict[int, str] = {}
    out = {}
    for category in CATEGORIES:
        if category not in mapping:
            continue
        indices = mapping[category]
        if (not isinstance(indices, (list, tuple)) or not indices
                or not all(isinstance(i, int) and not isinstance(i, bool) and i >= 0 for i in indices)):
            raise InvalidArgumentError(f"{source}: {category!r} maps to {indices!r}; each category needs a "
                                       f"non-empty list of output indices (integers >= 0); {fix}")
        for i in indices:
            if i in owner and owner[i] != category:
                raise InvalidArgumentError(f"{source}: output {i} is mapped to both {owner[i]!r} and "
                                           f"{category!r}; give each output to one category")
            owner[i] = category
        out[category] = tuple(dict.fromkeys(indices))
    return out


def mapping_hash(mapping: LabelMapping | None) -> str | None:
    """sha256 of the checked mapping (``None`` without one): its identity in a run."""
    if mapping is None:
        return None
    canonical = json.dumps({k: list(v) for k, v in check_label_mapping(mapping).items()}, sort_keys=True)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _mapping_matrix(width: int, mapping: dict[str, tuple[int, ...]], dtype: torch.dtype,
                    device: torch.device) -> tuple[Tensor, Tensor]:
    """``(width, 16)`` averaging matrix and a ``(16,)`` bias that rules out unmapped categories."""
    matrix = torch.zeros(width, len(CATEGORIES), dtype=dtype)
    bias = torch.full((len(CATEGORIES),), -torch.inf, dtype=dtype)
    for col, category in enumerate(CATEGORIES):
        if category in mapping:
            matrix[list(mapping[category]), col] = 1.0 / len(mapping[category])
            bias[col] = 0.0
    return matrix.to(device), bias.to(device)


def decision_function(width: int, mapping: LabelMapping | None = None) -> Callable[[Tensor], list[str]]:
    """The function that turns a ``(B, width)`` output into 16-class decisions.

    Raises:
        ModelOutputError: ``width`` is neither 1000 nor 16 and no mapping is given, or a mapped
            index is past the model's outputs (the message says how to fix it).
        InvalidArgumentError: the mapping is malformed (:func:`check_label_mapping`).
    """
    if mapping is None:
        if width not in (NUM_IMAGENET_CLASSES, len(CATEGORIES)):
            raise ModelOutputError(
                f"the model outputs {width} values per image, but without a label mapping a 1000-way "
                f"ImageNet head or a 16-way head in CATEGORIES order ({', '.join(CATEGORIES)}) is needed; "
                f"map its outputs to the categories with a JSON file {_EXAMPLE} (--label-map FILE; API: "
                f"label_map=...)"
            )
        return logits_to_decisions
    checked = check_label_mapping(mapping)
    past = {c: [i for i in idx if i >= width] for c, idx in checked.items() if any(i >= width for i in idx)}
    if past:
        shown = "; ".join(f"{c}: {idx}" for c, idx in past.items())
        raise ModelOutputError(f"the label mapping names outputs the model does not have ({shown}); the model "
                               f"outputs {width} values per image (indices 0-{width - 1}): fix the mapping")
    cache: dict[tuple[torch.dtype, torch.device], tuple[Tensor, Tensor]] = {}

    def decide(logits: Tensor) -> list[str]:
        probs = torch.softmax(logits.float(), dim=1)
        key = (probs.dtype, probs.device)
        if key not in cache:
            cache[key] = _mapping_matrix(width, checked, probs.dtype, probs.device)
        matrix, bias = cache[key]
        return [CATEGORIES[i] for i in (probs @ matrix + bias).argmax(dim=1).tolist()]

    return decide
