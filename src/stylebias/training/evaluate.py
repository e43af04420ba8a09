"""Evaluation of a trained method: accuracy, shape bias on cue-conflict items, corruption error."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import Tensor
from torch.utils.data import DataLoader, Dataset

from ..errors import MissingFileError
from ..shapebias.metrics import Trial, shape_bias

__all__ = ["collect_predictions", "accuracy", "cue_conflict_shape_bias", "corruption_error"]

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
    **kw: Any,
) -> dict[str, Any] | None:
    """Top-1 error (fraction) under each corruption, and its mean (the CIFAR-C convention).

    Uses :mod:`stylebias.corruptions` on the fly with a fixed generator per corruption and
    severity, so every method sees the same corrupted images. Returns None (and logs why) if
    the corruption suite is not available.
    """
    try:
        from ..corruptions import CORRUPTIONS, corrupt
    except ImportError as err:  # pragma: no cover - the suite ships with the package
        log.warning("corruption error skipped: %s", err)
        return None
    names = list(names) if names is not None else [n for n in CORRUPTIONS.list() if n in _IMAGENET_C]
    errors: dict[str, dict[int, float]] = {}
    for name in names:
        for severity in severities:
            g = torch.Generator(device=device).manual_seed(seed)

            def corrupted(images: Tensor, name: str = name, severity: int = severity) -> Tensor:
                return corrupt(images, name, severity, generator=g)

            try:
                errors.setdefault(name, {})[severity] = 1.0 - accuracy(predict, dataset, device, images_fn=corrupted, **kw)
            except MissingFileError as err:  # frost needs its pictures; say so and go on
                log.warning("corruption %s skipped: %s", name, err)
                errors.pop(name, None)
                break
    flat = [e for per in errors.values() for e in per.values()]
    return {"mean_error": sum(flat) / len(flat), "errors": errors, "severities": list(severities)}


_IMAGENET_C = {
    "gaussian_noise", "shot_noise", "impulse_noise", "defocus_blur", "glass_blur", "motion_blur",
    "zoom_blur", "snow", "frost", "fog", "brightness", "contrast", "elastic_transform",
    "pixelate", "jpeg_compression",
}
