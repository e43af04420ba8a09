"""``train(cfg)``: one training run with checkpoints, exact resume, evaluation and logs.

A run is a few named steps around one :class:`~stylebias.training.run_state.RunState`:
``_set_up`` (network, method, optimiser, generators), ``_train_step``, ``_evaluate``,
``_save_checkpoint`` and ``_finish``; the state writes and reads the checkpoint itself.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
from torch import nn
from tqdm.auto import tqdm

from ..errors import InvalidArgumentError
from ..io import atomic_write, write_json
from ..layers import style_layers
from ..models import build_classifier, builder_options
from ..runtime import distributed, resolve_device
from .config import TrainConfig, validate_config
from .data import BatchStream, DataBundle, seed_for
from .evaluate import accuracy, corruption_error, cue_conflict_shape_bias
from .identity import default_run_dir, resolve_hparams, run_identity
from .methods import METHODS, Method, create_method
from .metrics_log import MetricsLog, summary_writer_class
from .run_state import RunState
from .run_folder import CHECKPOINT, DONE, RESULTS, check_output_dir, check_stored_config, load_checkpoint, read_results, start_run_folder

__all__ = ["train", "TrainResult", "RunState", "resolve_device"]

log = logging.getLogger(__name__)


@dataclass
class TrainResult:
    """What a finished run reports (also written to ``output_dir/results.json``).

    Attributes:
        final: metrics at the last step.
        selected: metrics at the evaluation with the best training-domain validation
            accuracy (DomainBed's oracle-free model selection); equals ``final`` without val.
        history: every evaluation.
        output_dir: the run folder.
    """

    final: dict[str, Any]
    selected: dict[str, Any]
    history: list[dict[str, Any]]
    output_dir: Path
    config: dict[str, Any]
    hparams: dict[str, Any]
    model: nn.Module | None = None  # the trained network (None when read back from disk)


def _amp_dtype(cfg: TrainConfig, device: torch.device) -> torch.dtype | None:
    if not cfg.amp:
        return None
    return torch.float16 if device.type == "cuda" else torch.bfloat16


def _scheduler(optimizer: torch.optim.Optimizer, steps: int, warmup: int) -> torch.optim.lr_scheduler.LRScheduler:
    """Linear warm-up, cosine decay over ``steps``; afterwards (fine-tuning) a tenth of the base."""

    def factor(step: int) -> float:
        if step >= steps:
            return 0.1
        if step < warmup:
            return (step + 1) / warmup
        progress = (step - warmup) / max(1, steps - warmup)
        return 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def _style_augment(cfg: TrainConfig, device: torch.device, generator: torch.Generator) -> Any:
    """The on-the-fly stylization of ``cfg.style_augment``: the ``style_augment`` method's
    (AdaIN, its other hyperparameters at their defaults), drawing from ``generator``."""
    from .hparams import default_hparams
    from .style_augment import build_style_augment

    hparams = {**default_hparams("style_augment"), "styles": cfg.style_augment,
               "style_fraction": cfg.style_augment_fraction,
               "stylizer_vgg": cfg.stylizer_vgg, "stylizer_decoder": cfg.stylizer_decoder}
    return build_style_augment(hparams, "style_augment", generator).to(device)


def _save_checkpoint(path: Path, state: RunState) -> None:
    """Write ``state``'s checkpoint atomically (an interruption leaves the previous one)."""
    with atomic_write(path) as tmp:
        torch.save(state.state_dict(), tmp)


def _evaluate(method: Method, data: DataBundle, cfg: TrainConfig, device: torch.device) -> dict[str, Any]:
    method.eval()
    metrics: dict[str, Any] = {}
    predict = method.predict
    if data.val is not None:
        metrics["val_acc"] = accuracy(predict, data.val, device)
    for name, dataset in data.tests.items():
        metrics[f"test_acc/{name}"] = accuracy(predict, dataset, device)
    if data.tests:
        metrics["test_acc"] = sum(metrics[f"test_acc/{n}"] for n in data.tests) / len(data.tests)
    if data.cue_conflict is not None:
        metrics["cue_conflict"] = cue_conflict_shape_bias(predict, data.cue_conflict, device, data.class_names)
        metrics["shape_bias"] = metrics["cue_conflict"]["shape_bias"]
    if data.corruption_source is not None and cfg.corruption_severities:
        result = corruption_error(predict, data.corruption_source, device, cfg.corruption_severities, seed=cfg.seed,
                                  cache=data.corruption_cache)
        if result is not None:
            metrics["corruption"] = result
            metrics["corruption_error"] = result["mean_error"]
    method.train()
    return metrics


def _validate_run(cfg: TrainConfig) -> dict[str, Any]:
    """Check everything a run needs that can be checked without building it; the resolved hparams."""
    validate_config(cfg)
    if cfg.tensorboard:
        summary_writer_class()  # a missing optional package fails now, not after the first files
    hparams = resolve_hparams(cfg.method, cfg.hparams, cfg.layer)
    if cfg.style_augment and METHODS.canonical(cfg.method) == "style_augment":
        raise InvalidArgumentError(
            "style_augment (--style-augment) and method 'style_augment' would both stylize each batch; "
            "name the styles once: --hparams '{\"styles\": \"DIR\"}' with the method, or the key with another method"
        )
    return hparams


def _run_device(cfg: TrainConfig, world: int) -> torch.device:
    device = resolve_device(cfg.device)
    if device.type == "cuda" and world > 1:
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
        torch.cuda.set_device(device)
    return device


def _set_up(cfg: TrainConfig, data: DataBundle, hparams: dict[str, Any], device: torch.device,
            rank: int, world: int) -> RunState:
    """Build the network (same initial weights on every rank), the method around it (DDP under
    torchrun), its optimiser and schedule, and the run's generators, at step 0."""
    torch.manual_seed(seed_for(cfg.seed, "init"))
    width = {"width": int(hparams["model_width"])} if "width" in builder_options(cfg.model) else {}
    network = build_classifier(cfg.model, data.num_classes, pretrained=cfg.pretrained, image_size=cfg.image_size, **width)
    layer_gen = torch.Generator().manual_seed(seed_for(cfg.seed, "layers", rank))
    method = create_method(
        cfg.method, network, hparams, layer=cfg.layer, layer_after=cfg.layer_after, layer_preset=cfg.layer_preset,
        generator=layer_gen, amp_dtype=_amp_dtype(cfg, device),
    )
    method.to(device)
    if world > 1:
        method.distribute(device)
    optimizer = method.configure_optimizer()
    scheduler = _scheduler(optimizer, cfg.steps, int(hparams["warmup_steps"]))
    return RunState(method, optimizer, scheduler, layer_gen, device, cfg.to_dict(), hparams)


class _Batches:
    """The training batches from any step on: the training stream (with on-the-fly
    stylization), then the fine-tuning stream of original images."""

    def __init__(self, cfg: TrainConfig, data: DataBundle, state: RunState, rank: int, world: int) -> None:
        self.cfg, self.data, self.device, self.rank, self.world = cfg, data, state.device, rank, world
        self.stream = self._stream_from(state.step)
        # the method's generator, drawn from before each update as the style_augment method draws
        # at the start of its own: both paths stylize identically (training/style_augment.py)
        self.augment = _style_augment(cfg, state.device, state.layer_generator) if cfg.style_augment else None

    def _stream_from(self, step: int) -> BatchStream:
        cfg, data = self.cfg, self.data
        if step < cfg.steps:
            return BatchStream(data.train, cfg.batch_size, seed_for(cfg.seed, "data"), step, cfg.workers, self.rank, self.world)
        finetune = data.finetune if data.finetune is not None else data.train
        return BatchStream(finetune, cfg.batch_size, seed_for(cfg.seed, "finetune"), step - cfg.steps, cfg.workers,
                           self.rank, self.world)

    def batch_for(self, step: int, start: int) -> list[torch.Tensor]:
        """The batch of step ``step`` (1-based) of a run (re)started at step ``start``."""
        cfg = self.cfg
        if step == cfg.steps + 1 and start < cfg.steps and cfg.finetune_steps:
            self.stream = self._stream_from(cfg.steps)  # the fine-tuning phase: original data only
        batch = [t.to(self.device, non_blocking=True) for t in next(self.stream)]
        if self.augment is not None and step <= cfg.steps:  # fine-tuning sees original images
            batch[0] = self.augment(batch[0])
        return batch


def _train_step(state: RunState, batch: list[torch.Tensor]) -> dict[str, float]:
    """One optimisation step and one scheduler step; the method's logs."""
    logs = state.method.update(tuple(batch))
    state.scheduler.step()
    state.step += 1
    return logs


def _finish(state: RunState, cfg: TrainConfig, out: Path, is_main: bool) -> TrainResult:
    """The run's result (written as results.json with the ``done`` marker by the main process)."""
    history = state.history
    final = history[-1] if history else {}
    with_val = [h for h in history if "val_acc" in h]
    selected = max(with_val, key=lambda h: h["val_acc"]) if with_val else final
    result = TrainResult(final=final, selected=selected, history=history, output_dir=out, config=cfg.to_dict(),
                         hparams=state.hparams, model=state.network)
    if is_main:
        saved = {k: v for k, v in result.__dict__.items() if k not in ("output_dir", "model")}
        write_json(saved, out / RESULTS)
        (out / DONE).touch()
    for layer in style_layers(state.network):
        layer.generator = None  # the run is over: do not keep references to its generator
    return result


def train(cfg: TrainConfig, data: DataBundle | None = None) -> TrainResult:
    """Train one model as ``cfg`` says; resume from its run folder when a checkpoint is there.

    The run folder is ``cfg.output_dir``, or ``runs/train/<method>-<hash>`` when that is None
    (one folder per distinct config, see :mod:`~stylebias.training.identity`). Writes into it
    only: ``config.json``, ``hparams.json``, ``metrics.jsonl`` (or .csv), ``checkpoint.pt``
    (atomic), ``results.json`` and a ``done`` marker. A finished run (``done`` present) is not
    retrained: its results are returned. A folder that holds another config's run is refused,
    naming the differing keys. The config is checked before anything is written, and nothing
    is written until the run is built, so a run that fails to start leaves no folder.

    Args:
        cfg: the run configuration.
        data: the datasets; default: built from ``cfg.data``.

    Returns:
        A :class:`TrainResult` with the final and the validation-selected metrics.
    """
    from .datasets import build_data

    rank, world = distributed()
    is_main = rank == 0
    hparams = _validate_run(cfg)
    identity = run_identity(cfg.to_dict(), hparams)
    out = Path(cfg.output_dir) if cfg.output_dir is not None else default_run_dir(identity)
    cfg = dataclasses.replace(cfg, output_dir=out)
    check_output_dir(out)
    check_stored_config(out, identity)
    if cfg.resume and (out / DONE).exists():
        return TrainResult(**read_results(out, identity), output_dir=out)
    device = _run_device(cfg, world)
    data = data if data is not None else build_data(cfg)

    state = _set_up(cfg, data, hparams, device, rank, world)
    ckpt_path = out / CHECKPOINT
    checkpoint = load_checkpoint(out, device, identity) if cfg.resume and ckpt_path.exists() else None
    if checkpoint is not None:
        state.load_state_dict(checkpoint, ckpt_path)
    start = state.step
    batches = _Batches(cfg, data, state, rank, world)  # may draw from the RNGs: before restoring them
    if checkpoint is not None:
        state.restore_random_state(checkpoint)
        log.info("resumed %s at step %d", out, start)
    if is_main:
        start_run_folder(out, cfg.to_dict(), hparams, fresh=checkpoint is None)
        metrics_log = MetricsLog(out, cfg.log_format, start, cfg.tensorboard)

    total = cfg.steps + cfg.finetune_steps
    state.method.train()
    bar = tqdm(total=total, initial=start, disable=not (cfg.progress and is_main), desc=f"{cfg.method}", unit="step")
    window_start, window_images = time.perf_counter(), 0
    for step in range(start + 1, total + 1):
        batch = batches.batch_for(step, start)
        logs = _train_step(state, batch)
        window_images += batch[0].shape[0] * world
        bar.update(1)
        bar.set_postfix(loss=f"{logs['loss']:.3f}")
        if step % cfg.checkpoint_every == 0 or step in (cfg.steps, total):
            elapsed = time.perf_counter() - window_start
            row: dict[str, Any] = {"step": step, **logs, "lr": state.scheduler.get_last_lr()[0],
                                   "images_per_s": window_images / max(elapsed, 1e-9)}
            if is_main:
                row.update(_evaluate(state.method, data, cfg, device))
                state.history.append(row)
                metrics_log.write(row)
                _save_checkpoint(ckpt_path, state)
            if world > 1:
                dist.barrier()
            window_start, window_images = time.perf_counter(), 0
    bar.close()
    return _finish(state, cfg, out, is_main)
