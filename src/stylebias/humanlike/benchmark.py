"""The model-vs-human benchmark: per-dataset results of every observer, and their summary.

Aggregation as in bethgelab/model-vs-human (commit 79ed7cd1d9ac3a114e71b6638f0a98bdd627316c),
``modelvshuman/plotting/plot.py`` (``get_raw_benchmark_df``, ``format_benchmark_df``,
``get_mean_over_datasets``):

- a dataset with conditions uses its conditions minus :data:`EXCLUDE_CONDITIONS` (undistorted
  controls, and conditions where humans are below 20 % accuracy); a dataset without
  conditions (edge, silhouette, cue-conflict, sketch, stylized, or an unknown name) pools all
  of an observer's trials into one;
- accuracy difference, observed and error consistency: for each used condition, the model
  against every human subject; the mean over conditions per subject, then over subjects,
  then (in :func:`summarize`) over datasets;
- OOD accuracy: the accuracy over all trials of the used conditions (pooled, not a mean over
  conditions), then the mean over datasets;
- the ``"humans"`` row: every pair of distinct subjects once, the mean over conditions per
  pair, then over pairs and datasets; its accuracy pools all subjects' trials.

Example:
    >>> tables = [read_decisions(f"raw-data/{name}") for name in BENCHMARK_DATASETS]  # doctest: +SKIP
    >>> results = [evaluate_dataset(t) for t in tables]                              # doctest: +SKIP
    >>> summarize(results)["resnet50"].to_dict()                                     # doctest: +SKIP
    {'observer': 'resnet50', 'ood_accuracy': 0.559..., 'accuracy_difference': 0.087..., ...}
    >>> compare_ci(tables, "resnet50", "bagnet33", seed=0)["error_consistency"]      # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from ..errors import DataError, InvalidArgumentError
from .decisions import DecisionTable, is_human
from .metrics import (
    accuracy_from_correct,
    align,
    kappa_from_correct,
    observed_from_correct,
    response_entropy,
    shape_bias,
)

__all__ = [
    "BENCHMARK_DATASETS",
    "DATA_CONDITIONS",
    "EXCLUDE_CONDITIONS",
    "HUMANS",
    "METRICS",
    "included_conditions",
    "ConditionResult",
    "DatasetResult",
    "Summary",
    "evaluate_dataset",
    "summarize",
    "bootstrap_summary",
    "compare_ci",
]

HUMANS = "humans"
"""Name of the row that compares human subjects with each other."""

METRICS = ("ood_accuracy", "accuracy_difference", "observed_consistency", "error_consistency")

# constants.py: NOISE_GENERALISATION_DATASETS and DEFAULT_DATASETS (the benchmark's 17)
_NOISE = ("colour", "contrast", "high-pass", "low-pass", "phase-scrambling", "power-equalisation",
          "false-colour", "rotation", "eidolonI", "eidolonII", "eidolonIII", "uniform-noise")
BENCHMARK_DATASETS: tuple[str, ...] = ("edge", "silhouette", "cue-conflict", *_NOISE, "sketch", "stylized")

# datasets/experiments.py: data_conditions of each experiment (strings as the analysis sees them)
DATA_CONDITIONS: Mapping[str, tuple[str, ...]] = {
    "colour": ("cr", "bw"),
    "contrast": ("c100", "c50", "c30", "c15", "c10", "c05", "c03", "c01"),
    "high-pass": ("inf", "3.0", "1.5", "1.0", "0.7", "0.55", "0.45", "0.4"),
    "low-pass": ("0", "1", "3", "5", "7", "10", "15", "40"),
    "phase-scrambling": ("0", "30", "60", "90", "120", "150", "180"),
    "power-equalisation": ("0", "pow"),
    "false-colour": ("True", "False"),
    "rotation": ("0", "90", "180", "270"),
    "eidolonI": ("1-10-10", "2-10-10", "4-10-10", "8-10-10", "16-10-10", "32-10-10", "64-10-10", "128-10-10"),
    "eidolonII": ("1-3-10", "2-3-10", "4-3-10", "8-3-10", "16-3-10", "32-3-10", "64-3-10", "128-3-10"),
    "eidolonIII": ("1-0-10", "2-0-10", "4-0-10", "8-0-10", "16-0-10", "32-0-10", "64-0-10", "128-0-10"),
    "uniform-noise": ("0.0", "0.03", "0.05", "0.1", "0.2", "0.35", "0.6", "0.9"),
}

# plotting/plot.py: EXCLUDE_CONDITIONS ("not OOD: control condition without manipulation;
# mean human accuracy < 0.2")
EXCLUDE_CONDITIONS: Mapping[str, tuple[str, ...]] = {
    "colour": ("cr",),
    "contrast": ("c100", "c03", "c01"),
    "high-pass": ("inf", "0.55", "0.45", "0.4"),
    "low-pass": ("0", "15", "40"),
    "phase-scrambling": ("0", "150", "180"),
    "power-equalisation": ("0",),
    "false-colour": ("True",),
    "rotation": ("0",),
    "eidolonI": ("1-10-10", "64-10-10", "128-10-10"),
    "eidolonII": ("1-3-10", "32-3-10", "64-3-10", "128-3-10"),
    "eidolonIII": ("1-0-10", "16-0-10", "32-0-10", "64-0-10", "128-0-10"),
    "uniform-noise": ("0.0", "0.6", "0.9"),
}


def included_conditions(dataset: str) -> tuple[str, ...] | None:
    """Conditions the benchmark uses for ``dataset``; ``None``: all trials pooled."""
    if dataset not in DATA_CONDITIONS:
        return None
    excluded = set(EXCLUDE_CONDITIONS.get(dataset, ()))
    return tuple(c for c in DATA_CONDITIONS[dataset] if c not in excluded)


@dataclass
class ConditionResult:
    """One observer on one condition; pairwise metrics are means over human subjects."""

    condition: str
    n: int
    included: bool
    accuracy: float
    accuracy_difference: float | None
    observed_consistency: float | None
    error_consistency: float | None
    entropy: float


@dataclass
class DatasetResult:
    """One observer on one dataset (the per-dataset row of the benchmark).

    Attributes:
        observer: model name, or :data:`HUMANS` for subjects compared with each other.
        dataset: dataset name.
        n: trials used (the included conditions; for :data:`HUMANS`, all subjects').
        accuracy: accuracy over those trials (the dataset's "OOD accuracy").
        accuracy_difference, observed_consistency, error_consistency: against human subjects,
            averaged over included conditions, then subjects; ``None`` without human data.
        shape_bias: for ``cue-conflict``, else ``None``.
        conditions: every condition of the dataset (excluded ones too, ``included=False``);
            empty for datasets without conditions.
        humans: the human subjects compared against.
    """

    observer: str
    dataset: str
    n: int
    accuracy: float
    accuracy_difference: float | None
    observed_consistency: float | None
    error_consistency: float | None
    shape_bias: float | None = None
    conditions: dict[str, ConditionResult] = field(default_factory=dict)
    humans: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Summary:
    """One observer over several datasets: each metric's mean over datasets."""

    observer: str
    ood_accuracy: float
    accuracy_difference: float | None
    observed_consistency: float | None
    error_consistency: float | None
    datasets: list[str]
    complete: bool

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class _Stratum:
    """Trials of one condition (``None``: pooled), correctness paired by image id."""

    condition: str | None
    included: bool
    correct: dict[str, np.ndarray]  # observer -> bool array in image-id order


def _strata(table: DecisionTable, observers: Sequence[str], humans: Sequence[str]) -> list[_Stratum]:
    """Split ``table`` into conditions and pair every observer's trials by image id."""
    reported = DATA_CONDITIONS.get(table.dataset)
    used = included_conditions(table.dataset)
    if reported is None:
        return [_stratum(table, None, True, observers, humans)]
    present = set(table.conditions())
    missing = [c for c in reported if c not in present]
    if missing:
        raise DataError(
            f"dataset {table.dataset!r}: the data have no trials of condition(s) {missing} (present: "
            f"{sorted(present)}); conditions are compared as model-vs-human's pandas reader spells "
            f"them (e.g. '0.0', not '0.00'), so write them as in raw-data/{table.dataset}/*.csv"
        )
    return [_stratum(table.where(condition=c), c, c in used, observers, humans) for c in reported]


def _stratum(table: DecisionTable, condition: str | None, included: bool,
             observers: Sequence[str], humans: Sequence[str]) -> _Stratum:
    # every observer is paired with the first (a human when there is one) by image id
    correct, reference = {}, None
    for subj in dict.fromkeys([*humans, *observers]):
        rows = table.where(subj=subj)
        if len(rows) == 0:
            where = f"condition {condition!r} of " if condition is not None else ""
            raise DataError(f"{where}dataset {table.dataset!r} has no trials of {subj!r}")
        reference = rows if reference is None else reference
        _, _, correct[subj] = align(reference, rows)
    return _Stratum(condition, included, correct)


def _pick(correct: np.ndarray, idx: np.ndarray | None) -> np.ndarray:
    return correct if idx is None else correct[idx]


def _pairwise(stratum: _Stratum, observer: str, others: Sequence[str], idx: np.ndarray | None) -> dict[str, list]:
    """Accuracy difference, observed and error consistency of ``observer`` against each other."""
    mine = _pick(stratum.correct[observer], idx)
    acc = accuracy_from_correct(mine)
    out: dict[str, list] = {"accuracy_difference": [], "observed_consistency": [], "error_consistency": []}
    for other in others:
        theirs = _pick(stratum.correct[other], idx)
        out["accuracy_difference"].append((acc - accuracy_from_correct(theirs)) ** 2)
        out["observed_consistency"].append(observed_from_correct(mine, theirs))
        out["error_consistency"].append(kappa_from_correct(mine, theirs))
    return out


def _pooled_accuracy(strata: Sequence[_Stratum], subjects: Sequence[str], idx: Sequence[np.ndarray | None]):
    hits = sum(np.count_nonzero(_pick(s.correct[subj], i), axis=-1)
               for s, i in zip(strata, idx) if s.included for subj in subjects)
    total = sum(len(s.correct[subj]) for s in strata if s.included for subj in subjects)
    return hits / total, total


def _dataset_values(strata: Sequence[_Stratum], observer: str, humans: Sequence[str],
                    idx: Sequence[np.ndarray | None]) -> dict[str, Any]:
    """The dataset-level metrics of one observer (arrays over resamples when ``idx`` is given)."""
    used = [(s, i) for s, i in zip(strata, idx) if s.included]
    if observer == HUMANS:
        members, pairs = list(humans), [(a, b) for k, a in enumerate(humans) for b in humans[k + 1:]]
    else:
        members, pairs = [observer], [(observer, h) for h in humans if h != observer]
    acc, n = _pooled_accuracy(strata, members, idx)
    values: dict[str, Any] = {"ood_accuracy": acc, "n": n}
    for metric in METRICS[1:]:
        values[metric] = None
    if pairs:
        per_pair: dict[str, list] = {m: [] for m in METRICS[1:]}
        for a, b in pairs:
            over_conditions = [_pairwise(s, a, [b], i) for s, i in used]
            for metric in per_pair:  # mean over conditions for this pair
                per_pair[metric].append(np.mean([c[metric][0] for c in over_conditions], axis=0))
        for metric, vals in per_pair.items():  # then over human subjects (or pairs)
            values[metric] = np.mean(vals, axis=0)
    return values


def _observers(table: DecisionTable, observers: Iterable[str] | None) -> tuple[list[str], list[str]]:
    subjects = table.subjects()
    humans = [s for s in subjects if is_human(s)]
    if observers is None:
        models = [s for s in subjects if not is_human(s)]
    else:
        models = list(observers)
        unknown = [m for m in models if m not in subjects]
        if unknown:
            raise DataError(f"dataset {table.dataset!r} has no trials of {unknown}; observers: {subjects}")
    return models, humans


def evaluate_dataset(table: DecisionTable, observers: Iterable[str] | None = None,
                     *, include_humans: bool = True) -> dict[str, DatasetResult]:
    """Benchmark results of every observer on one dataset.

    Args:
        table: all decisions of the dataset (``table.dataset`` names it; it selects the
            conditions, see :func:`included_conditions`).
        observers: the models to evaluate; default: every non-human subject.
        include_humans: add the :data:`HUMANS` row (subjects against each other).

    Returns:
        ``{observer: DatasetResult}``.

    Raises:
        DataError: a condition of the dataset or an observer's trials are missing, or two
            observers saw different images in a condition.
    """
    models, humans = _observers(table, observers)
    strata = _strata(table, models, humans)
    rows = [*models, *([HUMANS] if include_humans and len(humans) > 1 else [])]
    results = {}
    for observer in rows:
        values = _dataset_values(strata, observer, humans, [None] * len(strata))
        members = humans if observer == HUMANS else [observer]
        result = DatasetResult(observer, table.dataset, values["n"], float(values["ood_accuracy"]),
                               *(_float(values[m]) for m in METRICS[1:]), humans=list(humans))
        if table.dataset == "cue-conflict":
            result.shape_bias = shape_bias(table.where(subj=members), observer).shape_bias
        if table.dataset in DATA_CONDITIONS:
            result.conditions = {s.condition: _condition_result(table, s, observer, humans) for s in strata}
        results[observer] = result
    return results


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


def _condition_result(table: DecisionTable, stratum: _Stratum, observer: str, humans: Sequence[str]) -> ConditionResult:
    members = humans if observer == HUMANS else [observer]
    values = _dataset_values([_Stratum(stratum.condition, True, stratum.correct)], observer, humans, [None])
    entropy = response_entropy(table.where(subj=members, condition=stratum.condition))
    return ConditionResult(stratum.condition, values["n"], stratum.included, float(values["ood_accuracy"]),
                           *(_float(values[m]) for m in METRICS[1:]), entropy=entropy)


def summarize(results: Iterable[Mapping[str, DatasetResult]]) -> dict[str, Summary]:
    """Each observer's mean over datasets (the benchmark tables of model-vs-human).

    Args:
        results: the outputs of :func:`evaluate_dataset`, one per dataset.

    Returns:
        ``{observer: Summary}``; ``complete`` says whether all of :data:`BENCHMARK_DATASETS`
        were included.
    """
    by_observer: dict[str, list[DatasetResult]] = {}
    for per_dataset in results:
        for observer, result in per_dataset.items():
            by_observer.setdefault(observer, []).append(result)
    out = {}
    for observer, rows in by_observer.items():
        names = [r.dataset for r in rows]
        means = [float(np.mean([r.accuracy for r in rows]))]
        for metric in METRICS[1:]:
            vals = [getattr(r, metric) for r in rows if getattr(r, metric) is not None]
            means.append(float(np.mean(vals)) if vals else None)
        out[observer] = Summary(observer, *means, datasets=names,
                                complete=set(BENCHMARK_DATASETS) <= set(names))
    return out


def _replicates(tables: Sequence[DecisionTable], observers: Sequence[str], n_boot: int, seed: int) -> dict[str, dict[str, np.ndarray]]:
    """Summary metrics of each observer over ``n_boot`` resamples of the trials.

    Images are drawn with replacement within each dataset and condition, the same draw for
    every observer (pairs stay paired), so two models' differences are resampled jointly. The
    human subjects themselves are kept fixed: the intervals cover trial noise, not the choice
    of subjects. The squared accuracy difference is biased upwards under resampling.
    """
    if n_boot < 1:
        raise InvalidArgumentError(f"n_boot must be >= 1; got {n_boot}")
    rng = np.random.default_rng(seed)
    per_dataset: dict[str, dict[str, list]] = {o: {m: [] for m in METRICS} for o in observers}
    for table in tables:
        models, humans = _observers(table, [o for o in observers if o != HUMANS and o in table.subjects()])
        strata = _strata(table, models, humans)
        sizes = [len(next(iter(s.correct.values()))) for s in strata]  # all observers are paired
        idx = [rng.integers(0, n, size=(n_boot, n)) for n in sizes]
        for observer in observers:
            if observer not in models and not (observer == HUMANS and len(humans) > 1):
                continue
            values = _dataset_values(strata, observer, humans, idx)
            for metric in METRICS:
                if values[metric] is not None:
                    per_dataset[observer][metric].append(values[metric])
    out = {}
    for observer, metrics in per_dataset.items():
        if not metrics["ood_accuracy"]:
            raise DataError(f"no dataset has trials of {observer!r}")
        out[observer] = {m: np.mean(v, axis=0) for m, v in metrics.items() if v}
    return out


def _interval(values: np.ndarray, level: float) -> tuple[float, float]:
    tail = (1.0 - level) / 2.0
    low, high = np.quantile(values, [tail, 1.0 - tail])
    return float(low), float(high)


def _check_level(level: float) -> None:
    if not 0.0 < level < 1.0:
        raise InvalidArgumentError(f"level is a fraction in (0, 1), e.g. 0.95; got {level}")


def bootstrap_summary(tables: Sequence[DecisionTable], observers: Sequence[str], *, n_boot: int = 1000,
                      level: float = 0.95, seed: int = 0) -> dict[str, dict[str, tuple[float, float]]]:
    """Percentile bootstrap intervals of each observer's summary metrics.

    Args:
        tables: one decision table per dataset.
        observers: model names (and/or :data:`HUMANS`).
        n_boot: number of resamples; level: coverage fraction; seed: of ``numpy.random.default_rng``.

    Returns:
        ``{observer: {metric: (low, high)}}`` for the metrics of :data:`METRICS` it has.
    """
    _check_level(level)
    reps = _replicates(tables, observers, n_boot, seed)
    return {o: {m: _interval(v, level) for m, v in metrics.items()} for o, metrics in reps.items()}


def compare_ci(tables: Sequence[DecisionTable], first: str, second: str, *, n_boot: int = 1000,
               level: float = 0.95, seed: int = 0) -> dict[str, tuple[float, float]]:
    """Bootstrap interval of ``first - second`` for each summary metric, from paired resamples
    (an interval excluding 0 says the two observers differ at that level)."""
    _check_level(level)
    reps = _replicates(tables, [first, second], n_boot, seed)
    shared = [m for m in METRICS if m in reps[first] and m in reps[second]]
    return {m: _interval(reps[first][m] - reps[second][m], level) for m in shared}
