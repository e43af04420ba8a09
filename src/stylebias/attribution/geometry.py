"""Heatmaps back on the input file's pixel grid.

A model sees the image after :class:`~stylebias.models.Preprocess` (shorter side resized, then
a centre crop); a heatmap of that view covers only the crop. :func:`heatmap_to_image` undoes the
geometry: it places the map on the crop's box in the original image, at the original
resolution, and leaves the pixels the model never saw at 0 (no attribution).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from .._checks import check_shape
from ..models import Preprocess

__all__ = ["crop_box", "heatmap_to_image"]


def crop_box(width: int, height: int, preprocess: Preprocess) -> tuple[float, float, float, float]:
    """``(x0, y0, x1, y1)`` in original pixels of the square the model sees (may reach past the
    image where the crop pads)."""
    rw, rh = width, height
    if preprocess.resize is not None and min(width, height) != preprocess.resize:
        short, long = min(width, height), max(width, height)
        new_long = int(preprocess.resize * long / short)  # as Preprocess.geometry truncates
        rw, rh = (preprocess.resize, new_long) if width <= height else (new_long, preprocess.resize)
    left, top, side_x, side_y = 0.0, 0.0, float(rw), float(rh)
    if preprocess.crop is not None and (rw, rh) != (preprocess.crop, preprocess.crop):
        c = preprocess.crop
        left, top, side_x, side_y = float(round((rw - c) / 2.0)), float(round((rh - c) / 2.0)), float(c), float(c)
    sx, sy = width / rw, height / rh
    return left * sx, top * sy, (left + side_x) * sx, (top + side_y) * sy


def heatmap_to_image(heatmap: Tensor, width: int, height: int, preprocess: Preprocess, *, keep_total: bool = False) -> Tensor:
    """A ``(h, w)`` heatmap of the model's view as a ``(height, width)`` map of the input file.

    Args:
        heatmap: the map at the model's input size.
        width, height: the input file's size.
        preprocess: the geometry the model's input was made with.
        keep_total: rescale so the map keeps its sum (bits of IBA) over the box before the
            parts outside the image are cut off; otherwise values are interpolated as they are
            (Grad-CAM's [0, 1] scale).

    Returns:
        ``(height, width)`` float tensor; 0 outside the box the model saw.
    """
    check_shape(heatmap, "H W", "heatmap")
    x0, y0, x1, y1 = crop_box(width, height, preprocess)
    ix0, iy0, ix1, iy1 = (int(round(v)) for v in (x0, y0, x1, y1))
    box_w, box_h = max(1, ix1 - ix0), max(1, iy1 - iy0)
    heat = heatmap.detach().float()
    resized = F.interpolate(heat[None, None], size=(box_h, box_w), mode="bilinear", align_corners=False)[0, 0]
    if keep_total:
        resized = resized * (heat.sum() / resized.sum().clamp_min(torch.finfo(torch.float32).tiny))
    out = torch.zeros(height, width, dtype=resized.dtype, device=resized.device)
    cx0, cy0, cx1, cy1 = max(0, ix0), max(0, iy0), min(width, ix1), min(height, iy1)
    if cx1 > cx0 and cy1 > cy0:
        out[cy0:cy1, cx0:cx1] = resized[cy0 - iy0: cy1 - iy0, cx0 - ix0: cx1 - ix0]
    return out
