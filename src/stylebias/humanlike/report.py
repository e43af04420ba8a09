"""A Markdown report of a benchmark run: ``write_report(results, out_dir)``.

``results`` is the content of ``results.json`` (:func:`~stylebias.humanlike.runner.results_dict`).
The report holds the summary table of model-vs-human (OOD accuracy, accuracy difference,
observed and error consistency), each observer's accuracy and error consistency per dataset,
and the shape bias on cue-conflict; :func:`write_figures` draws the model-vs-human figures
(:mod:`.figures`) that the report then shows.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ..errors import DataError
from ..io import atomic_write

__all__ = ["write_report", "report_markdown", "write_figures"]

log = logging.getLogger(__name__)

REPORT = "report.md"
_SUMMARY = (("ood_accuracy", "OOD accuracy ↑"), ("accuracy_difference", "accuracy difference ↓"),
            ("observed_consistency", "observed consistency ↑"), ("error_consistency", "error consistency ↑"))


def _fmt(value: Any) -> str:
    return "–" if value is None else f"{value:.3f}"


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(["---"] + ["---:"] * (len(header) - 1)) + "|"]
    return lines + ["| " + " | ".join(row) + " |" for row in rows]


def report_markdown(results: Mapping[str, Any], figures: Sequence[Path] = ()) -> str:
    """The report's Markdown text (``figures``: image files beside the report, shown at its end)."""
    observers: Mapping[str, Any] = results["observers"]
    datasets: list[str] = list(results["datasets"])
    lines = ["# model-vs-human benchmark", "",
             f"{len(datasets)} dataset(s): {', '.join(datasets)}. Consistencies and accuracy differences are "
             f"against the human subjects, averaged as model-vs-human averages them (per condition, then "
             f"subject, then dataset); 'humans' compares the subjects with each other.", "",
             "## Summary", ""]
    rows = []
    for name, observer in observers.items():
        summary = observer["summary"]
        note = "" if summary.get("complete") else f" ({len(summary['datasets'])} of 17 datasets)"
        rows.append([_cell(name) + note, *(_fmt(summary[key]) for key, _ in _SUMMARY)])
    lines += _table(["observer", *(title for _, title in _SUMMARY)], rows)
    for key, title in (("accuracy", "Accuracy"), ("error_consistency", "Error consistency")):
        lines += ["", f"## {title} per dataset", ""]
        rows = [[d, *(_fmt(o["datasets"].get(d, {}).get(key)) for o in observers.values())] for d in datasets]
        lines += _table(["dataset", *map(_cell, observers)], rows)
    if "cue-conflict" in datasets:
        lines += ["", "## Shape bias (cue-conflict)", ""]
        rows = [[_cell(name), _fmt(o["datasets"].get("cue-conflict", {}).get("shape_bias"))]
                for name, o in observers.items()]
        lines += _table(["observer", "shape bias"], rows)
    if figures:
        lines += ["", "## Figures", ""] + [f"![{Path(f).stem}]({Path(f).name})" for f in figures]
    return "\n".join(lines) + "\n"


def write_report(results: Mapping[str, Any], out_dir: str | os.PathLike[str], figures: Sequence[Path] = ()) -> Path:
    """Write ``report.md`` into ``out_dir`` (atomically); returns its path."""
    path = Path(out_dir) / REPORT
    with atomic_write(path) as tmp:
        tmp.write_text(report_markdown(results, figures), encoding="utf-8")
    return path


def write_figures(per_dataset: Sequence[Mapping[str, Any]], cue_conflict: Any, out_dir: str | os.PathLike[str]) -> list[Path]:
    """Draw the figures the results allow into ``out_dir``: accuracy against condition
    (``accuracy_by_condition.png``), error consistency (``error_consistency.png``) and shape
    bias by category (``shape_bias.png``, from the cue-conflict decision table, or None).
    A figure without data is left out; without matplotlib none is drawn (logged)."""
    from . import figures as fig
    from .benchmark import summarize

    out = Path(out_dir)
    jobs = [("accuracy_by_condition.png", lambda p: fig.plot_condition_accuracy(per_dataset, p)),
            ("error_consistency.png", lambda p: fig.plot_error_consistency(summarize(per_dataset), p))]
    if cue_conflict is not None:
        jobs.append(("shape_bias.png", lambda p: fig.plot_cue_conflict(cue_conflict, p)))
    drawn = []
    for name, draw in jobs:
        try:
            drawn.append(draw(out / name))
        except DataError as err:
            log.info("no %s: %s", name, err)
        except ImportError:
            log.warning("matplotlib is not installed: the report has no figures (pip install 'stylebias[plot]')")
            return drawn
    return drawn
