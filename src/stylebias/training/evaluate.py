"""Evaluation of a trained method: accuracy, shape bias on cue-conflict items, corruption error."""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import Tensor
from torch.nn.functional import interpolate
from torch.utils.data import DataLoader, Dataset

from ..errors import MissingFileError
from ..shapebias.metrics import Trial, shape_bias

__all__ = ["collect_predictions", "accuracy", "cue_conflict_shape_bias", "corruption_error", "corrupted_batches",
           "corrupt_any_size"]

log = logging.getLogger(__name__)

Predict = Callable[[Tensor], Tensor]


@torch.inference_mode()
def collect_predictions(
    predict: Predict,
    dataset: Dataset,
    device: torch.device,
    batch_size: int = 256,
    workers: int = 0,
    images_fn: Callable[[Tensor], Tensor] | None = None,
) -> tuple[Tensor, list[Tensor]]:
    """Argmax predictions over ``dataset`` and the other fields of its items (labels, ...).

    Args:
        predict: maps images (B, 3, H, W) to logits (B, K).
        images_fn: optional transform of each image batch before ``predict`` (e.g. a corruption).

    Returns:
        ``(predictions (N,), [field_1 (N,), field_2 (N,), ...])`` on the CPU.
    """
    preds, fields = [], []
    for batch in DataLoader(dataset, batch_size=batch_size, num_workers=workers):
        images = batch[0].to(device, non_blocking=True)
        if images_fn is not None:
            images = images_fn(images)
        preds.append(predict(images).argmax(1).cpu())
        fields.append([torch.as_tensor(f) for f in batch[1:]])
    columns = [torch.cat(col) for col in zip(*fields)] if fields else []
    return torch.cat(preds), columns


def accuracy(predict: Predict, dataset: Dataset, device: torch.device, **kw: Any) -> float:
    """Top-1 accuracy (a fraction) over items ``(image, label, ...)``."""
    preds, (labels, *_) = collect_predictions(predict, dataset, device, **kw)
    return float((preds == labels).float().mean())


def cue_conflict_shape_bias(
    predict: Predict,
    dataset: Dataset,
    device: torch.device,
    class_names: Sequence[str] | None = None,
    **kw: Any,
) -> dict[str, Any]:
    """Shape bias over cue-conflict items ``(image, shape_label, texture_label, ...)``.

    Uses the metric of :func:`stylebias.shapebias.shape_bias` (items whose shape and texture
    classes coincide are left out; shape bias = shape / (shape + texture) decisions).
    """
    preds, (shapes, textures, *_) = collect_predictions(predict, dataset, device, **kw)
    names = list(class_names) if class_names is not None else [str(i) for i in range(int(max(preds.max(), shapes.max(), textures.max())) + 1)]
    trials = [
        Trial(f"{i}", names[s], names[p], names[t])
        for i, (p, s, t) in enumerate(zip(preds.tolist(), shapes.tolist(), textures.tolist()))
    ]
    result = shape_bias(trials, observer="model", stimuli="cue-conflict").to_dict()
    result.pop("trials", None)
    return result


def corruption_error(
    predict: Predict,
    dataset: Dataset,
    device: torch.device,
    severities: Sequence[int] = (3,),
    names: Sequence[str] | None = None,
    seed: int = 0,
    batch_size: int = 256,
    cache: dict[Any, list[tuple[Tensor, Tensor]]] | None = None,
) -> dict[str, Any] | None:
    """Top-1 error (fraction) under each corruption, and its mean (the CIFAR-C convention).

    Uses :mod:`stylebias.corruptions` on the fly with a fixed generator per corruption and
    severity, so every method sees the same corrupted images. Images under 32 px (the
    corruptions' smallest size) are upsampled to 32 px, corrupted there and resized back
    (area averaging). Returns None (and logs why) if the corruption suite is not available.

    Args:
        cache: a dict kept with ``dataset`` (e.g. :attr:`DataBundle.corruption_cache`): the
            corrupted batches are made once per (corruption, severity, seed) and reused by
            every later call, which then only runs the model. Same images as without it.
    """
    try:
        from ..corruptions import CORRUPTIONS
    except ImportError as err:  # pragma: no cover - the suite ships with the package
        log.warning("corruption error skipped: %s", err)
        return None
    names = list(names) if names is not None else [n for n in CORRUPTIONS.list() if n in _IMAGENET_C]
    errors: dict[str, dict[int, float]] = {}
    for name in names:
        for severity in severities:
            key = (name, int(severity), int(seed), str(device), batch_size)
            try:
                batches = cache[key] if cache is not None and key in cache else \
                    corrupted_batches(dataset, name, severity, seed, device, batch_size)
            except MissingFileError as err:  # frost needs its pictures; say so and go on
                log.warning("corruption %s skipped: %s", name, err)
                errors.pop(name, None)
                break
            if cache is not None:
                cache[key] = batches
            with torch.inference_mode():
                correct = sum(int((predict(x).argmax(1).cpu() == y).sum()) for x, y in batches)
            errors.setdefault(name, {})[severity] = 1.0 - correct / sum(len(y) for _, y in batches)
    flat = [e for per in errors.values() for e in per.values()]
    return {"mean_error": sum(flat) / len(flat), "errors": errors, "severities": list(severities)}


@torch.no_grad()
def corrupted_batches(dataset: Dataset, name: str, severity: int, seed: int, device: torch.device,
                      batch_size: int = 256) -> list[tuple[Tensor, Tensor]]:
    """``[(corrupted images (B, 3, H, W) on device, labels (B,) on the CPU), ...]`` over the
    dataset's items ``(image, label, ...)``, one generator seeded by ``seed`` for the whole pass."""
    g = torch.Generator(device=device).manual_seed(seed)
    return [(corrupt_any_size(batch[0].to(device), name, severity, g), torch.as_tensor(batch[1]))
            for batch in DataLoader(dataset, batch_size=batch_size)]


def corrupt_any_size(images: Tensor, name: str, severity: int, generator: torch.Generator) -> Tensor:
    """:func:`stylebias.corruptions.corrupt`, also for images under its 32-px minimum: those are
    upsampled (bilinear) so their shorter side is 32 px, corrupted, and area-resized back."""
    from ..corruptions import corrupt
    from ..corruptions.api import MIN_SIZE

    h, w = images.shape[-2:]
    if min(h, w) >= MIN_SIZE:
        return corrupt(images, name, severity, generator=generator)
    scale = MIN_SIZE / min(h, w)
    up = interpolate(images, size=(math.ceil(h * scale), math.ceil(w * scale)), mode="bilinear", align_corners=False)
    out = corrupt(up.clamp_(0, 1), name, severity, generator=generator)
    return interpolate(out, size=(h, w), mode="area").clamp_(0, 1)


_IMAGENET_C = {
    "gaussian_noise", "shot_noise", "impulse_noise", "defocus_blur", "glass_blur", "motion_blur",
    "zoom_blur", "snow", "frost", "fog", "brightness", "contrast", "elastic_transform",
    "pixelate", "jpeg_compression",
}
