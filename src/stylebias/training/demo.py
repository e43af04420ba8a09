"""``stylebias demo``: ERM against every style layer and image-level method on the built-in benchmark.

Each method trains a SmallResNet on three rendering domains of the ShapeTexture benchmark
(texture correlated with the class, a spurious cue like ImageNet's), then is measured on a
held-out domain (domain-generalisation accuracy), on cue-conflict images (shape bias) and on
corrupted in-domain images (mean corruption error, CIFAR-C convention), for several seeds.
ERM trained on random textures (texture correlation 0) is drawn as the ceiling, chance as the
floor. Runs are ordinary training runs, identity-checked and resumable
(``output/runs/<method>-<held-out>-s<seed>-<hash>``, the ceiling's under
``output/runs/random_textures/``; :mod:`~stylebias.training.identity`), trained in worker
processes of one thread each; ``results.json``, ``report.md`` and ``report.png`` summarise
them (:mod:`~stylebias.training.demo_report`).

The benchmark setting (texture correlation) was chosen with ERM alone before any other method
ran: ``benchmarks/demo_setting.py`` states the rule and prints the evidence.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from ..errors import InvalidArgumentError
from ..io import atomic_write, write_json
from .config import TrainConfig, validate_config
from .demo_report import method_rows, plot_rows, report_markdown
from .dg import run_configs, sweep_configs, tabulate
from .identity import resolve_hparams
from .run_folder import DONE

__all__ = ["DemoConfig", "Budget", "QUICK_BUDGET", "FULL_BUDGET", "DEMO_METHODS", "DEMO_HPARAMS", "CEILING", "run_demo"]

#: The methods the demo compares, ERM first (the reference of every paired difference).
DEMO_METHODS: tuple[str, ...] = ("erm", "mixstyle", "padain", "efdmix", "dsu", "adversarial_style",
                                 "randconv", "augmix", "prime")
#: Methods the demo leaves out, and why (said in the report). ``debiased`` joins the demo when
#: the published AdaIN weights are already in the cache (the demo downloads nothing).
LEFT_OUT: dict[str, str] = {
    "debiased": "needs the published AdaIN weights (stylebias download adain-vgg adain-decoder)",
    "style_augment": "needs a folder of style images (paintings) and the AdaIN weights",
    "robust_distill": "needs a trained teacher to distil from (teacher_checkpoint)",
}


def demo_methods() -> tuple[str, ...]:
    """:data:`DEMO_METHODS`, plus ``debiased`` when the AdaIN weights are in the cache."""
    from ..hub.download import artifact_path

    if all(artifact_path(name).is_file() for name in ("adain-vgg", "adain-decoder")):
        return (*DEMO_METHODS, "debiased")
    return DEMO_METHODS


def left_out(methods: tuple[str, ...]) -> dict[str, str]:
    """The registered methods not in ``methods`` that :data:`LEFT_OUT` explains."""
    return {m: why for m, why in LEFT_OUT.items() if m not in methods}
#: Per method, the hyperparameters the demo trains it with where they differ from
#: ``training/hparams.py``'s defaults (a method missing here uses the defaults).
DEMO_HPARAMS: dict[str, dict[str, Any]] = {}
#: The name of the ceiling row: ERM trained on random textures (shape the only cue).
CEILING = "random_textures"
DOMAINS = ("photo", "cartoon", "sketch", "painting")


@dataclass(frozen=True)
class Budget:
    """What one demo (quick or full) trains and measures.

    Attributes:
        seeds: training seeds of every method.
        steps, batch_size: optimisation steps and images per step of every run.
        image_size: side of the images in pixels (>= 16; shapes stay recognisable at 16 px,
            see benchmarks/demo_setting.py).
        amp: bf16 autocast on the CPU; None = where the CPU computes bf16 natively (AVX512-BF16
            or AMX; about 2x faster there, slower where it is emulated).
        held_out: held-out domains (one run each).
        severities: corruption severities of the corruption error.
        texture_correlation: how often a training image wears its class's texture (chosen
            with ERM alone by benchmarks/demo_setting.py).
        processes: worker processes of one thread each.
    """

    seeds: tuple[int, ...]
    steps: int
    batch_size: int
    image_size: int
    amp: bool | None
    held_out: tuple[str, ...]
    severities: tuple[int, ...]
    texture_correlation: float
    processes: int


# the texture correlation of both: benchmarks/demo_setting.py at the quick setting (ERM alone)
QUICK_BUDGET = Budget(seeds=(0, 1, 2), steps=300, batch_size=32, image_size=16, amp=None, held_out=("sketch",),
                      severities=(3,), texture_correlation=1.0, processes=2)
FULL_BUDGET = Budget(seeds=(0, 1, 2), steps=500, batch_size=64, image_size=32, amp=None,
                     held_out=("sketch", "painting"), severities=(1, 3, 5), texture_correlation=1.0, processes=2)


@dataclass
class DemoConfig:
    """What the demo runs: the quick or the full :class:`Budget`, with any field overridden.

    Attributes:
        output: the output folder (nothing is written elsewhere).
        quick: :data:`QUICK_BUDGET` (``make demo``, about 5 minutes on 2 cores) instead of
            :data:`FULL_BUDGET`.
        methods: method names, ERM first (:data:`DEMO_METHODS`).
        hparams: per method, hyperparameter overrides (:data:`DEMO_HPARAMS`).
        ceiling: also train ERM on random textures (the ceiling line).
        seeds, steps, batch_size, image_size, amp, held_out, severities,
        texture_correlation, processes: None = the budget's value.
        progress: progress bars (one process only).
        extra: further :class:`TrainConfig` fields for every run.
    """

    output: Path = Path("demo_output")
    quick: bool = False
    methods: tuple[str, ...] = field(default_factory=demo_methods)
    hparams: dict[str, dict[str, Any]] = field(default_factory=lambda: dict(DEMO_HPARAMS))
    ceiling: bool = True
    seeds: tuple[int, ...] | None = None
    steps: int | None = None
    batch_size: int | None = None
    image_size: int | None = None
    amp: bool | None = None
    held_out: tuple[str, ...] | None = None
    severities: tuple[int, ...] | None = None
    texture_correlation: float | None = None
    processes: int | None = None
    progress: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    def budget(self) -> Budget:
        """The budget with this config's overrides (``amp`` decided: True or False)."""
        base = QUICK_BUDGET if self.quick else FULL_BUDGET
        given = {f.name: getattr(self, f.name) for f in dataclasses.fields(Budget) if getattr(self, f.name) is not None}
        budget = dataclasses.replace(base, **{k: tuple(v) if isinstance(v, list) else v for k, v in given.items()})
        return budget if budget.amp is not None else dataclasses.replace(budget, amp=native_bf16())


def native_bf16() -> bool:
    """Whether this CPU computes bf16 natively (AVX512-BF16 or AMX tiles)."""
    checks = (getattr(torch.cpu, "_is_avx512_bf16_supported", None), getattr(torch.cpu, "_is_amx_tile_supported", None))
    return any(bool(check()) for check in checks if check is not None)


def _base_config(budget: Budget, texture_correlation: float, cfg: DemoConfig) -> TrainConfig:
    return TrainConfig(
        data=f"shapes:texture_correlation={texture_correlation}", steps=budget.steps, batch_size=budget.batch_size,
        image_size=budget.image_size, amp=budget.amp, device="cpu", checkpoint_every=budget.steps,
        corruption_severities=list(budget.severities), progress=cfg.progress and budget.processes == 1, **cfg.extra,
    )


def _check(cfg: DemoConfig, budget: Budget) -> None:
    """Refuse a demo that cannot run, before anything is written."""
    if not cfg.methods or cfg.methods[0] != "erm":
        raise InvalidArgumentError(f"--methods must start with erm (every method is compared with it), got {list(cfg.methods)}")
    if len(set(cfg.methods)) != len(cfg.methods) or CEILING in cfg.methods:
        raise InvalidArgumentError(f"--methods must not repeat a name or use {CEILING!r}, got {list(cfg.methods)}")
    unused = sorted(set(cfg.hparams) - set(cfg.methods))
    if unused:
        raise InvalidArgumentError(f"hyperparameters given for method(s) {unused} that the demo does not run")
    for method in cfg.methods:
        resolve_hparams(method, cfg.hparams.get(method, {}))  # unknown method/hyperparameter names raise
    if not budget.seeds:
        raise InvalidArgumentError("--seeds must name at least one seed")
    if budget.processes < 1:
        raise InvalidArgumentError(f"--processes must be >= 1, got {budget.processes}")
    if budget.image_size < 16:
        raise InvalidArgumentError(f"the image size must be at least 16 px (the benchmark's smallest), got {budget.image_size}")
    if not 0.0 <= budget.texture_correlation <= 1.0:
        raise InvalidArgumentError(f"--texture-correlation must be in [0, 1] (a fraction), got {budget.texture_correlation}")
    unknown = sorted(set(budget.held_out) - set(DOMAINS))
    if unknown or not budget.held_out:
        raise InvalidArgumentError(f"--held-out must name domains among {list(DOMAINS)}, got {list(budget.held_out)}")
    validate_config(_base_config(budget, budget.texture_correlation, cfg))


def demo_configs(cfg: DemoConfig) -> tuple[list[TrainConfig], list[TrainConfig]]:
    """The run configs of the compared methods and of the ceiling (ERM on random textures)."""
    budget = cfg.budget()
    _check(cfg, budget)
    runs = Path(cfg.output) / "runs"
    methods = {m: cfg.hparams.get(m, {}) for m in cfg.methods}
    compared = sweep_configs(_base_config(budget, budget.texture_correlation, cfg), DOMAINS, methods,
                             budget.seeds, runs, budget.held_out)
    ceiling = sweep_configs(_base_config(budget, 0.0, cfg), DOMAINS, {"erm": methods["erm"]}, budget.seeds,
                            runs / CEILING, budget.held_out) if cfg.ceiling else []
    return compared, ceiling


def _timing(elapsed: float, read_back: int, total: int) -> str:
    """How long this invocation took, honest about runs read back from an earlier one."""
    if read_back == 0:
        return f"Wall time {elapsed / 60:.1f} min."
    if read_back == total:
        return (f"All {total} runs were read back from the run folders of an earlier invocation "
                "(nothing was trained now), so no training time was measured.")
    return (f"{read_back} of {total} runs were read back from an earlier invocation; the wall time of "
            f"{elapsed / 60:.1f} min covers only the {total - read_back} trained now.")


def _setup(budget: Budget, n_methods: int) -> str:
    return (f"ShapeTexture benchmark (10 shapes, 4 rendering domains; training texture correlation "
            f"{budget.texture_correlation:g}, chosen with ERM alone by benchmarks/demo_setting.py). {n_methods} methods x "
            f"{len(budget.seeds)} seeds {list(budget.seeds)}, {budget.steps} steps of {budget.batch_size} images at "
            f"{budget.image_size} px{' (bf16 autocast)' if budget.amp else ''}; held out: {', '.join(budget.held_out)}; "
            f"corruption severities {list(budget.severities)}.")


def _left_out_note(methods: tuple[str, ...]) -> str:
    missing = left_out(methods)
    return "" if not missing else " Not run: " + "; ".join(f"{m}, which {why}" for m, why in missing.items()) + "."


def run_demo(cfg: DemoConfig) -> dict[str, Any]:
    """Train and evaluate every method and the ceiling; write ``results.json``, ``report.md``
    and ``report.png`` into ``cfg.output``.

    Returns:
        The content of ``results.json``: ``{"methods": [row, ...], "ceiling": row | None,
        "headline": [...], "runs": n, "runs_read_back": n, "elapsed_s": s, ...}``; a row has
        per metric the mean, std, per-seed values and the paired difference to ERM.
    """
    budget = cfg.budget()
    compared, ceiling_cfgs = demo_configs(cfg)
    out = Path(cfg.output)
    out.mkdir(parents=True, exist_ok=True)
    start, started_at = time.perf_counter(), time.time()
    read_back: list[str] = []  # runs finished by an earlier invocation (their done marker is older)
    ceiling_dirs = {str(c.output_dir) for c in ceiling_cfgs}

    def report_run(record: dict[str, Any]) -> None:
        done = Path(record["dir"]) / DONE
        earlier = done.is_file() and done.stat().st_mtime < started_at
        if earlier:
            read_back.append(record["dir"])
        s = record["selected"]
        name = CEILING if record["dir"] in ceiling_dirs else record["method"]
        print(f"  {name:<18} held-out {record['held_out']:<9} seed {record['seed']}: "
              f"DG acc {s['test_acc']:.3f}  shape bias {s.get('shape_bias', float('nan')):.3f}  "
              f"corruption error {s.get('corruption_error', float('nan')):.3f}  "
              + ("(read back from an earlier invocation)" if earlier else f"({time.perf_counter() - start:.0f}s)"),
              flush=True)

    records = run_configs(compared + ceiling_cfgs, budget.processes, on_run=report_run)
    elapsed = time.perf_counter() - start
    runs, ceiling_runs = records[:len(compared)], [dict(r, method=CEILING) for r in records[len(compared):]]
    rows = method_rows(runs, cfg.methods)
    ceiling = method_rows(ceiling_runs, [CEILING], base=CEILING)[0] if ceiling_runs else None
    plot_rows(rows, ceiling, out / "report.png")
    timing = _timing(elapsed, len(read_back), len(records))
    text = report_markdown(rows, ceiling, _setup(budget, len(cfg.methods)) + _left_out_note(tuple(cfg.methods)), timing)
    with atomic_write(out / "report.md") as tmp:
        tmp.write_text(text)
    results = {
        "methods": rows, "ceiling": ceiling, "headline": text.split("\n\n")[1].splitlines(),
        "budget": dataclasses.asdict(budget), "elapsed_s": elapsed, "runs_read_back": len(read_back),
        "runs": len(records), "table": tabulate(runs), "hparams": {m: cfg.hparams.get(m, {}) for m in cfg.methods},
    }
    write_json(results, out / "results.json")
    return results
