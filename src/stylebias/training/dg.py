"""Leave-one-domain-out domain generalisation sweeps (DomainBed protocol).

Each (method, held-out domain, seed) is one run in its own folder named by a hash of its
config; a finished run (``done`` marker) is read back instead of retrained, so an
interrupted sweep resumes where it stopped. Model selection uses training-domain
validation accuracy.
"""

from __future__ import annotations

import dataclasses
import multiprocessing
import statistics
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Union

import torch

from ..errors import InvalidArgumentError
from .config import TrainConfig
from .data import DataBundle
from .identity import identity_hash, resolve_hparams, run_identity
from .loop import TrainResult, train

__all__ = ["run_dir", "leave_one_domain_out", "sweep_configs", "run_configs", "tabulate", "DGResult", "format_table",
           "summarize"]


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


Methods = Union[Sequence[str], Mapping[str, Mapping[str, Any]]]


def sweep_configs(
    base_cfg: TrainConfig,
    domains: Sequence[str],
    methods: Methods,
    seeds: Sequence[int],
    output_dir: Path,
    held_out: Sequence[str] | None = None,
) -> list[TrainConfig]:
    """One config per (method, held-out domain, seed), each with its run folder under ``output_dir``.

    Args:
        methods: method names, or a mapping name -> hyperparameter overrides of that method
            (laid over ``base_cfg.hparams``).
    """
    if len(domains) < 2:
        raise InvalidArgumentError(f"leave-one-domain-out needs at least 2 domains, got {list(domains)}")
    held_out = list(held_out) if held_out is not None else list(domains)
    unknown = sorted(set(held_out) - set(domains))
    if unknown:
        raise InvalidArgumentError(f"held-out domain(s) {unknown} are not among {list(domains)}")
    overrides = methods if isinstance(methods, Mapping) else {m: {} for m in methods}
    cfgs = []
    for method, extra in overrides.items():
        for held in held_out:
            for seed in seeds:
                cfg = dataclasses.replace(
                    base_cfg, method=method, seed=seed, test_domains=[held],
                    train_domains=[d for d in domains if d != held], hparams={**base_cfg.hparams, **extra},
                )
                cfg.output_dir = run_dir(output_dir, cfg)
                cfgs.append(cfg)
    return cfgs


def _run_record(cfg: TrainConfig, data_fn: Callable[[TrainConfig], DataBundle] | None = None) -> dict[str, Any]:
    """Train (or read back) one run; the record a sweep keeps of it."""
    result: TrainResult = train(cfg, data=data_fn(cfg) if data_fn else None)
    return {
        "method": cfg.method, "held_out": "+".join(cfg.test_domains or []), "seed": cfg.seed,
        "dir": str(cfg.output_dir), "selected": result.selected, "final": result.final,
    }


def _indexed_record(job: tuple[int, TrainConfig, Callable[[TrainConfig], DataBundle] | None]) -> tuple[int, dict[str, Any]]:
    index, cfg, data_fn = job
    return index, _run_record(cfg, data_fn)


def _one_thread() -> None:
    """Worker start-up: small convolutions run faster as one thread per process than as
    threads sharing one process (benchmarks/demo_throughput.py measures it)."""
    torch.set_num_threads(1)


def run_configs(
    cfgs: Sequence[TrainConfig],
    processes: int = 1,
    data_fn: Callable[[TrainConfig], DataBundle] | None = None,
    on_run: Callable[[dict[str, Any]], None] | None = None,
) -> list[dict[str, Any]]:
    """Train every config (each through :func:`~stylebias.training.train`, so each run keeps its
    folder, identity checks and resume), in ``processes`` worker processes of one thread each
    when ``processes > 1``; records come back in the order of ``cfgs``.

    Args:
        processes: worker processes; 1 trains in this process. ``data_fn`` must then be
            picklable (a module-level function).
        on_run: called in this process with each finished run's record, as runs finish.
    """
    if processes < 1:
        raise InvalidArgumentError(f"processes must be >= 1, got {processes}")
    records: list[dict[str, Any] | None] = [None] * len(cfgs)
    if processes == 1 or len(cfgs) <= 1:
        for i, cfg in enumerate(cfgs):
            records[i] = _run_record(cfg, data_fn)
            if on_run is not None:
                on_run(records[i])
        return records  # type: ignore[return-value]
    context = multiprocessing.get_context("spawn")  # fork after torch's threads started can hang
    pool = context.Pool(min(processes, len(cfgs)), initializer=_one_thread)
    try:
        jobs = [(i, cfg, data_fn) for i, cfg in enumerate(cfgs)]
        for i, record in pool.imap_unordered(_indexed_record, jobs):
            records[i] = record
            if on_run is not None:
                on_run(record)
    except BaseException:
        pool.terminate()
        raise
    finally:
        pool.close()  # workers exit on their own and release what they hold
        pool.join()
    return records  # type: ignore[return-value]


def tabulate(runs: Sequence[dict[str, Any]], metric: str = "test_acc") -> dict[str, dict[str, dict[str, float]]]:
    """method -> held-out domain -> {mean, std, n} of ``metric``, plus ``"average"``: per seed the
    mean over held-out domains, then mean +- std over seeds."""
    table: dict[str, dict[str, dict[str, float]]] = {}
    for method in dict.fromkeys(r["method"] for r in runs):
        mine = [r for r in runs if r["method"] == method]
        per_domain = {held: summarize([r["selected"][metric] for r in mine if r["held_out"] == held])
                      for held in dict.fromkeys(r["held_out"] for r in mine)}
        per_domain["average"] = summarize([
            statistics.fmean(r["selected"][metric] for r in mine if r["seed"] == s)
            for s in dict.fromkeys(r["seed"] for r in mine)
        ])
        table[method] = per_domain
    return table


def leave_one_domain_out(
    base_cfg: TrainConfig,
    domains: Sequence[str],
    methods: Methods,
    seeds: Sequence[int],
    output_dir: Path,
    data_fn: Callable[[TrainConfig], DataBundle] | None = None,
    metric: str = "test_acc",
    held_out: Sequence[str] | None = None,
    on_run: Callable[[dict[str, Any]], None] | None = None,
    processes: int = 1,
) -> DGResult:
    """Train every method with each domain held out in turn, for every seed.

    Args:
        base_cfg: shared settings (steps, model, hparams, ...).
        domains: all domains of the data; each is held out once.
        methods: method names, or name -> hyperparameter overrides.
        seeds: seeds per (method, domain).
        output_dir: the sweep folder (runs go in subfolders).
        data_fn: builds the data of a config (default: from ``cfg.data``).
        metric: the selected metric to tabulate.
        held_out: hold out only these domains (default: each of ``domains`` in turn).
        on_run: called with each finished run's record (progress reporting).
        processes: worker processes (:func:`run_configs`).
    """
    cfgs = sweep_configs(base_cfg, domains, methods, seeds, output_dir, held_out)
    runs = run_configs(cfgs, processes, data_fn, on_run)
    return DGResult(runs=runs, table=tabulate(runs, metric))


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
