"""``train(cfg)``: one training run with checkpoints, exact resume, evaluation and logs."""

from __future__ import annotations

import csv
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

from ..errors import InvalidArgumentError
from ..hub import load_torch_file
from ..io import atomic_write, write_json
from ..layers import style_layers
from .config import TrainConfig
from .data import BatchStream, DataBundle, seed_for
from .evaluate import accuracy, corruption_error, cue_conflict_shape_bias
from .hparams import default_hparams
from .methods import METHODS, Method, create_method

__all__ = ["train", "TrainResult", "build_model", "resolve_device"]

log = logging.getLogger(__name__)

CHECKPOINT = "checkpoint.pt"
DONE = "done"


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


def resolve_device(name: str) -> torch.device:
    """``"auto"`` -> cuda if available, else cpu; anything else as torch.device."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


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
    raise InvalidArgumentError(
        f"unknown model spec {spec!r}; use 'small_resnet', 'cifar_resnet18' (or 34, 50), "
        "'torchvision:NAME' or 'timm:NAME'"
    )


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


def _distributed() -> tuple[int, int]:
    """(rank, world size); initialises the process group under torchrun."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world > 1 and not dist.is_initialized():
        backend = "nccl" if torch.cuda.is_available() else "gloo"
        dist.init_process_group(backend)
    if dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


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


class _MetricsLog:
    """Append-only JSONL or CSV metrics; on resume, rows after the checkpoint are dropped."""

    def __init__(self, folder: Path, fmt: str, resume_step: int, tensorboard: bool) -> None:
        if fmt not in ("jsonl", "csv"):
            raise InvalidArgumentError(f"log_format must be 'jsonl' or 'csv', got {fmt!r}")
        self.path = folder / f"metrics.{fmt}"
        self.fmt = fmt
        rows = self._read()
        kept = [r for r in rows if int(r["step"]) <= resume_step]
        if len(kept) != len(rows) or (resume_step == 0 and rows):
            self._rewrite(kept if resume_step else [])
        self.writer = None
        if tensorboard:
            try:
                from torch.utils.tensorboard import SummaryWriter  # optional dependency
            except ImportError:
                raise InvalidArgumentError("tensorboard = true needs the tensorboard package: pip install tensorboard") from None
            self.writer = SummaryWriter(str(folder / "tensorboard"))

    def _read(self) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        with open(self.path) as fh:
            if self.fmt == "jsonl":
                return [json.loads(line) for line in fh if line.strip()]
            return list(csv.DictReader(fh))

    def _rewrite(self, rows: list[dict[str, Any]]) -> None:
        tmp = self.path.with_suffix(".tmp")
        with open(tmp, "w", newline="") as fh:
            for row in rows:
                self._write_row(fh, row, header=False)
        os.replace(tmp, self.path)

    def _write_row(self, fh: Any, row: dict[str, Any], header: bool) -> None:
        if self.fmt == "jsonl":
            fh.write(json.dumps(row) + "\n")
        else:
            writer = csv.DictWriter(fh, fieldnames=list(row), extrasaction="ignore")
            if header:
                writer.writeheader()
            writer.writerow(row)

    def write(self, row: dict[str, Any]) -> None:
        header = self.fmt == "csv" and (not self.path.exists() or self.path.stat().st_size == 0)
        flat = {k: v for k, v in row.items() if not isinstance(v, (dict, list))}
        with open(self.path, "a", newline="") as fh:
            self._write_row(fh, flat if self.fmt == "csv" else row, header)
        if self.writer is not None:
            for key, value in flat.items():
                if isinstance(value, (int, float)) and key != "step":
                    self.writer.add_scalar(key, value, row["step"])


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


def train(cfg: TrainConfig, data: DataBundle | None = None) -> TrainResult:
    """Train one model as ``cfg`` says; resume from ``cfg.output_dir`` when a checkpoint is there.

    Writes into ``cfg.output_dir`` only: ``config.json``, ``hparams.json``,
    ``metrics.jsonl`` (or .csv), ``checkpoint.pt`` (atomic), ``results.json`` and a ``done``
    marker. A finished run (``done`` present) is not retrained: its results are returned.

    Args:
        cfg: the run configuration.
        data: the datasets; default: built from ``cfg.data``.

    Returns:
        A :class:`TrainResult` with the final and the validation-selected metrics.
    """
    from .datasets import build_data

    out = Path(cfg.output_dir)
    rank, world = _distributed()
    is_main = rank == 0
    if is_main:
        out.mkdir(parents=True, exist_ok=True)
    hparams = {**default_hparams(METHODS.canonical(cfg.method)), **cfg.hparams}
    if (out / DONE).exists() and cfg.resume:
        saved = json.loads((out / "results.json").read_text())
        return TrainResult(**{**saved, "output_dir": out})
    device = resolve_device(cfg.device)
    if device.type == "cuda" and world > 1:
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
        torch.cuda.set_device(device)
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

    start, history, resumed_state = 0, [], None
    ckpt_path = out / CHECKPOINT
    if cfg.resume and ckpt_path.exists():
        state = resumed_state = load_torch_file(ckpt_path, what="checkpoint", map_location=device, fix="Delete it to train from step 0")
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        method.scaler.load_state_dict(state["scaler"])  # type: ignore[union-attr]
        layer_gen.set_state(state["layer_generator"])
        torch.set_rng_state(state["torch_rng"])
        start, history = int(state["step"]), json.loads(state["history"])
        log.info("resumed %s at step %d", out, start)
    if is_main:
        write_json(cfg.to_dict(), out / "config.json")
        write_json(hparams, out / "hparams.json")
        metrics_log = _MetricsLog(out, cfg.log_format, start, cfg.tensorboard)
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
    if resumed_state is not None and "augment_generator" in resumed_state:
        augment_gen.set_state(resumed_state["augment_generator"])

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
                    "layer_generator": layer_gen.get_state(), "torch_rng": torch.get_rng_state(),
                    "augment_generator": augment_gen.get_state(),
                    "history": json.dumps(history), "config": json.dumps(cfg.to_dict()),
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
        write_json(saved, out / "results.json")
        (out / DONE).touch()
    for layer in style_layers(model):
        layer.generator = None  # the run is over: do not keep references to its generator
    return result
