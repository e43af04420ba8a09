"""Signed distance functions of the built-in benchmark's ten shape classes.

Every shape lives in its own frame, centred on the origin and fitting in the unit disc; image
``y`` points down. A signed distance is negative inside the shape and positive outside, in the
frame's units. Polygons are evaluated exactly (distance to the nearest edge, even-odd rule for
the sign); the round shapes have closed forms.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable

import torch
from torch import Tensor

__all__ = ["SHAPES", "shape_sdf", "polygon_sdf", "sdf_atlas", "ATLAS_EXTENT"]

#: Half-width of the square (in shape-frame units) that :func:`sdf_atlas` tabulates.
ATLAS_EXTENT = 3.0


def polygon_sdf(q: Tensor, edges: Tensor) -> Tensor:
    """Signed distance from points to a polygon given by its edges (any number of loops).

    Args:
        q: points ``(B, P, 2)`` as (x, y).
        edges: ``(K, 2, 2)``: edge k runs from ``edges[k, 0]`` to ``edges[k, 1]``.

    Returns:
        ``(B, P)``: distance to the nearest edge, negative inside (even-odd rule).
    """
    a = edges[:, 0].to(q)  # (K, 2)
    ba = edges[:, 1].to(q) - a
    pa = q.unsqueeze(-2) - a  # (B, P, K, 2)
    h = ((pa * ba).sum(-1) / (ba * ba).sum(-1).clamp_min(1e-12)).clamp(0.0, 1.0)
    dist = (pa - ba * h.unsqueeze(-1)).norm(dim=-1).amin(dim=-1)
    py, ay, by = q[..., 1:2], a[:, 1], a[:, 1] + ba[:, 1]
    straddles = (ay > py) != (by > py)  # (B, P, K)
    x_cross = ba[:, 0] * (py - ay) / torch.where(ba[:, 1] == 0, 1.0, ba[:, 1]) + a[:, 0]
    inside = ((straddles & (q[..., 0:1] < x_cross)).sum(-1) % 2).bool()
    return torch.where(inside, -dist, dist)


def _loop(points: list[tuple[float, float]]) -> list[tuple[tuple[float, float], tuple[float, float]]]:
    return [(points[i], points[(i + 1) % len(points)]) for i in range(len(points))]


def _edges(points: list[tuple[float, float]]) -> Tensor:
    return torch.tensor(_loop(points), dtype=torch.float32)


def _regular(n: int, radius: float, phase: float = -math.pi / 2) -> list[tuple[float, float]]:
    return [
        (radius * math.cos(phase + 2 * math.pi * k / n), radius * math.sin(phase + 2 * math.pi * k / n))
        for k in range(n)
    ]


def _star(points: int, outer: float, inner: float) -> list[tuple[float, float]]:
    out = []
    for k in range(2 * points):
        r = outer if k % 2 == 0 else inner
        t = -math.pi / 2 + math.pi * k / points
        out.append((r * math.cos(t), r * math.sin(t)))
    return out


def _heart(n: int = 28) -> list[tuple[float, float]]:
    pts = []
    for k in range(n):
        t = 2 * math.pi * k / n
        x = 16 * math.sin(t) ** 3
        y = 13 * math.cos(t) - 5 * math.cos(2 * t) - 2 * math.cos(3 * t) - math.cos(4 * t)
        pts.append((x / 17.0, -(y + 2.5) / 17.0))  # image y points down: lobes on top
    return pts


_TRIANGLE = _edges(_regular(3, 1.0, -math.pi / 2))
_SQUARE = _edges([(-0.75, -0.75), (0.75, -0.75), (0.75, 0.75), (-0.75, 0.75)])
_STAR = _edges(_star(5, 1.0, 0.42))
_CROSS = _edges([
    (-0.3, -0.95), (0.3, -0.95), (0.3, -0.3), (0.95, -0.3), (0.95, 0.3), (0.3, 0.3),
    (0.3, 0.95), (-0.3, 0.95), (-0.3, 0.3), (-0.95, 0.3), (-0.95, -0.3), (-0.3, -0.3),
])
_HEART = _edges(_heart())
_ARROW = _edges([
    (-0.95, -0.22), (0.1, -0.22), (0.1, -0.6), (0.95, 0.0), (0.1, 0.6), (0.1, 0.22), (-0.95, 0.22),
])
_ELL = _edges([(-0.7, -0.95), (-0.15, -0.95), (-0.15, 0.4), (0.75, 0.4), (0.75, 0.95), (-0.7, 0.95)])


def _circle(q: Tensor) -> Tensor:
    return q.norm(dim=-1) - 0.85


def _crescent(q: Tensor) -> Tensor:
    outer = q.norm(dim=-1) - 0.9
    bite = (q - q.new_tensor([0.45, -0.1])).norm(dim=-1) - 0.72
    return torch.maximum(outer, -bite)


def _ring(q: Tensor) -> Tensor:
    return (q.norm(dim=-1) - 0.68).abs() - 0.24


def _poly(edges: Tensor) -> Callable[[Tensor], Tensor]:
    return lambda q: polygon_sdf(q, edges)


#: Shape class name -> signed distance function ``(B, P, 2) -> (B, P)``, in class-index order.
SHAPES: dict[str, Callable[[Tensor], Tensor]] = {
    "circle": _circle,
    "triangle": _poly(_TRIANGLE),
    "square": _poly(_SQUARE),
    "star": _poly(_STAR),
    "cross": _poly(_CROSS),
    "heart": _poly(_HEART),
    "crescent": _crescent,
    "arrow": _poly(_ARROW),
    "ring": _ring,
    "ell": _poly(_ELL),
}

_SDFS = tuple(SHAPES.values())


def shape_sdf(q: Tensor, shape: int) -> Tensor:
    """Signed distance ``(B, P)`` of points ``q`` ``(B, P, 2)`` to shape class ``shape``."""
    return _SDFS[shape](q)


@functools.lru_cache(maxsize=4)
def sdf_atlas(resolution: int = 256) -> Tensor:
    """Every shape's signed distance tabulated on a grid, for fast lookup by ``grid_sample``.

    Returns:
        ``(1, 1, C, R, R)`` float32 (C shapes, R = ``resolution``): slice k holds shape k's
        distance on an ``R x R`` grid spanning [-ATLAS_EXTENT, ATLAS_EXTENT]^2 (corner-aligned,
        i.e. ``align_corners=True`` sampling), rows along y. Computed once per process.
    """
    t = torch.linspace(-ATLAS_EXTENT, ATLAS_EXTENT, resolution)
    yy, xx = torch.meshgrid(t, t, indexing="ij")
    q = torch.stack([xx, yy], -1).reshape(1, -1, 2)
    slices = [fn(q).reshape(resolution, resolution) for fn in _SDFS]
    return torch.stack(slices)[None, None].contiguous()
