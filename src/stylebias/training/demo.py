"""``stylebias demo``: ERM against every style layer on the built-in benchmark, on the CPU.

Each method trains a SmallResNet on three rendering domains of the ShapeTexture benchmark
(texture correlated with the class, a spurious cue like ImageNet's), then is measured on a
held-out domain (domain-generalisation accuracy), on cue-conflict images (shape bias) and on
corrupted in-domain images (mean corruption error, CIFAR-C convention). Runs are resumable
(each lives in ``output/runs/<hash>``); ``results.json`` and ``report.md`` summarise them.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..io import atomic_write, write_json
from ..plotting import pyplot, save_figure
from .config import TrainConfig
from .dg import leave_one_domain_out, summarize
from .run_folder import DONE

__all__ = ["DemoConfig", "run_demo", "DEMO_METHODS"]

log = logging.getLogger(__name__)

DEMO_METHODS = ("erm", "mixstyle", "padain", "efdmix", "dsu", "adversarial_style")
DOMAINS = ("photo", "cartoon", "sketch", "painting")


@dataclass
class DemoConfig:
    """What the demo runs. ``quick`` picks a budget that finishes in under 5 minutes on
    2 CPU cores (1 seed, sketch held out, 250 steps of 32 images, severity 3); the full demo
    holds out sketch and painting in turn with 3 seeds, 250 steps of 64 images and
    severities 1, 3, 5 (about 40 minutes there).

    Attributes:
        output: the output folder (nothing is written elsewhere).
        quick: use the quick budget for every field left at None.
        methods: method names.
        seeds, steps, held_out, severities: None = the budget's choice.
        texture_correlation: how often a training image wears its class's texture.
        batch_size: images per step.
    """

    output: Path = Path("demo_output")
    quick: bool = False
    methods: tuple[str, ...] = DEMO_METHODS
    seeds: tuple[int, ...] | None = None
    steps: int | None = None
    held_out: tuple[str, ...] | None = None
    severities: tuple[int, ...] | None = None
    texture_correlation: float = 0.9
    batch_size: int | None = None
    progress: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    def resolved(self) -> DemoConfig:
        """A copy with every None filled in from the quick or the full budget."""
        quick = self.quick
        return dataclasses.replace(
            self,
            seeds=self.seeds or ((0,) if quick else (0, 1, 2)),
            steps=self.steps or (250 if quick else 250),
            batch_size=self.batch_size or (32 if quick else 64),
            held_out=self.held_out or (("sketch",) if quick else ("sketch", "painting")),
            severities=self.severities or ((3,) if quick else (1, 3, 5)),
        )


def _rows(
    runs: list[dict[str, Any]], table: dict[str, dict[str, dict[str, float]]], methods: tuple[str, ...]
) -> list[dict[str, Any]]:
    """One summary row per method. DG accuracy comes from the sweep's table: per seed the mean
    over held-out domains, then mean +- std over seeds."""
    rows = []
    for method in methods:
        sel = [r["selected"] for r in runs if r["method"] == method]
        row: dict[str, Any] = {
            "method": method,
            "dg_accuracy": table[method]["average"]["mean"],
            "dg_accuracy_std": table[method]["average"]["std"],
        }
        for name, key in (("shape_bias", "shape_bias"), ("corruption_error", "corruption_error"), ("in_domain_accuracy", "val_acc")):
            summary = summarize([s.get(key) for s in sel])
            row[name], row[f"{name}_std"] = summary["mean"], summary["std"]
        row["per_domain"] = {d: v["mean"] for d, v in table[method].items() if d != "average"}
        row["runs"] = len(sel)
        rows.append(row)
    return rows


def _verdicts(rows: list[dict[str, Any]], n_seeds: int) -> list[str]:
    """Plain sentences comparing each method with ERM, saying when a gap is within noise."""
    base = next((r for r in rows if r["method"] == "erm"), None)
    if base is None:
        return []
    lines = []
    for r in rows:
        if r is base:
            continue
        parts = []
        for key, label in (("dg_accuracy", "DG accuracy"), ("shape_bias", "shape bias"), ("corruption_error", "corruption error")):
            delta = r[key] - base[key]
            noise = max(r[f"{key}_std"], base[f"{key}_std"])
            if n_seeds > 1 and abs(delta) <= noise:
                verdict = "within seed noise"
            else:
                verdict = "higher" if delta > 0 else "lower"
            parts.append(f"{label} {delta * 100:+.1f} pts ({verdict})")
        lines.append(f"- **{r['method']}** vs ERM: " + "; ".join(parts))
    if n_seeds == 1:
        lines.append("- One seed only: differences of a few points are within the run-to-run noise of this budget.")
    return lines


def _plot(rows: list[dict[str, Any]], path: Path) -> Path | None:
    try:
        plt = pyplot()
    except ImportError:  # pragma: no cover - matplotlib is optional
        log.warning("matplotlib is not installed: no plot")
        return None
    metrics = (("dg_accuracy", "held-out-domain accuracy"), ("shape_bias", "shape bias"), ("corruption_error", "mean corruption error"))
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.6))
    names = [r["method"] for r in rows]
    for ax, (key, title) in zip(axes, metrics):
        ax.bar(names, [r[key] for r in rows], yerr=[r[f"{key}_std"] for r in rows], color="#4c72b0", capsize=3)
        ax.set_title(title)
        ax.set_ylim(0, 1)
        if key == "dg_accuracy":
            ax.axhline(0.1, color="grey", linestyle="--", linewidth=1, label="chance")
            ax.legend(loc="upper right", fontsize=8)
        ax.tick_params(axis="x", rotation=45)
    fig.tight_layout()
    return save_figure(fig, path, dpi=120)


def _timing(elapsed: float, read_back: int, total: int) -> str:
    """How long this invocation took, honest about runs read back from an earlier one."""
    if read_back == 0:
        return f"Wall time {elapsed / 60:.1f} min."
    if read_back == total:
        return (f"All {total} runs were read back from the run folders of an earlier invocation "
                "(nothing was trained now), so no training time was measured.")
    return (f"{read_back} of {total} runs were read back from an earlier invocation; the wall time of "
            f"{elapsed / 60:.1f} min covers only the {total - read_back} trained now.")


def _report(cfg: DemoConfig, rows: list[dict[str, Any]], plot: Path | None, elapsed: float, description: str,
            read_back: int = 0, total: int = 0) -> str:
    lines = [
        "# stylebias demo", "",
        f"{description}. Methods trained {cfg.steps} steps of {cfg.batch_size} images each; seeds "
        f"{list(cfg.seeds or ())}; held-out domain(s) {list(cfg.held_out or ())}; corruption severities "
        f"{list(cfg.severities or ())}. {_timing(elapsed, read_back, total)}", "",
        "| method | DG accuracy | shape bias | corruption error | in-domain accuracy |",
        "|---|---|---|---|---|",
    ]
    for r in rows:
        cells = [f"{r[k] * 100:.1f} ± {r[k + '_std'] * 100:.1f}" for k in ("dg_accuracy", "shape_bias", "corruption_error", "in_domain_accuracy")]
        lines.append(f"| {r['method']} | " + " | ".join(cells) + " |")
    lines += ["", "All numbers in percent, mean ± std over seeds (std 0 with one seed). Higher DG accuracy "
              "and lower corruption error are better; higher shape bias means decisions follow shape "
              "rather than texture (humans: about 96%). Chance accuracy is 10%.", "",
              "## What the numbers show", ""]
    lines += _verdicts(rows, len(cfg.seeds or ()))
    if plot is not None:
        lines += ["", f"![results]({plot.name})"]
    return "\n".join(lines) + "\n"


def run_demo(cfg: DemoConfig) -> dict[str, Any]:
    """Train and evaluate every method; write ``results.json``, ``report.md`` and a plot.

    Returns:
        ``{"methods": [{"method", "dg_accuracy", "shape_bias", "corruption_error", ...}], ...}``
        (the content of ``results.json``).
    """
    cfg = cfg.resolved()
    out = Path(cfg.output)
    out.mkdir(parents=True, exist_ok=True)
    base = TrainConfig(
        data=f"shapes:texture_correlation={cfg.texture_correlation}",
        steps=cfg.steps or 150, batch_size=cfg.batch_size or 32, checkpoint_every=cfg.steps or 150,
        corruption_severities=list(cfg.severities or ()), progress=cfg.progress, **cfg.extra,
    )
    start = time.perf_counter()
    started_at = time.time()
    read_back: list[str] = []  # runs finished by an earlier invocation (their done marker is older)

    def report_run(record: dict[str, Any]) -> None:
        done = Path(record["dir"]) / DONE
        earlier = done.is_file() and done.stat().st_mtime < started_at
        if earlier:
            read_back.append(record["dir"])
        s = record["selected"]
        print(f"  {record['method']:<18} held-out {record['held_out']:<9} seed {record['seed']}: "
              f"DG acc {s['test_acc']:.3f}  shape bias {s.get('shape_bias', float('nan')):.3f}  "
              f"corruption error {s.get('corruption_error', float('nan')):.3f}  "
              + ("(read back from an earlier invocation)" if earlier else f"({time.perf_counter() - start:.0f}s)"),
              flush=True)

    sweep = leave_one_domain_out(base, DOMAINS, cfg.methods, cfg.seeds or (0,), out / "runs",
                                 held_out=cfg.held_out, on_run=report_run)
    elapsed = time.perf_counter() - start
    rows = _rows(sweep.runs, sweep.table, cfg.methods)
    description = (f"ShapeTexture benchmark (10 shapes, 4 rendering domains, texture correlation "
                   f"{cfg.texture_correlation} in training)")
    plot = _plot(rows, out / "report.png")
    with atomic_write(out / "report.md") as tmp:
        tmp.write_text(_report(cfg, rows, plot, elapsed, description, len(read_back), len(sweep.runs)))
    results = {
        "methods": rows,
        "benchmark": description,
        "config": {k: (str(v) if isinstance(v, Path) else v) for k, v in dataclasses.asdict(cfg).items()},
        "elapsed_s": elapsed,
        "runs_read_back": len(read_back),
        "runs": len(sweep.runs),
        "table": sweep.table,
    }
    write_json(results, out / "results.json")
    return results
