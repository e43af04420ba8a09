"""The demo's statistics, verdicts, Markdown report and figure (pure functions of run records).

Each run record holds a ``selected`` dict of metrics (``test_acc``, ``shape_bias``,
``corruption_error``, ``val_acc``). Per method and seed the metrics are first averaged over
held-out domains; methods are then compared with ERM *paired by seed* (method minus ERM on
the same seed, which shares data order and initial weights), with a 95% t-interval over seeds.
A difference is a finding only when that interval excludes 0 *and* the mean difference
exceeds the seeds' spread (the larger of the two methods' standard deviations over seeds);
otherwise it is reported as within seed spread.
"""

from __future__ import annotations

import logging
import math
import statistics
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..plotting import pyplot, save_figure

__all__ = ["METRICS", "CHANCE", "SETTING_EVIDENCE", "method_rows", "paired_difference", "verdict", "headline", "report_markdown", "plot_rows"]

log = logging.getLogger(__name__)

CHANCE = 0.1  # 10 classes
# key in the row -> (key in a run's selected metrics, label, +1 when higher is better)
METRICS: dict[str, tuple[str, str, int]] = {
    "shape_bias": ("shape_bias", "shape bias", +1),
    "dg_accuracy": ("test_acc", "held-out-domain accuracy", +1),
    "corruption_error": ("corruption_error", "corruption error", -1),
    "in_domain_accuracy": ("val_acc", "in-domain accuracy", +1),
}
# two-sided 95% Student t quantiles by degrees of freedom (normal beyond the table)
_T95 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306, 9: 2.262, 10: 2.228,
        15: 2.131, 20: 2.086, 30: 2.042}


#: The output of ``python benchmarks/demo_setting.py`` (ERM alone, 16 px, bf16, batch 32, up
#: to 1000 steps evaluated every 100; the quick demo's setting), quoted in every report.
SETTING_EVIDENCE = """## How the benchmark setting was chosen (ERM alone, before any other method ran)

Rule: the demo uses the smallest texture correlation at which ERM, trained until its in-domain
validation accuracy plateaus, is still texture-biased on every seed (shape bias at most 0.3),
as ImageNet CNNs are; and ERM on random textures (correlation 0) must still learn the shapes
(validation accuracy at least 0.8), or the images would be too small to show them.
`python benchmarks/demo_setting.py` (16 px, bf16, 32 images per step, up to 1000 steps; percent):

| texture correlation | seed | plateau step | val accuracy | shape bias at plateau | sketch accuracy | shape bias at step 1000 |
|---|---|---|---|---|---|---|
| 0.0 (random textures) | 0 | 400 | 98.8 | 99.8 | 44.0 | 100.0 |
| 0.0 (random textures) | 1 | 300 | 98.7 | 99.5 | 38.0 | 100.0 |
| 0.9 | 0 | 400 | 97.8 | 81.1 | 32.0 | 82.0 |
| 0.9 | 1 | 400 | 98.3 | 85.4 | 38.0 | 85.7 |
| 0.98 | 0 | 300 | 98.8 | 46.6 | 15.7 | 43.9 |
| 0.98 | 1 | 300 | 98.5 | 48.7 | 19.7 | 49.0 |
| 1.0 | 0 | 200 | 99.3 | 14.6 | 17.7 | 15.5 |
| 1.0 | 1 | 300 | 99.7 | 20.1 | 10.0 | 15.9 |

At 0.9 and 0.98 ERM at its plateau follows shape as often as texture or more, so the demo
trains at texture correlation 1.0, where it stays texture-biased (shape bias 15-20%)."""


def _t95(df: int) -> float:
    eligible = [k for k in _T95 if k <= df]
    return _T95[max(eligible)] if df <= 30 else 1.96


def _per_seed(runs: Sequence[dict[str, Any]], method: str, key: str) -> dict[int, float]:
    """seed -> the metric averaged over the method's held-out domains (seeds lacking it left out)."""
    out: dict[int, list[float]] = {}
    for r in runs:
        value = r["selected"].get(key)
        if r["method"] == method and value is not None and not math.isnan(value):
            out.setdefault(int(r["seed"]), []).append(float(value))
    return {seed: statistics.fmean(values) for seed, values in out.items()}


def paired_difference(method: dict[int, float], base: dict[int, float]) -> dict[str, Any]:
    """Method minus base on the seeds both have: mean, std, 95% t-interval, n.

    Returns:
        ``{"mean", "std", "low", "high", "n"}``; with fewer than 2 shared seeds std and the
        interval are NaN (no interval from one pair).
    """
    diffs = [method[s] - base[s] for s in sorted(set(method) & set(base))]
    if not diffs:
        return {"mean": math.nan, "std": math.nan, "low": math.nan, "high": math.nan, "n": 0}
    mean = statistics.fmean(diffs)
    if len(diffs) < 2:
        return {"mean": mean, "std": math.nan, "low": math.nan, "high": math.nan, "n": 1}
    std = statistics.stdev(diffs)
    half = _t95(len(diffs) - 1) * std / math.sqrt(len(diffs))
    return {"mean": mean, "std": std, "low": mean - half, "high": mean + half, "n": len(diffs)}


def _spread(values: dict[int, float]) -> float:
    return statistics.stdev(values.values()) if len(values) > 1 else 0.0


def method_rows(runs: Sequence[dict[str, Any]], methods: Sequence[str], base: str = "erm") -> list[dict[str, Any]]:
    """One row per method: per metric mean and std over seeds, the per-seed values, and the
    paired difference to ``base`` (``"<metric>_vs_base"``) with the seeds' spread."""
    rows = []
    for method in methods:
        row: dict[str, Any] = {"method": method, "runs": sum(r["method"] == method for r in runs)}
        for name, (key, _, _) in METRICS.items():
            values = _per_seed(runs, method, key)
            row[name] = statistics.fmean(values.values()) if values else math.nan
            row[f"{name}_std"] = _spread(values)
            row[f"{name}_seeds"] = {str(s): v for s, v in sorted(values.items())}
            if method != base:
                reference = _per_seed(runs, base, key)
                diff = paired_difference(values, reference)
                diff["spread"] = max(_spread(values), _spread(reference))
                row[f"{name}_vs_base"] = diff
        rows.append(row)
    return rows


def verdict(diff: dict[str, Any], better: int) -> str:
    """``"raised"``/``"lowered"`` for a finding, ``"within seed spread"``, or ``"one seed"``."""
    if diff["n"] < 2 or math.isnan(diff["low"]):
        return "one seed"
    excludes_zero = diff["low"] > 0 or diff["high"] < 0
    if not (excludes_zero and abs(diff["mean"]) > diff["spread"]):
        return "within seed spread"
    return "raised" if diff["mean"] > 0 else "lowered"


def _pts(diff: dict[str, Any]) -> str:
    shown = f"{diff['mean'] * 100:+.1f} pts"
    if not math.isnan(diff["low"]):
        shown += f", 95% CI [{diff['low'] * 100:+.1f}, {diff['high'] * 100:+.1f}]"
    return shown


def headline(rows: Sequence[dict[str, Any]]) -> list[str]:
    """The report's first lines: which methods raised shape bias, raised held-out-domain
    accuracy, lowered corruption error, and at what in-domain cost."""
    others = [r for r in rows if "shape_bias_vs_base" in r]
    questions = (("shape_bias", "raised", "Raised shape bias"),
                 ("dg_accuracy", "raised", "Raised held-out-domain accuracy"),
                 ("corruption_error", "lowered", "Lowered corruption error"))
    lines, winners = [], {}
    for name, wanted, title in questions:
        found = [r for r in others if verdict(r[f"{name}_vs_base"], METRICS[name][2]) == wanted]
        winners.update({r["method"]: r for r in found})
        if not others:
            text = "no method besides ERM was run"
        elif any(verdict(r[f"{name}_vs_base"], METRICS[name][2]) == "one seed" for r in others):
            text = "cannot tell with one seed (run at least 2)"
        elif found:
            text = "; ".join(f"{r['method']} ({_pts(r[f'{name}_vs_base'])})" for r in found)
        else:
            text = "none (every difference to ERM is within seed spread or the other way)"
        lines.append(f"- **{title} vs ERM:** {text}")
    if winners:
        costs = []
        for method, r in winners.items():
            diff = r["in_domain_accuracy_vs_base"]
            v = verdict(diff, +1)
            tag = "a finding" if v in ("raised", "lowered") else v
            costs.append(f"{method} {_pts(diff)} ({tag})")
        lines.append("- **In-domain cost (accuracy vs ERM):** " + "; ".join(costs))
    else:
        lines.append("- **In-domain cost:** no method improved on ERM, so there is no cost to weigh")
    return lines


def _cell(row: dict[str, Any], name: str) -> str:
    if math.isnan(row[name]):
        return "n/a"
    return f"{row[name] * 100:.1f} ± {row[name + '_std'] * 100:.1f}"


def _diff_cell(row: dict[str, Any], name: str) -> str:
    diff = row.get(f"{name}_vs_base")
    if diff is None or math.isnan(diff["mean"]):
        return "—"
    finding = verdict(diff, METRICS[name][2]) in ("raised", "lowered")
    return f"**{_pts(diff)}**" if finding else _pts(diff)


def report_markdown(rows: Sequence[dict[str, Any]], ceiling: dict[str, Any] | None, setup: str, timing: str) -> str:
    """The whole report: headline answers, setup, table with paired differences, ceiling and floor."""
    lines = ["# stylebias demo", "", *headline(rows), "", setup + " " + timing, "",
             "| method | held-out-domain accuracy | shape bias | corruption error | in-domain accuracy |",
             "|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['method']} | " + " | ".join(_cell(r, n) for n in
                                                          ("dg_accuracy", "shape_bias", "corruption_error", "in_domain_accuracy")) + " |")
    if ceiling is not None:
        lines.append(f"| random textures (ceiling) | " + " | ".join(
            _cell(ceiling, n) for n in ("dg_accuracy", "shape_bias", "corruption_error", "in_domain_accuracy")) + " |")
    lines.append(f"| chance (floor) | {CHANCE * 100:.1f} | — | {(1 - CHANCE) * 100:.1f} | {CHANCE * 100:.1f} |")
    lines += ["", "Percent, mean ± std over seeds. Higher held-out-domain accuracy and shape bias are better, lower "
              "corruption error is better. The ceiling is ERM trained on random textures (texture independent "
              "of the class, shape the only cue); the floor is chance.", "",
              "## Paired differences to ERM (method minus ERM on the same seed)", "",
              "| method | held-out-domain accuracy | shape bias | corruption error | in-domain accuracy |",
              "|---|---|---|---|---|"]
    for r in rows:
        if "shape_bias_vs_base" in r:
            lines.append(f"| {r['method']} | " + " | ".join(_diff_cell(r, n) for n in
                                                              ("dg_accuracy", "shape_bias", "corruption_error", "in_domain_accuracy")) + " |")
    lines += ["", "Percentage points, mean over seeds with a 95% t-interval. **Bold**: a finding (the interval "
              "excludes 0 and the mean difference exceeds the seeds' spread); the rest are within seed spread.",
              "", "![results](report.png)", "", SETTING_EVIDENCE]
    return "\n".join(lines) + "\n"


def plot_rows(rows: Sequence[dict[str, Any]], ceiling: dict[str, Any] | None, path: Path) -> Path | None:
    """Bars (mean ± std, seeds as dots) per metric; the ceiling and chance as lines."""
    try:
        plt = pyplot()
    except ImportError:  # pragma: no cover - matplotlib is optional
        log.warning("matplotlib is not installed: no plot")
        return None
    names = ("dg_accuracy", "shape_bias", "corruption_error", "in_domain_accuracy")
    fig, axes = plt.subplots(1, 4, figsize=(16, 3.8))
    labels = [r["method"] for r in rows]
    for ax, name in zip(axes, names):
        means = [r[name] for r in rows]
        ax.bar(labels, means, yerr=[r[f"{name}_std"] for r in rows], color="#4c72b0", capsize=3)
        for i, r in enumerate(rows):
            seeds = list(r[f"{name}_seeds"].values())
            ax.plot([i] * len(seeds), seeds, "k.", markersize=4)
        if ceiling is not None and not math.isnan(ceiling[name]):
            ax.axhline(ceiling[name], color="#55a868", linestyle="-", linewidth=1.2, label="random textures (ceiling)")
        if name != "shape_bias":
            ax.axhline(1 - CHANCE if name == "corruption_error" else CHANCE, color="grey", linestyle="--",
                       linewidth=1, label="chance (floor)")
        ax.set_title(METRICS[name][1])
        ax.set_ylim(0, 1)
        ax.tick_params(axis="x", rotation=45)
    axes[0].legend(loc="upper right", fontsize=7)
    fig.tight_layout()
    return save_figure(fig, path, dpi=110)
