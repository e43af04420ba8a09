"""Attribution maps of several models for image files, saved as arrays and scored.

:func:`attribute_files` runs each model on each image with each method (Grad-CAM, IBA, and the
CAM family of the grad-cam library: :data:`~.cam.CAM_METHODS`) and
writes, per (image, model, method), ``<image>__<model>__<method>.npy``: the map on the input
file's own ``height x width`` grid (:func:`~.geometry.heatmap_to_image`; 0 where the model's
crop did not reach). ``attributions.json`` lists every map with its target class and, unless
switched off, its deletion and insertion areas (:mod:`.faithfulness`); optionally its ROAD score
(:mod:`.road`) and, for cue-conflict images with a silhouette, its object share (:mod:`.masks`).
"""

from __future__ import annotations

import io
import logging
import math
import os
import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from .._checks import check_choice
from ..errors import InvalidArgumentError
from ..io import atomic_write, load_image, write_json
from ..models import LoadedModel
from ..runtime import derive_seed
from ..models import ModelLike, resolve_model
from ..shapebias.explain import image_output_names
from ..shapebias.gradcam import find_target_layer, grad_cam
from .cam import CAM_METHODS, library_cam
from .faithfulness import area_under_curve, deletion_curve, insertion_curve
from .geometry import heatmap_to_image
from .iba import estimate_feature_stats, iba
from .masks import object_share, silhouette_for, silhouette_mask
from .road import road

__all__ = ["ATTRIBUTION_METHODS", "attribute_files", "default_iba_layer", "preprocessed_batches"]

log = logging.getLogger(__name__)

ATTRIBUTION_METHODS = ("gradcam", "iba", *CAM_METHODS)


def default_iba_layer(model: torch.nn.Module, input_size: int) -> str:
    """Where the bottleneck goes by default: a ResNet's ``layer2`` (conv3_x, the paper's choice
    for ResNet-50), else the last convolutional stage (:func:`find_target_layer`)."""
    for name, _ in model.named_modules():
        if name == "layer2" or name.endswith(".layer2"):
            return name
    name = find_target_layer(model, input_size)
    log.info("IBA: no ResNet layer2 in the model; using %s (pass layer= to choose)", name)
    return name


def _model_labels(models: Sequence[LoadedModel]) -> list[str]:
    """File-name-safe, distinct labels from the models' names."""
    labels: list[str] = []
    for lm in models:
        base = re.sub(r"[^A-Za-z0-9._-]+", "-", lm.name).strip("-") or "model"
        label, k = base, 1
        while label in labels:
            k += 1
            label = f"{base}-{k}"
        labels.append(label)
    return labels


def preprocessed_batches(model: LoadedModel, files: Sequence[str | os.PathLike[str]], device: torch.device,
                         batch: int = 32) -> Iterator[Tensor]:
    """``files`` decoded and prepared by ``model``'s preprocessing, ``batch`` at a time, on ``device``."""
    for lo in range(0, len(files), batch):
        yield torch.stack([model.preprocess.transform(load_image(f)) for f in files[lo: lo + batch]]).to(device)


def _maps(method: str, lm: LoadedModel, x: Tensor, targets: Tensor, keys: Sequence[str], layer: str | None,
          stats_images: Sequence[str | os.PathLike[str]] | None, seed: int) -> Tensor:
    if method == "gradcam":
        maps, _ = grad_cam(lm.model, x, layer=layer, target=targets)
        return maps
    if method in CAM_METHODS:
        return library_cam(lm.model, x, method, layer or find_target_layer(lm.model, x.shape[-1]), targets)
    where = layer or default_iba_layer(lm.model, x.shape[-1])
    if stats_images:
        stats = estimate_feature_stats(lm.model, where, preprocessed_batches(lm, stats_images, x.device))
    else:
        if x.shape[0] < 2:
            raise InvalidArgumentError("IBA needs feature statistics: give stats_images (a set of images like the ones "
                                       "explained; the paper uses 10,000) or at least 2 images to explain")
        log.warning("IBA: feature statistics estimated from the %d explained images only; give stats_images "
                    "(the paper uses 10,000) for maps you can compare", x.shape[0])
        stats = estimate_feature_stats(lm.model, where, [x])
    gens = [torch.Generator(x.device).manual_seed(derive_seed(seed, "iba", key)) for key in keys]
    return iba(lm.model, x, where, stats, target=targets, generator=gens).heatmaps


def _save_array(array: Tensor, path: Path) -> None:
    buffer = io.BytesIO()
    np.save(buffer, array.cpu().numpy().astype(np.float32))
    with atomic_write(path) as tmp:
        tmp.write_bytes(buffer.getvalue())


def attribute_files(
    models: Sequence[ModelLike],
    images: Sequence[str | os.PathLike[str]],
    output_dir: str | os.PathLike[str],
    *,
    methods: Sequence[str] = ("gradcam",),
    layer: str | None = None,
    target: int | None = None,
    stats_images: Sequence[str | os.PathLike[str]] | None = None,
    faithfulness: bool = True,
    faithfulness_points: int = 32,
    road_score: bool = False,
    silhouettes: str | os.PathLike[str] | None = None,
    seed: int = 0,
    device: str | torch.device | None = None,
) -> list[dict[str, Any]]:
    """Attribution maps of every model for every image with every method, saved and scored.

    Args:
        models: specs, :class:`LoadedModel` objects or modules, returning ``(B, classes)`` logits.
        images: image files; all are resized and cropped by each model's preprocessing.
        output_dir: where the ``.npy`` maps and ``attributions.json`` go (nothing elsewhere).
        methods: any of :data:`ATTRIBUTION_METHODS`: ``"gradcam"``, ``"iba"`` and the CAM family
            of the grad-cam library (``"gradcam++"``, ``"scorecam"``, ``"eigencam"``, ...;
            the ``cam`` extra).
        layer: the layer the methods use (default: Grad-CAM's last convolutional stage; IBA's
            :func:`default_iba_layer`).
        target: the class to explain (default: each model's top class per image).
        stats_images: image files for IBA's feature statistics (default: the explained images).
        faithfulness: also compute deletion and insertion areas (``faithfulness_points``
            steps per curve; RISE uses one step per image row).
        road_score: also compute ROAD (:func:`~.road.road`; the ``cam`` extra; one sparse
            solve per image, percentile and order, so it is the slowest score).
        silhouettes: the filled-silhouettes folder: for each cue-conflict image, the share of
            the map on its shape source's silhouette (``object_share``); images without one
            get ``object_share: null`` and the reason.
        seed: seeds IBA's and ROAD's noise (IBA's per image, so a map does not depend on its batch).
        device: where to run.

    Returns:
        One record per (image, model, method): ``image``, ``model``, ``method``, ``target``,
        ``heatmap`` (the ``.npy`` path), ``total`` (the map's sum: bits for IBA) and, with
        ``faithfulness``, ``deletion_auc`` and ``insertion_auc``; with ``road_score``, ``road``;
        with ``silhouettes``, ``object_share`` (and ``object_mask``: the silhouette file, or why
        there is none).
    """
    if not models or not images:
        raise InvalidArgumentError("give at least one model and one image")
    for method in methods:
        check_choice(method, ATTRIBUTION_METHODS, "method")
    loaded = [resolve_model(m, None, device) for m in models]
    out = Path(output_dir)
    names = image_output_names(images)
    pictures = [load_image(p) for p in images]
    masks = _silhouette_masks(images, pictures, silhouettes) if silhouettes is not None else None
    records: list[dict[str, Any]] = []
    for lm, label in zip(loaded, _model_labels(loaded)):
        param = next(iter(lm.model.parameters()), None)
        dev = param.device if param is not None else torch.device("cpu")
        x = torch.stack([lm.preprocess.transform(p) for p in pictures]).to(dev)
        with torch.no_grad():
            top = lm.model(x).argmax(dim=1)
        targets = top if target is None else torch.full_like(top, int(target))
        for method in methods:
            maps = _maps(method, lm, x, targets, names, layer, stats_images, seed)
            scores = _faithfulness(lm, x, maps, targets, faithfulness_points) if faithfulness else None
            road_scores = None
            if road_score:
                gen = torch.Generator().manual_seed(derive_seed(seed, "road", label, method))
                road_scores = road(lm.model, x, maps, targets, generator=gen).combined
            for i, (path, pil, name) in enumerate(zip(images, pictures, names)):
                full = heatmap_to_image(maps[i], pil.width, pil.height, lm.preprocess, keep_total=method == "iba")
                file = out / f"{name}__{label}__{method}.npy"
                _save_array(full, file)
                record = {"image": str(path), "model": lm.name, "method": method, "target": int(targets[i]),
                          "heatmap": str(file), "total": float(full.sum())}
                if scores is not None:
                    record.update(deletion_auc=float(scores[0][i]), insertion_auc=float(scores[1][i]))
                if road_scores is not None:
                    record["road"] = _number(road_scores[i])
                if masks is not None:
                    mask, source = masks[i]
                    share = object_share(full[None], mask[None])[0] if mask is not None else None
                    record.update(object_share=_number(share), object_mask=source)
                records.append(record)
    write_json(records, out / "attributions.json")
    return records


def _number(value: Tensor | None) -> float | None:
    """A JSON number, or None for a missing or undefined (NaN) score."""
    return None if value is None or torch.isnan(value) else float(value)


def _silhouette_masks(images: Sequence[str | os.PathLike[str]], pictures: Sequence[Any],
                      silhouettes: str | os.PathLike[str]) -> list[tuple[Tensor | None, str]]:
    """Per image: its object mask on the image's grid and the silhouette file, or None and why not."""
    if not Path(silhouettes).is_dir():
        raise InvalidArgumentError(f"silhouettes folder {silhouettes} does not exist (--silhouettes: the "
                                   "filled-silhouettes stimuli, <category>/<name>.png)")
    out: list[tuple[Tensor | None, str]] = []
    for path, pil in zip(images, pictures):
        found = silhouette_for(path, silhouettes)
        if found is None:
            out.append((None, f"none: {Path(path).name} is not a cue-conflict name with a silhouette in {silhouettes}"))
        else:
            out.append((silhouette_mask(found, pil.width, pil.height), str(found)))
    return out


def _faithfulness(lm: LoadedModel, x: Tensor, maps: Tensor, targets: Tensor, points: int) -> tuple[Tensor, Tensor]:
    step = max(1, math.ceil(x.shape[-2] * x.shape[-1] / int(points)))
    deletion = area_under_curve(deletion_curve(lm.model, x, maps, targets, step=step))
    insertion = area_under_curve(insertion_curve(lm.model, x, maps, targets, step=step))
    return deletion, insertion
