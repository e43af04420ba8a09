"""Human-likeness metrics over decision tables, as model-vs-human's analysis code computes them.

Each metric follows ``modelvshuman/plotting/analyses.py`` (bethgelab/model-vs-human, commit
79ed7cd1d9ac3a114e71b6638f0a98bdd627316c):

- **accuracy** (``SixteenClassAccuracy``): fraction of trials with ``response == category``.
- **accuracy difference** (``SixteenClassAccuracyDifference``): the *squared* difference of
  two accuracies (its ``norm=np.square``), so "accuracy difference .087" is a mean of squares.
- **observed consistency** ``c_obs`` (``ErrorConsistency``): fraction of trials, paired by
  image id, that both observers get right or both get wrong.
- **expected consistency** ``c_exp = p1 p2 + (1 - p1)(1 - p2)`` for accuracies ``p1, p2``.
- **error consistency** (Cohen's kappa): ``(c_obs - c_exp) / (1 - c_exp)``, and 1 when
  ``c_obs == 1``.
- **response entropy** (``Entropy``): per observer, ``-sum p log2 p`` over the categories that
  occur as true categories (``"na"`` left out, ``p <= 1e-5`` ignored), ``p`` the fraction of
  responses naming the category; the mean over observers.
- **shape bias**: :func:`stylebias.shapebias.shape_bias` (model-vs-human ``ShapeBias``).

The ``*_from_correct`` kernels work on boolean "correct" arrays whose last axis is the trials,
so a bootstrap can pass a stack of resampled arrays (``(n_boot, n_trials)``) at once.

Reference:
    Geirhos, Meding & Wichmann, Beyond accuracy: quantifying trial-by-trial behaviour of CNNs
    and humans by measuring error consistency, NeurIPS 2020 (arXiv:2006.16736).

Example:
    >>> import numpy as np
    >>> a = np.array([True, True, False, False]); b = np.array([True, False, False, True])
    >>> float(observed_from_correct(a, b)), float(kappa(0.5, 0.5))
    (0.5, 0.0)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..errors import DataError, InvalidArgumentError
from ..shapebias.metrics import ShapeBiasResult, Trial
from ..shapebias.metrics import shape_bias as _shape_bias
from ..shapebias.stimuli import texture_from_imagename
from .decisions import DecisionTable

__all__ = [
    "Consistency",
    "accuracy",
    "accuracy_difference",
    "align",
    "consistency",
    "kappa",
    "expected_consistency",
    "accuracy_from_correct",
    "observed_from_correct",
    "kappa_from_correct",
    "response_entropy",
    "shape_bias",
    "bootstrap_ci",
]


@dataclass(frozen=True)
class Consistency:
    """Trial-by-trial agreement of two observers.

    Attributes:
        observed: ``c_obs``, fraction of paired trials both right or both wrong.
        expected: ``c_exp``, the agreement expected from the two accuracies alone.
        error_consistency: Cohen's kappa in ``[-1, 1]``.
        n: number of paired trials.
    """

    observed: float
    expected: float
    error_consistency: float
    n: int


def _nonempty(table: DecisionTable, what: str) -> None:
    if len(table) == 0:
        raise DataError(f"{what}: no trials (check the observer and condition names)")


def accuracy(table: DecisionTable) -> float:
    """16-class accuracy: fraction of trials with ``response == category``.

    Raises:
        DataError: the table is empty.
    """
    _nonempty(table, "accuracy")
    return float(np.count_nonzero(table.correct) / len(table))


def accuracy_difference(a: DecisionTable, b: DecisionTable) -> float:
    """Squared accuracy difference ``(acc(a) - acc(b)) ** 2`` (model-vs-human's definition)."""
    return (accuracy(a) - accuracy(b)) ** 2


def expected_consistency(p1: np.ndarray | float, p2: np.ndarray | float) -> np.ndarray | float:
    """``p1 p2 + (1 - p1)(1 - p2)``: agreement of independent observers with these accuracies."""
    return p1 * p2 + (1 - p1) * (1 - p2)


def kappa(observed: np.ndarray | float, expected: np.ndarray | float) -> np.ndarray | float:
    """Cohen's kappa ``(c_obs - c_exp) / (1 - c_exp)``, 1 where ``c_obs == 1``.

    ``c_exp == 1`` forces ``c_obs == 1`` (both observers always right, or always wrong), so the
    division is never by zero.
    """
    obs = np.asarray(observed, dtype=float)
    exp = np.asarray(expected, dtype=float)
    if np.any((obs < 0) | (obs > 1) | (exp < 0) | (exp > 1)):
        raise InvalidArgumentError(f"consistencies must lie in [0, 1]; got observed={observed}, expected={expected}")
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(obs == 1.0, 1.0, (obs - exp) / (1.0 - exp))
    return float(out) if out.ndim == 0 else out


def accuracy_from_correct(correct: np.ndarray) -> np.ndarray:
    """Mean over the last axis of a boolean array."""
    return np.count_nonzero(correct, axis=-1) / correct.shape[-1]


def observed_from_correct(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Fraction of paired trials (last axis) on which ``a`` and ``b`` agree."""
    return np.count_nonzero(a == b, axis=-1) / a.shape[-1]


def kappa_from_correct(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Error consistency of two paired boolean arrays (last axis: trials)."""
    obs = observed_from_correct(a, b)
    return kappa(obs, expected_consistency(accuracy_from_correct(a), accuracy_from_correct(b)))


def align(a: DecisionTable, b: DecisionTable) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pair the trials of two observers by image id.

    model-vs-human sorts both tables by ``image_id`` and asserts that the ids are equal; this
    refuses the same cases with a message instead.

    Returns:
        ``(image_ids, correct_a, correct_b)``, sorted by image id.

    Raises:
        DataError: a table is empty, has an image id twice (the pairing would be ambiguous),
            or the two tables hold different images (the message counts and names some).
    """
    _nonempty(a, "consistency (first observer)")
    _nonempty(b, "consistency (second observer)")
    for name, table in (("first", a), ("second", b)):
        ids, counts = np.unique(table.image_id, return_counts=True)
        if np.any(counts > 1):
            twice = ", ".join(ids[counts > 1][:5].tolist())
            raise DataError(
                f"the {name} observer ({_who(table)}) has image ids more than once ({twice}); "
                f"select one condition so that each image appears once"
            )
    order_a, order_b = np.argsort(a.image_id, kind="stable"), np.argsort(b.image_id, kind="stable")
    ids_a, ids_b = a.image_id[order_a], b.image_id[order_b]
    if len(ids_a) != len(ids_b) or np.any(ids_a != ids_b):
        only_a = np.setdiff1d(ids_a, ids_b)
        only_b = np.setdiff1d(ids_b, ids_a)
        raise DataError(
            f"the observers saw different images: {_who(a)} has {len(ids_a)} trials, {_who(b)} "
            f"{len(ids_b)}; only the first has {len(only_a)} ({', '.join(only_a[:3].tolist())}), only "
            f"the second {len(only_b)} ({', '.join(only_b[:3].tolist())}); error consistency needs "
            f"the same images for both (as in model-vs-human)"
        )
    return ids_a, a.correct[order_a], b.correct[order_b]


def _who(table: DecisionTable) -> str:
    names = table.subjects()
    return ", ".join(names[:3]) + (" ..." if len(names) > 3 else "")


def consistency(a: DecisionTable, b: DecisionTable) -> Consistency:
    """Observed, expected and error consistency of two observers on the same images.

    Example:
        >>> t = DecisionTable(["m"] * 2, ["0"] * 2, ["cat", "dog"], ["cat", "cat"], ["a.png", "b.png"])
        >>> consistency(t, t).error_consistency
        1.0
    """
    _, ca, cb = align(a, b)
    obs = float(observed_from_correct(ca, cb))
    exp = float(expected_consistency(accuracy_from_correct(ca), accuracy_from_correct(cb)))
    return Consistency(observed=obs, expected=exp, error_consistency=kappa(obs, exp), n=len(ca))


def response_entropy(table: DecisionTable) -> float:
    """Entropy in bits of the response distribution, the mean over the table's observers.

    For each observer: ``p_c`` = fraction of its trials answered ``c``, over the categories
    ``c`` that occur as true categories (not ``"na"``); ``-sum p_c log2 p_c`` with
    ``p_c <= 1e-5`` skipped. The maximum is ``log2(16) = 4``.
    """
    _nonempty(table, "response entropy")
    values = []
    for subj in table.subjects():
        rows = table.subj == subj
        responses, categories = table.response[rows], table.category[rows]
        total = 0.0
        for cat in dict.fromkeys(categories.tolist()):
            if cat == "na":
                continue
            p = np.count_nonzero(responses == cat) / len(responses)
            if abs(p) > 1e-5:
                total += p * np.log2(p)
        values.append(-total)
    return float(np.mean(values))


def shape_bias(table: DecisionTable, source: str = "") -> ShapeBiasResult:
    """Shape bias of cue-conflict decisions (the texture category read from ``imagename``)."""
    trials = [
        Trial(name, cat, resp, texture_from_imagename(name))
        for name, cat, resp in zip(table.imagename.tolist(), table.category.tolist(), table.response.tolist())
    ]
    return _shape_bias(trials, source or _who(table))


def bootstrap_ci(
    statistic: Callable[[np.ndarray], np.ndarray],
    n: int,
    *,
    n_boot: int = 1000,
    level: float = 0.95,
    seed: int = 0,
) -> tuple[float, float]:
    """Percentile bootstrap interval of a statistic of ``n`` trials.

    Args:
        statistic: maps an index array of shape ``(n_boot, n)`` (trials drawn with replacement)
            to ``n_boot`` values; e.g. ``lambda idx: kappa_from_correct(a[idx], b[idx])``, which
            resamples paired trials together.
        n: number of trials.
        n_boot: number of resamples.
        level: coverage, a fraction in (0, 1).
        seed: seed of ``numpy.random.default_rng``; the same seed gives the same interval.

    Returns:
        ``(low, high)``.
    """
    if n < 1 or n_boot < 1:
        raise InvalidArgumentError(f"bootstrap needs n >= 1 and n_boot >= 1; got n={n}, n_boot={n_boot}")
    if not 0.0 < level < 1.0:
        raise InvalidArgumentError(f"level is a fraction in (0, 1), e.g. 0.95; got {level}")
    idx = np.random.default_rng(seed).integers(0, n, size=(n_boot, n))
    values = np.asarray(statistic(idx), dtype=float).reshape(n_boot)
    tail = (1.0 - level) / 2.0
    low, high = np.quantile(values, [tail, 1.0 - tail])
    return float(low), float(high)
