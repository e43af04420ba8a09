"""The built-in benchmark's ten procedural textures, one per class ("the texture of class k").

A texture is a pattern ``p(x, y)`` in [0, 1] (stripes, checkers, dots, ...) that mixes the two
colours of its own palette. Patterns are drawn with plain torch ops on image coordinates in
[-1, 1], with per-image jitter of orientation, frequency, phase and colours, so two images of
the same texture differ but stay recognisably alike.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor

__all__ = ["TEXTURES", "PALETTES", "TextureParams", "texture_pattern", "texture_rgb"]


@dataclass
class TextureParams:
    """Per-image texture jitter, each a ``(B,)`` tensor in [0, 1] unless said otherwise.

    Attributes:
        angle, freq, phase_x, phase_y: orientation, frequency and phase jitter.
        colour: ``(B, 3)`` palette jitter.
        blobs: ``(B, H, W)`` smooth noise (low-resolution noise upsampled).
        grain: ``(B, H, W)`` per-pixel noise.
    """

    angle: Tensor
    freq: Tensor
    phase_x: Tensor
    phase_y: Tensor
    colour: Tensor
    blobs: Tensor
    grain: Tensor


def _soft(v: Tensor, sharp: float = 3.0) -> Tensor:
    """A wave in [-1, 1] as a soft binary pattern in [0, 1] (in place)."""
    return v.mul_(sharp).add_(0.5).clamp_(0.0, 1.0)


def _affine(x: Tensor, y: Tensor, a: Tensor, b: Tensor, c: Tensor) -> Tensor:
    """``a x + b y + c`` with ``(B,)`` coefficients and ``(1, H, W)`` coordinates."""
    return torch.addcmul(torch.addcmul(c[:, None, None], x, a[:, None, None]), y, b[:, None, None])


def _frame(x: Tensor, y: Tensor, t: TextureParams, base_angle: float, base_freq: float):
    """Rotated, phase-shifted coordinates in cycles (one unit = one period)."""
    angle = base_angle + (t.angle - 0.5) * 0.5  # +-0.25 rad
    f = base_freq * (0.85 + 0.3 * t.freq) / 2.0  # cycles per image width
    c, s = angle.cos() * f, angle.sin() * f
    return _affine(x, y, c, s, t.phase_x), _affine(x, y, -s, c, t.phase_y)


def _stripes(x, y, t):
    u, _ = _frame(x, y, t, 0.0, 5.0)
    return _soft(u.mul_(2 * math.pi).sin_())


def _diagonal(x, y, t):
    u, _ = _frame(x, y, t, math.pi / 4, 7.0)
    return _soft(u.mul_(2 * math.pi).sin_(), 1.5)


def _checker(x, y, t):
    u, v = _frame(x, y, t, 0.0, 4.0)
    return _soft(u.mul_(2 * math.pi).sin_().mul_(v.mul_(2 * math.pi).sin_()), 4.0)


def _dots(x, y, t):
    u, v = _frame(x, y, t, math.pi / 8, 5.0)
    du, dv = u.sub_(u.round()), v.sub_(v.round())
    return torch.hypot(du, dv).sub_(0.28).mul_(-8).add_(1.0).clamp_(0.0, 1.0)


def _waves(x, y, t):
    u, v = _frame(x, y, t, math.pi / 2, 4.0)
    wobble = v.mul_(2 * math.pi * 0.8).sin_()
    return _soft(u.add_(wobble, alpha=0.35).mul_(2 * math.pi).sin_(), 2.0)


def _grid(x, y, t):
    u, v = _frame(x, y, t, 0.0, 4.0)
    line = torch.minimum(u.sub_(u.round()).abs_(), v.sub_(v.round()).abs_())
    return line.sub_(0.09).mul_(-12).add_(1.0).clamp_(0.0, 1.0)


def _grain(x, y, t):
    return (t.grain - 0.5).mul_(2.5).add_(0.5).clamp_(0.0, 1.0)


def _zigzag(x, y, t):
    u, v = _frame(x, y, t, 0.0, 4.0)
    tri = v.sub_(v.floor()).sub_(0.5).abs_()  # triangle wave in [0, 0.5]
    return _soft(u.add_(tri, alpha=1.2).mul_(2 * math.pi).sin_(), 2.0)


def _rings(x, y, t):
    cx, cy = (t.phase_x - 0.5)[:, None, None], (t.phase_y - 0.5)[:, None, None]
    f = (2 * math.pi * 3.0 * (0.85 + 0.3 * t.freq))[:, None, None]
    return _soft(torch.hypot(x - cx, y - cy).mul_(f).sin_(), 2.0)


def _spots(x, y, t):
    return (t.blobs - 0.55).mul_(6).add_(0.5).clamp_(0.0, 1.0)


#: Texture name -> pattern function ``(x, y, params) -> (B, H, W)`` in [0, 1], in class order.
TEXTURES: dict[str, Callable[[Tensor, Tensor, TextureParams], Tensor]] = {
    "stripes": _stripes,
    "diagonal": _diagonal,
    "checker": _checker,
    "dots": _dots,
    "waves": _waves,
    "grid": _grid,
    "grain": _grain,
    "zigzag": _zigzag,
    "rings": _rings,
    "spots": _spots,
}

#: Two RGB colours per texture (pattern 0 -> first, 1 -> second), in class order.
PALETTES: Tensor = torch.tensor([
    [[0.85, 0.12, 0.12], [1.00, 0.88, 0.62]],  # stripes: red on cream
    [[0.10, 0.15, 0.55], [0.98, 0.85, 0.15]],  # diagonal: navy and yellow
    [[0.12, 0.12, 0.12], [0.92, 0.92, 0.92]],  # checker: black and white
    [[0.98, 0.72, 0.85], [0.60, 0.02, 0.40]],  # dots: plum dots on pink
    [[0.00, 0.45, 0.48], [0.55, 0.92, 0.90]],  # waves: teal and aqua
    [[0.72, 0.95, 0.55], [0.08, 0.45, 0.12]],  # grid: green lines on light green
    [[0.40, 0.26, 0.12], [0.85, 0.70, 0.45]],  # grain: brown and tan
    [[0.98, 0.50, 0.05], [0.40, 0.08, 0.62]],  # zigzag: orange and purple
    [[0.20, 0.40, 0.98], [0.95, 0.96, 1.00]],  # rings: blue and white
    [[0.95, 0.76, 0.30], [0.28, 0.14, 0.04]],  # spots: leopard
])

_PATTERNS = tuple(TEXTURES.values())


def texture_pattern(x: Tensor, y: Tensor, texture: int, params: TextureParams) -> Tensor:
    """Pattern ``(B, H, W)`` in [0, 1] of texture class ``texture`` at coordinates ``x, y``."""
    return _PATTERNS[texture](x, y, params)


def texture_rgb(pattern: Tensor, texture: int, params: TextureParams) -> Tensor:
    """Colour a pattern with its palette (jittered by +-0.08): ``(B, 3, H, W)`` in [0, 1]."""
    pal = PALETTES[texture].to(pattern)  # (2, 3)
    jitter = (params.colour - 0.5) * 0.16  # (B, 3)
    c0 = (pal[0] + jitter).clamp(0, 1)[:, :, None, None]
    c1 = (pal[1] + jitter).clamp(0, 1)[:, :, None, None]
    return torch.addcmul(c0, c1 - c0, pattern.unsqueeze(1))
