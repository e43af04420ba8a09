"""The model-vs-human figures: accuracy against condition, error consistency, shape bias.

From the per-dataset results of :func:`~.benchmark.evaluate_dataset` (``{observer:
DatasetResult}`` per dataset) and, for the shape-bias plot, the cue-conflict decisions:

* :func:`plot_condition_accuracy`: one panel per parametric dataset, accuracy against the
  condition (in the experiment's order), one line per model, the human subjects' pooled
  accuracy as a dashed red reference line (model-vs-human's ``plot_accuracy``);
* :func:`plot_error_consistency`: per observer, the mean error consistency with the human
  subjects over the datasets, sorted, with the humans' own (subject against subject) as a
  dashed line: how far a model's errors are from a person's;
* :func:`plot_cue_conflict`: shape bias by category against humans
  (:func:`stylebias.shapebias.plot.plot_shape_bias`, Geirhos et al. 2019 Fig. 4).

Every function writes a PNG or PDF atomically and returns its path; matplotlib is optional
(``pip install 'stylebias[plot]'``).
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

from ..errors import DataError
from ..plotting import pyplot, save_figure
from ..shapebias.plot import HUMAN_STYLE, MODEL_STYLES, plot_shape_bias
from .benchmark import DATA_CONDITIONS, HUMANS, DatasetResult, Summary
from .decisions import DecisionTable, is_human
from .metrics import shape_bias

__all__ = ["plot_condition_accuracy", "plot_error_consistency", "plot_cue_conflict"]

_HUMAN_COLOUR = HUMAN_STYLE[0]


def _parametric(results: Sequence[Mapping[str, DatasetResult]]) -> list[tuple[str, Mapping[str, DatasetResult]]]:
    out = []
    for per_observer in results:
        first = next(iter(per_observer.values()), None)
        if first is not None and first.conditions and first.dataset in DATA_CONDITIONS:
            out.append((first.dataset, per_observer))
    return out


def _ordered_conditions(dataset: str, result: DatasetResult) -> list[str]:
    known = [c for c in DATA_CONDITIONS[dataset] if c in result.conditions]
    return known + [c for c in result.conditions if c not in known]


def plot_condition_accuracy(results: Sequence[Mapping[str, DatasetResult]], path: str | os.PathLike[str]) -> Path:
    """Accuracy against condition for every parametric dataset in ``results`` (see module doc)."""
    panels = _parametric(results)
    if not panels:
        raise DataError("nothing to plot: no parametric dataset (contrast, low-pass, ...) among the results")
    plt = pyplot()
    cols = min(4, len(panels))
    rows = math.ceil(len(panels) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.4 * cols, 2.9 * rows), squeeze=False)
    models = sorted({o for _, per in panels for o in per if o != HUMANS})
    for ax, (dataset, per_observer) in zip(axes.flat, panels):
        reference = per_observer.get(HUMANS) or next(iter(per_observer.values()))
        conditions = _ordered_conditions(dataset, reference)
        xs = range(len(conditions))
        if HUMANS in per_observer:
            h = per_observer[HUMANS].conditions
            ax.plot(xs, [h[c].accuracy if c in h else math.nan for c in conditions], color=_HUMAN_COLOUR,
                    linestyle="--", marker=HUMAN_STYLE[1], markersize=4, label="humans")
        for k, observer in enumerate(models):
            if observer not in per_observer:
                continue
            res = per_observer[observer].conditions
            colour, marker = MODEL_STYLES[k % len(MODEL_STYLES)]
            ax.plot(xs, [res[c].accuracy if c in res else math.nan for c in conditions],
                    color=colour, marker=marker, markersize=4, label=observer)
        ax.set_title(dataset, fontsize=10)
        ax.set_xticks(list(xs), conditions, rotation=45, fontsize=7)
        ax.set_ylim(0, 1)
        ax.axhline(1 / 16, color="grey", linewidth=0.8, linestyle=":")  # chance among 16 categories
        ax.set_ylabel("accuracy", fontsize=8)
    for ax in list(axes.flat)[len(panels):]:
        ax.axis("off")
    handles, labels = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=min(6, len(labels)), fontsize=8, frameon=False)
    fig.tight_layout(rect=(0, 0.06, 1, 1))
    return save_figure(fig, Path(path), dpi=130)


def plot_error_consistency(summaries: Mapping[str, Summary], path: str | os.PathLike[str]) -> Path:
    """Bars of each observer's mean error consistency with the human subjects (see module doc)."""
    rows = [(o, s.error_consistency) for o, s in summaries.items() if o != HUMANS and s.error_consistency is not None]
    if not rows:
        raise DataError("nothing to plot: no observer has an error consistency (no human data to compare with)")
    rows.sort(key=lambda r: r[1])
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6.5, 0.35 * len(rows) + 1.6))
    ax.barh([o for o, _ in rows], [v for _, v in rows], color="#4c72b0")
    human = summaries.get(HUMANS)
    if human is not None and human.error_consistency is not None:
        ax.axvline(human.error_consistency, color=_HUMAN_COLOUR, linestyle="--", label="humans (subject vs subject)")
        ax.legend(loc="lower right", fontsize=8)
    ax.axvline(0, color="black", linewidth=0.8)
    ax.set_xlabel("error consistency (Cohen's kappa) with human subjects")
    fig.tight_layout()
    return save_figure(fig, Path(path), dpi=130)


def plot_cue_conflict(table: DecisionTable, path: str | os.PathLike[str]) -> Path:
    """Shape bias by category of every observer in the cue-conflict ``table``, humans pooled."""
    observers = table.subjects()
    if not observers:
        raise DataError("nothing to plot: the cue-conflict table has no trials")
    results = []
    for subj in observers:
        result = shape_bias(table.where(subj=subj), subj)
        results.append(dataclasses.replace(result, observer="human") if is_human(subj) else result)
    return plot_shape_bias(results, path, pool_humans=True)
