"""Leave-one-domain-out domain generalisation sweeps (DomainBed protocol).

Each (method, held-out domain, seed) is one run in its own folder named by a hash of its
config; a finished run (``done`` marker) is read back instead of retrained, so an
interrupted sweep resumes where it stopped. Model selection uses training-domain
validation accuracy.
"""

from __future__ import annotations

import dataclasses
import statistics
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ..errors import InvalidArgumentError
from .config import TrainConfig
from .data import DataBundle
from .identity import identity_hash, resolve_hparams, run_identity
from .loop import TrainResult, train

__all__ = ["run_dir", "leave_one_domain_out", "DGResult", "format_table", "summarize"]


def run_dir(base: Path, cfg: TrainConfig) -> Path:
    """``base/<method>-<held-out>-s<seed>-<hash of the run's identity>``: one folder per distinct
    run (the hash of :mod:`~stylebias.training.identity`, as single runs use)."""
    digest = identity_hash(run_identity(cfg.to_dict(), resolve_hparams(cfg.method, cfg.hparams, cfg.layer)))
    held = "+".join(cfg.test_domains or ["none"])
    return Path(base) / f"{cfg.method}-{held}-s{cfg.seed}-{digest}"


@dataclasses.dataclass
class DGResult:
    """Per method and held-out domain: the selected test accuracy of each seed, and summaries."""

    runs: list[dict[str, Any]]
    table: dict[str, dict[str, dict[str, float]]]  # method -> domain -> {mean, std, n}

    def to_dict(self) -> dict[str, Any]:
        return {"runs": self.runs, "table": self.table}


def summarize(values: Sequence[float | None]) -> dict[str, float]:
    """``{"mean", "std", "n"}`` of the values that are not None (NaN mean/std when none are)."""
    kept = [v for v in values if v is not None]
    if not kept:
        return {"mean": float("nan"), "std": float("nan"), "n": 0}
    return {
        "mean": statistics.fmean(kept),
        "std": statistics.stdev(kept) if len(kept) > 1 else 0.0,
        "n": len(kept),
    }


def leave_one_domain_out(
    base_cfg: TrainConfig,
    domains: Sequence[str],
    methods: Sequence[str],
    seeds: Sequence[int],
    output_dir: Path,
    data_fn: Callable[[TrainConfig], DataBundle] | None = None,
    metric: str = "test_acc",
    held_out: Sequence[str] | None = None,
    on_run: Callable[[dict[str, Any]], None] | None = None,
) -> DGResult:
    """Train every method with each domain held out in turn, for every seed.

    Args:
        base_cfg: shared settings (steps, model, hparams, ...).
        domains: all domains of the data; each is held out once.
        methods: method names.
        seeds: seeds per (method, domain).
        output_dir: the sweep folder (runs go in subfolders).
        data_fn: builds the data of a config (default: from ``cfg.data``).
        metric: the selected metric to tabulate.
        held_out: hold out only these domains (default: each of ``domains`` in turn).
        on_run: called with each finished run's record (progress reporting).
    """
    if len(domains) < 2:
        raise InvalidArgumentError(f"leave-one-domain-out needs at least 2 domains, got {list(domains)}")
    held_out = list(held_out) if held_out is not None else list(domains)
    unknown = sorted(set(held_out) - set(domains))
    if unknown:
        raise InvalidArgumentError(f"held-out domain(s) {unknown} are not among {list(domains)}")
    runs = []
    for method in methods:
        for held in held_out:
            for seed in seeds:
                cfg = dataclasses.replace(
                    base_cfg, method=method, seed=seed, test_domains=[held],
                    train_domains=[d for d in domains if d != held],
                )
                cfg.output_dir = run_dir(output_dir, cfg)
                result: TrainResult = train(cfg, data=data_fn(cfg) if data_fn else None)
                record = {
                    "method": method, "held_out": held, "seed": seed, "dir": str(cfg.output_dir),
                    "selected": result.selected, "final": result.final,
                }
                runs.append(record)
                if on_run is not None:
                    on_run(record)
    table: dict[str, dict[str, dict[str, float]]] = {}
    for method in methods:
        per_domain = {}
        for held in held_out:
            values = [r["selected"][metric] for r in runs if r["method"] == method and r["held_out"] == held]
            per_domain[held] = summarize(values)
        means_per_seed = [
            statistics.fmean(r["selected"][metric] for r in runs if r["method"] == method and r["seed"] == s)
            for s in seeds
        ]
        per_domain["average"] = summarize(means_per_seed)
        table[method] = per_domain
    return DGResult(runs=runs, table=table)


def format_table(table: dict[str, dict[str, dict[str, float]]], percent: bool = True) -> str:
    """A Markdown table: one row per method, one column per held-out domain, mean +- std."""
    methods = list(table)
    columns = list(next(iter(table.values())))
    scale = 100.0 if percent else 1.0
    lines = ["| method | " + " | ".join(columns) + " |", "|---" * (len(columns) + 1) + "|"]
    for m in methods:
        cells = [f"{table[m][c]['mean'] * scale:.1f} ± {table[m][c]['std'] * scale:.1f}" for c in columns]
        lines.append(f"| {m} | " + " | ".join(cells) + " |")
    return "\n".join(lines)
