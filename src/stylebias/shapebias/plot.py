"""The classic shape-versus-texture figure (Geirhos et al., ICLR 2019, Fig. 4).

Categories are rows; the bottom axis is the fraction of 'texture' decisions and the top axis the
fraction of 'shape' decisions (1 - texture), as in model-vs-human's
``plot_shape_bias_matrixplot``; every source gets one marker per category and a vertical line
at its overall shape bias. Human observers are red diamonds, models other colours and markers.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from ..errors import DataError, InvalidArgumentError
from ..plotting import pyplot, save_figure
from .metrics import ShapeBiasResult, shape_bias

__all__ = ["plot_shape_bias"]

# (colour, marker) per model series and for humans; the model-vs-human figures use them too
MODEL_STYLES = [("#1f77b4", "o"), ("#2ca02c", "s"), ("#9467bd", "^"), ("#ff7f0e", "v"),
                 ("#8c564b", "P"), ("#17becf", "X"), ("#7f7f7f", "p"), ("#bcbd22", "h")]
HUMAN_STYLE = ("#d62728", "D")


def plot_shape_bias(
    results: Sequence[ShapeBiasResult],
    path: str | os.PathLike[str],
    *,
    pool_humans: bool = True,
    title: str | None = None,
) -> Path:
    """Draw per-category shape bias of several sources and save it as PNG or PDF.

    Args:
        results: cue-conflict results (models and/or humans from raw-data CSVs).
        path: ``.png`` or ``.pdf`` (written atomically).
        pool_humans: draw all human observers as one source "humans" (their trials pooled),
            as model-vs-human does; else one marker series per subject.
        title: figure title.

    Returns:
        ``path``.

    Raises:
        InvalidArgumentError: unsupported suffix.
        DataError: no cue-conflict result to plot.
        ImportError: matplotlib is not installed (``pip install 'stylebias[plot]'``).
    """
    target = Path(path)
    if target.suffix.lower() not in (".png", ".pdf"):
        raise InvalidArgumentError(f"the figure file (--plot-file) must end in .png or .pdf, got {target.name}")
    series = [r for r in results if r.shape_bias is not None or r.stimuli == "cue-conflict"]
    if not series:
        raise DataError("nothing to plot: the shape-bias figure needs cue-conflict results")
    series = _pool_humans(series) if pool_humans else list(series)
    plt = pyplot()

    categories = sorted({c for r in series for c in r.per_category})
    humans = [r for r in series if r.observer == "human"]
    order_by = humans[0] if humans else series[0]
    # Rows sorted by the reference source's shape bias (highest at the top), missing ones last.
    categories.sort(key=lambda c: (order_by.per_category.get(c) is None, order_by.per_category.get(c) or 0.0))
    rows = {c: i for i, c in enumerate(categories)}

    fig, ax = plt.subplots(figsize=(7.5, 0.42 * len(categories) + 2.2))
    ax.set_xlim(0, 1)
    ax.set_ylim(-0.5, len(categories) - 0.5)
    ax.set_yticks(range(len(categories)), categories)
    ax.set_ylabel("shape category")
    ax.set_xlabel("fraction of 'texture' decisions")
    top = ax.secondary_xaxis("top", functions=(lambda x: 1 - x, lambda x: 1 - x))
    top.set_xlabel("fraction of 'shape' decisions")
    for i in range(len(categories) - 1):
        ax.axhline(i + 0.5, color="gray", linestyle=":", alpha=0.4, linewidth=0.8)
    model_k = 0
    for r in series:
        if r.observer == "human":
            color, marker = HUMAN_STYLE
        else:
            color, marker = MODEL_STYLES[model_k % len(MODEL_STYLES)]
            model_k += 1
        pts = [(1 - v, rows[c]) for c, v in r.per_category.items() if v is not None]
        label = r.source if r.shape_bias is None else f"{r.source} ({r.shape_bias:.2f})"
        if pts:
            xs, ys = zip(*pts)
            ax.scatter(xs, ys, color=color, marker=marker, s=60, edgecolors="black",
                       linewidths=0.5, zorder=3, label=label, clip_on=False)
        if r.shape_bias is not None:
            ax.axvline(1 - r.shape_bias, color=color, linewidth=1.2, alpha=0.8)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=2, fontsize=8, frameon=False)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return save_figure(fig, target, dpi=150)


def _pool_humans(results: Sequence[ShapeBiasResult]) -> list[ShapeBiasResult]:
    humans = [r for r in results if r.observer == "human"]
    if len(humans) <= 1 or any(not r.trials for r in humans):
        return list(results)
    pooled = shape_bias([t for r in humans for t in r.trials], "humans", observer="human")
    return [pooled] + [r for r in results if r.observer != "human"]
