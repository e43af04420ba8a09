"""``explain``: Grad-CAM heatmaps of one or more models, side by side, for image files.

The pAdaIN paper (Nuriel et al., CVPR 2021) compares Grad-CAM of a network with and without
its style layer; ``explain(["a.py:with_layer", "a.py:without"], images, out)`` writes one
panel per image: the input followed by each model's heatmap overlay, labelled with the model
and its 16-class decision.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
from PIL import Image, ImageDraw

from ..errors import InvalidArgumentError
from ..io import load_image, save_image, to_pil
from ..models import LoadedModel, Preprocess
from ..stylize.naming import distinct_names
from .categories import logits_to_decisions
from ..models.resolve import ModelLike, resolve_model
from .gradcam import grad_cam, overlay

__all__ = ["explain", "image_output_names"]

_LABEL_H = 28


def explain(
    models: Sequence[ModelLike],
    images: Sequence[str | os.PathLike[str]],
    output_dir: str | os.PathLike[str],
    *,
    target: int | str | None = None,
    layer: str | None = None,
    preprocess: Preprocess | Mapping[str, Any] | None = None,
    alpha: float = 0.5,
    device: str | torch.device | None = None,
) -> list[dict[str, Any]]:
    """Write ``<output_dir>/<image stem>_gradcam.png`` for every image.

    Images whose stems clash (``a/x.jpg`` and ``b/x.jpg``) are named ``<folder>_<stem>``
    (``a_x_gradcam.png``), and where that still clashes also get ``_`` and 8 hex digits of the
    sha256 of their resolved path; so no two inputs share an output.

    Args:
        models: specs, :class:`LoadedModel` objects or modules (see
            :func:`~stylebias.shapebias.evaluate.resolve_model`); 1000 ImageNet logits.
        images: image files.
        output_dir: created if needed; nothing is written elsewhere.
        target: ImageNet class index or one of the 16 category names to explain; default:
            each model's top ImageNet class.
        layer: name of the layer to take activations from (same for every model); default:
            the last convolutional stage of each.
        preprocess: override of the models' resize/crop (a dict of fields or a Preprocess).
        alpha: weight of the heatmap in the overlay.
        device: where to run.

    Returns:
        One record per image: ``image``, ``output`` and, per model, ``source``, ``class``
        (explained ImageNet index, -1 for a category) and ``decision`` (16-class).

    Raises:
        InvalidArgumentError: no model or no image given.
        DataError: an image cannot be read.
    """
    if not models:
        raise InvalidArgumentError("explain needs at least one model")
    if not images:
        raise InvalidArgumentError("explain needs at least one image")
    loaded: list[LoadedModel] = [resolve_model(m, preprocess, device) for m in models]
    out_dir = Path(output_dir)
    pictures = [load_image(p) for p in images]
    records = []
    for path, pil, name in zip(images, pictures, image_output_names(images)):
        panels = [loaded[0].preprocess.transform(pil)]
        labels = ["input"]
        entry: dict[str, Any] = {"image": str(path), "models": []}
        for lm in loaded:
            x = lm.preprocess.transform(pil)[None]
            params = next(iter(lm.model.parameters()), None)
            if params is not None:
                x = x.to(params.device)
            heat, chosen = grad_cam(lm.model, x, layer=layer, target=target)
            with torch.inference_mode():
                decision = logits_to_decisions(lm.model(x))[0]
            panels.append(overlay(x[0].cpu(), heat[0].cpu(), alpha))
            labels.append(f"{lm.name}: {decision}")
            entry["models"].append({"source": lm.name, "class": int(chosen[0]), "decision": decision})
        target_path = out_dir / f"{name}_gradcam.png"
        save_image(_panel(panels, labels), target_path)
        entry["output"] = str(target_path)
        records.append(entry)
    return records


def image_output_names(images: Sequence[str | os.PathLike[str]]) -> list[str]:
    """A distinct output name per image file (one name for the same file given twice): the
    stem, then ``<folder>_<stem>`` where stems clash, then a path hash. Shared by every
    command that writes one output per input image."""
    keys = [str(Path(p).resolve()) for p in images]
    unique = list(dict.fromkeys(keys))
    choices = [(Path(k).stem, f"{Path(k).parent.name}_{Path(k).stem}") for k in unique]
    names = dict(zip(unique, distinct_names(unique, choices, [""] * len(unique), "images")))
    return [names[k] for k in keys]


def _panel(images: Sequence[torch.Tensor], labels: Sequence[str]) -> Image.Image:
    """Images side by side (tops aligned), each with a text label underneath."""
    tiles = [to_pil(img) for img in images]
    width = sum(t.width for t in tiles)
    height = max(t.height for t in tiles) + _LABEL_H
    canvas = Image.new("RGB", (width, height), (255, 255, 255))
    draw = ImageDraw.Draw(canvas)
    x = 0
    for tile, label in zip(tiles, labels):
        canvas.paste(tile, (x, 0))
        text = label if len(label) <= tile.width // 6 else label[: max(3, tile.width // 6 - 1)] + "…"
        draw.text((x + 4, tile.height + 8), text, fill=(0, 0, 0))
        x += tile.width
    return canvas
