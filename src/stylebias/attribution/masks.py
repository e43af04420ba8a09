"""How much of an attribution map falls on the object: the object share, with silhouette masks.

For a cue-conflict image the shape comes from one of the 160 original images and the texture
from another; the filled-silhouettes stimulus set holds that original's silhouette (black object
on white) under the shape source's name: ``cat2-elephant1.png`` -> ``cat/cat2.png`` (Geirhos et
al. 2019 derived the silhouettes, edges and cue-conflict images from the same originals and the
same framing). A shape-biased model's map should fall on the object; a texture-biased one's
spreads over the background the texture also covers.

``object_share = sum(map * mask) / sum(map)``: 1 when all attribution is on the object, the
object's area fraction for a uniform map. Where no silhouette exists the share is not made up:
:func:`silhouette_for` returns None and the record says so.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch
from PIL import Image
from torch import Tensor

from .._checks import check_shape
from ..errors import InvalidArgumentError
from ..io import load_image
from ..shapebias.stimuli import parse_cue_conflict_name

__all__ = ["object_share", "silhouette_for", "silhouette_mask"]


def object_share(heatmaps: Tensor, masks: Tensor) -> Tensor:
    """``(B,)`` share of each ``(H, W)`` map's total inside its object mask; NaN for an all-zero map.

    Maps are clamped at 0 first (attribution against the class is not attribution on the object).
    """
    check_shape(heatmaps, "B H W", "heatmaps")
    if masks.shape != heatmaps.shape:
        raise InvalidArgumentError(f"masks must have the maps' shape {tuple(heatmaps.shape)}, got {tuple(masks.shape)}")
    maps = heatmaps.detach().float().clamp_min(0).flatten(1)
    total = maps.sum(dim=1)
    inside = (maps * masks.flatten(1).to(maps)).sum(dim=1)
    return torch.where(total > 0, inside / total.clamp_min(1e-30), torch.nan)


def silhouette_for(image: str | os.PathLike[str], silhouettes: str | os.PathLike[str]) -> Path | None:
    """The silhouette of a cue-conflict image's shape source, or None when the name is not a
    cue-conflict name or the file is not in ``silhouettes`` (``<category>/<name>.png`` or flat)."""
    stem = Path(image).stem
    parsed = parse_cue_conflict_name(stem)
    if parsed is None:
        return None
    source = stem.split("-", 1)[0]
    root = Path(silhouettes)
    for candidate in (root / parsed[0] / f"{source}.png", root / f"{source}.png"):
        if candidate.is_file():
            return candidate
    return None


def silhouette_mask(path: str | os.PathLike[str], width: int, height: int) -> Tensor:
    """``(height, width)`` bool object mask from a silhouette file: its dark pixels (grey < 0.5),
    resized with nearest-neighbour sampling to the image the map belongs to."""
    picture = load_image(path).convert("L").resize((width, height), Image.NEAREST)
    grey = torch.frombuffer(bytearray(picture.tobytes()), dtype=torch.uint8).view(height, width)
    return grey < 128
