"""``train(cfg)``: one training run with checkpoints, exact resume, evaluation and logs."""

from __future__ import annotations

import dataclasses
import json
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

from ..errors import DataError, InvalidArgumentError
from ..io import atomic_write, write_json
from ..layers import style_layers
from ..runtime import distributed, resolve_device
from .config import TrainConfig, check_model_spec, validate_config
from .data import BatchStream, DataBundle, seed_for
from .evaluate import accuracy, corruption_error, cue_conflict_shape_bias
from .identity import default_run_dir, resolve_hparams, run_identity
from .methods import Method, create_method
from .metrics_log import MetricsLog, summary_writer_class
from .run_folder import CHECKPOINT, DONE, RESULTS, check_output_dir, check_stored_config, load_checkpoint, read_results, start_run_folder

__all__ = ["train", "TrainResult", "build_model", "resolve_device"]

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


def build_model(spec: str, num_classes: int, pretrained: bool = False, width: int = 32) -> nn.Module:
    """A classifier with ``num_classes`` outputs from a model spec (``width``: small_resnet's)."""
    if spec in ("small_resnet", "smallresnet"):
        from .nets import small_resnet

        return small_resnet(num_classes, width)
    if spec.startswith("cifar_resnet"):
        from .nets import cifar_resnet

        return cifar_resnet(int(spec.removeprefix("cifar_resnet") or 18), num_classes)
    if spec.startswith("torchvision:"):
        import torchvision

        name = spec.split(":", 1)[1]
        if pretrained:
            model = torchvision.models.get_model(name, weights="DEFAULT")
            return _replace_classifier(model, num_classes)
        return torchvision.models.get_model(name, num_classes=num_classes)
    if spec.startswith("timm:"):
        try:
            import timm
        except ImportError:
            raise InvalidArgumentError(f"model {spec!r} needs timm: pip install timm") from None
        return timm.create_model(spec.split(":", 1)[1], pretrained=pretrained, num_classes=num_classes)
    check_model_spec(spec)  # raises: the spec is none of the above
    raise AssertionError(f"check_model_spec accepted {spec!r}")  # pragma: no cover


def _replace_classifier(model: nn.Module, num_classes: int) -> nn.Module:
    """Swap the last nn.Linear for a fresh one with ``num_classes`` outputs."""
    last = None
    for name, module in model.named_modules():
        if isinstance(module, nn.Linear):
            last = name
    if last is None:
        raise InvalidArgumentError("the model has no nn.Linear classifier to resize")
    parent_name, _, attr = last.rpartition(".")
    parent = model.get_submodule(parent_name) if parent_name else model
    old = getattr(parent, attr)
    if old.out_features != num_classes:
        setattr(parent, attr, nn.Linear(old.in_features, num_classes))
    return model


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
    """The on-the-fly AdaIN stylization of ``cfg.style_augment`` (stylebias.stylize)."""
    from ..stylize import AdaINStylizer, StyleAugment

    if cfg.stylizer_vgg or cfg.stylizer_decoder:
        if not (cfg.stylizer_vgg and cfg.stylizer_decoder):
            raise InvalidArgumentError("give both stylizer_vgg and stylizer_decoder, or neither (published weights)")
        stylizer = AdaINStylizer.from_files(vgg=cfg.stylizer_vgg, decoder=cfg.stylizer_decoder)
    else:
        stylizer = AdaINStylizer.pretrained()
    stylizer = stylizer.to(device).eval()
    return StyleAugment(stylizer, cfg.style_augment, fraction=cfg.style_augment_fraction, generator=generator)


def _save_checkpoint(path: Path, state: dict[str, Any]) -> None:
    with atomic_write(path) as tmp:
        torch.save(state, tmp)


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
        result = corruption_error(predict, data.corruption_source, device, cfg.corruption_severities, seed=cfg.seed)
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
    return resolve_hparams(cfg.method, cfg.hparams)


def _run_device(cfg: TrainConfig, world: int) -> torch.device:
    device = resolve_device(cfg.device)
    if device.type == "cuda" and world > 1:
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
        torch.cuda.set_device(device)
    return device


def _load_training_state(state: dict[str, Any], model: nn.Module, optimizer: torch.optim.Optimizer,
                         scheduler: Any, method: Method, path: Path) -> None:
    """Load the checkpoint's weights and optimiser state (the RNG states come last, separately)."""
    try:
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        method.scaler.load_state_dict(state["scaler"])  # type: ignore[union-attr]
    except (RuntimeError, KeyError, ValueError) as err:
        raise DataError(f"checkpoint {path} does not fit this run's model or optimiser ({str(err)[:200]}); "
                        f"delete it to restart from step 0, or delete {path.parent}") from None


def _rng_states(layer_gen: torch.Generator, augment_gen: torch.Generator, device: torch.device) -> dict[str, Any]:
    """Every random state the run draws from, for the checkpoint."""
    states = {"layer_generator": layer_gen.get_state(), "torch_rng": torch.get_rng_state(),
              "augment_generator": augment_gen.get_state()}
    if device.type == "cuda":
        states["cuda_rng"] = torch.cuda.get_rng_state(device)
    return states


def _restore_rng_states(state: dict[str, Any], layer_gen: torch.Generator, augment_gen: torch.Generator,
                        device: torch.device) -> None:
    """Restore every random state of the checkpoint. Call it after everything that draws from
    them at start-up is built (model, data stream, stylizer), so those draws cannot shift them."""
    layer_gen.set_state(state["layer_generator"].cpu())
    torch.set_rng_state(state["torch_rng"].cpu())
    if "augment_generator" in state:
        augment_gen.set_state(state["augment_generator"].cpu())
    if "cuda_rng" in state and device.type == "cuda":
        torch.cuda.set_rng_state(state["cuda_rng"].cpu(), device)


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

    torch.manual_seed(seed_for(cfg.seed, "init"))  # same initial weights on every rank
    model = build_model(cfg.model, data.num_classes, cfg.pretrained, int(hparams["model_width"]))
    layer_gen = torch.Generator().manual_seed(seed_for(cfg.seed, "layers", rank))
    method = create_method(
        cfg.method, model, hparams, layer_after=cfg.layer_after, layer_preset=cfg.layer_preset,
        generator=layer_gen, amp_dtype=_amp_dtype(cfg, device),
    )
    method.to(device)
    if world > 1:
        method.model = nn.parallel.DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)
    optimizer = method.configure_optimizer()
    scheduler = _scheduler(optimizer, cfg.steps, int(hparams["warmup_steps"]))

    ckpt_path = out / CHECKPOINT
    state = load_checkpoint(out, device, identity) if cfg.resume and ckpt_path.exists() else None
    start, history = (int(state["step"]), json.loads(state["history"])) if state is not None else (0, [])
    if state is not None:
        _load_training_state(state, model, optimizer, scheduler, method, ckpt_path)
    total = cfg.steps + cfg.finetune_steps

    def stream_from(step: int) -> BatchStream:
        if step < cfg.steps:
            return BatchStream(data.train, cfg.batch_size, seed_for(cfg.seed, "data"), step, cfg.workers, rank, world)
        finetune = data.finetune if data.finetune is not None else data.train
        return BatchStream(finetune, cfg.batch_size, seed_for(cfg.seed, "finetune"), step - cfg.steps, cfg.workers, rank, world)

    stream = stream_from(start)
    augment, augment_gen = None, torch.Generator().manual_seed(seed_for(cfg.seed, "style_augment", rank))
    if cfg.style_augment:
        augment = _style_augment(cfg, device, augment_gen)
    if state is not None:
        _restore_rng_states(state, layer_gen, augment_gen, device)
        log.info("resumed %s at step %d", out, start)
    if is_main:
        start_run_folder(out, cfg.to_dict(), hparams, fresh=state is None)
        metrics_log = MetricsLog(out, cfg.log_format, start, cfg.tensorboard)

    method.train()
    bar = tqdm(total=total, initial=start, disable=not (cfg.progress and is_main), desc=f"{cfg.method}", unit="step")
    window_start, window_images = time.perf_counter(), 0
    for step in range(start + 1, total + 1):
        if step == cfg.steps + 1 and start < cfg.steps and cfg.finetune_steps:
            stream = stream_from(cfg.steps)  # the fine-tuning phase: original data only
        batch = [t.to(device, non_blocking=True) for t in next(stream)]
        if augment is not None and step <= cfg.steps:  # fine-tuning sees original images
            batch[0] = augment(batch[0])
        logs = method.update(batch)
        scheduler.step()
        window_images += batch[0].shape[0] * world
        bar.update(1)
        bar.set_postfix(loss=f"{logs['loss']:.3f}")
        if step % cfg.checkpoint_every == 0 or step in (cfg.steps, total):
            elapsed = time.perf_counter() - window_start
            row: dict[str, Any] = {"step": step, **logs, "lr": scheduler.get_last_lr()[0], "images_per_s": window_images / max(elapsed, 1e-9)}
            if is_main:
                row.update(_evaluate(method, data, cfg, device))
                history.append(row)
                metrics_log.write(row)
                _save_checkpoint(ckpt_path, {
                    "step": step, "model": model.state_dict(), "optimizer": optimizer.state_dict(),
                    "scheduler": scheduler.state_dict(), "scaler": method.scaler.state_dict(),  # type: ignore[union-attr]
                    **_rng_states(layer_gen, augment_gen, device),
                    "history": json.dumps(history), "config": json.dumps(cfg.to_dict()), "hparams": json.dumps(hparams),
                })
            if world > 1:
                dist.barrier()
            window_start, window_images = time.perf_counter(), 0
    bar.close()
    final = history[-1] if history else {}
    with_val = [h for h in history if "val_acc" in h]
    selected = max(with_val, key=lambda h: h["val_acc"]) if with_val else final
    result = TrainResult(final=final, selected=selected, history=history, output_dir=out, config=cfg.to_dict(), hparams=hparams, model=model)
    if is_main:
        saved = {k: v for k, v in result.__dict__.items() if k not in ("output_dir", "model")}
        write_json(saved, out / RESULTS)
        (out / DONE).touch()
    for layer in style_layers(model):
        layer.generator = None  # the run is over: do not keep references to its generator
    return result
