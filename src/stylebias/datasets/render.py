"""Rasteriser of the built-in benchmark: shape x texture x rendering domain -> RGB image.

The functional core of :class:`~stylebias.datasets.ShapeTexture`. Randomness arrives as tensors
(:class:`Draws`, drawn per image by :func:`draw`); :func:`render` is deterministic and batched.
Shapes are rasterised from signed distances, which gives anti-aliasing and outlines for free.

Rendering domains (each changes low-level image statistics substantially):

* ``photo``: textured object lit by a directional light with a highlight, on a blurry
  natural-coloured background, with sensor noise.
* ``cartoon``: flat posterised, saturated texture colours, a dark outline, a plain pastel
  background.
* ``sketch``: grey pencil strokes (a wobbly double outline) on paper white; the texture only as
  faint grey shading, no colour: little texture information.
* ``painting``: colour-shifted texture with brush-stroke streaks, soft wobbly edges, on a
  coloured brush-stroked background.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from .shapes import ATLAS_EXTENT, sdf_atlas
from .textures import TEXTURES, TextureParams, texture_pattern, texture_rgb

__all__ = ["DOMAINS", "Draws", "draw", "render", "NUM_SCALARS", "LOWRES", "RENDER_VERSION"]

#: Bump whenever :func:`render` or :func:`draw` changes its output: it is part of the cache key.
RENDER_VERSION = 2

DOMAINS: tuple[str, ...] = ("photo", "cartoon", "sketch", "painting")
NUM_SCALARS = 16
LOWRES = 8  # side of the low-resolution noise fields
_NUM_FIELDS = 6


@dataclass
class Draws:
    """The random numbers behind a batch of images (stacked per-image draws).

    Attributes:
        choice: ``(B, 2)`` uniform: texture decisions (see ``ShapeTexture``).
        other: ``(B,)`` integer in [0, C - 2]: offset of a non-matching texture.
        scalars: ``(B, NUM_SCALARS)`` uniform: pose, texture and domain jitter.
        fields: ``(B, 6, 8, 8)`` uniform low-resolution noise.
        grain: ``(B, H, W)`` uniform per-pixel noise.
    """

    choice: Tensor
    other: Tensor
    scalars: Tensor
    fields: Tensor
    grain: Tensor

    @staticmethod
    def stack(items: list[Draws]) -> Draws:
        return Draws(*(torch.stack([getattr(d, k) for d in items]) for k in Draws.__dataclass_fields__))


def draw(generator: torch.Generator, image_size: int) -> Draws:
    """All random numbers one image needs, in a fixed order, from ``generator``.

    The texture decision comes first, so texture labels can be computed without the rest.
    """
    num_textures = len(TEXTURES)
    choice = torch.rand(2, generator=generator)
    other = torch.randint(num_textures - 1, (), generator=generator)
    scalars = torch.rand(NUM_SCALARS, generator=generator)
    fields = torch.rand(_NUM_FIELDS, LOWRES, LOWRES, generator=generator)
    grain = torch.rand(image_size, image_size, generator=generator)
    return Draws(choice, other, scalars, fields, grain)


def _hsv(h: Tensor, s: float | Tensor, v: float | Tensor) -> Tensor:
    """HSV (each ``(B,)`` or scalar, in [0, 1]) to RGB ``(B, 3)``."""
    k = torch.tensor([5.0, 3.0, 1.0], device=h.device)
    kk = (k + h[:, None] * 6) % 6
    m = torch.minimum(kk, 4 - kk).clamp(0, 1)
    s = torch.as_tensor(s, device=h.device).reshape(-1, 1)
    v = torch.as_tensor(v, device=h.device).reshape(-1, 1)
    return v - v * s * m


def _col(v: Tensor) -> Tensor:
    """``(B,)`` -> ``(B, 1, 1)`` for broadcasting over ``(B, H, W)``."""
    return v[:, None, None]


def _line(dist: Tensor, width: float) -> Tensor:
    """Anti-aliased stroke of ``width`` pixels along the zero level of ``dist`` (pixels)."""
    return dist.abs().neg_().add_(width / 2 + 0.5).clamp_(0.0, 1.0)


def _coverage(dist: Tensor, soft: float = 1.0) -> Tensor:
    """Anti-aliased inside-ness from a signed distance in pixels."""
    return dist.mul(-1.0 / soft).add_(0.5).clamp_(0.0, 1.0)


def _mix(a: Tensor, b: Tensor, w: Tensor) -> Tensor:
    """``a`` where ``w`` = 0, ``b`` where ``w`` = 1; ``w`` is ``(B, H, W)``."""
    return torch.lerp(a.expand_as(b) if a.dim() == b.dim() else a, b, w.unsqueeze(1))


def _photo(ctx: dict, s: Tensor) -> Tensor:
    q, dist, tex, fields = ctx["q"], ctx["dist"], ctx["tex"], ctx["fields"]
    phi = s[:, 12] * 2 * math.pi
    lx, ly = phi.cos(), phi.sin()
    qx, qy = q[..., 0], q[..., 1]
    light = torch.addcmul(qx * _col(lx * 0.38), qy, _col(ly * 0.38))
    shade = light.add_(0.62).clamp_(0.2, 1.0)
    spot = torch.hypot(qx - _col(0.45 * lx), qy - _col(0.45 * ly)).square_().mul_(-1 / 0.06).exp_()
    obj = torch.addcmul(spot.mul_(0.45).unsqueeze(1), tex, shade.unsqueeze(1)).clamp_(0, 1)
    base = _hsv(s[:, 13], 0.15 + 0.3 * s[:, 14], 0.35 + 0.45 * s[:, 15])[:, :, None, None]
    blotches = torch.lerp(fields[:, 1:2], fields[:, 1:4], 0.35)  # mostly brightness, some hue
    bg = blotches.mul(0.9).add_(0.55).mul_(base)
    shadow = _coverage(dist - 0.12 * ctx["size"], 0.25 * ctx["size"])  # soft drop shadow
    bg.mul_(shadow.mul_(-0.45).add_(1.0).unsqueeze(1))
    img = _mix(bg, obj, _coverage(dist))
    return img.add_(ctx["grain"].unsqueeze(1), alpha=0.08).sub_(0.04)


def _cartoon(ctx: dict, s: Tensor) -> Tensor:
    tex = ctx["tex"]
    grey = tex.mean(1, keepdim=True)
    flat = torch.lerp(grey, tex, 1.35).mul_(3).round_().div_(3)  # saturated, posterised
    bg = _hsv(s[:, 13], 0.22, 0.97)[:, :, None, None]
    img = _mix(bg, flat, _coverage(ctx["dist"]))
    ink = (0.05 + 0.1 * s[:, 14])[:, None, None, None]
    return _mix(img, ink.expand_as(img), _line(ctx["dist"], 1.6 * ctx["px"]))


def _sketch(ctx: dict, s: Tensor) -> Tensor:
    dist, fields, px = ctx["dist"], ctx["fields"], ctx["px"]
    paper = fields[:, 0].mul(0.03).add_(ctx["grain"], alpha=0.02).add_(_col(0.05 * s[:, 13] + 0.905))
    paper.sub_(ctx["pattern"].mul(0.12).mul_(_coverage(dist)))  # faint grey shading
    wobble1 = fields[:, 5].sub(0.5).mul_(2.5 * px).add_(dist)
    wobble2 = fields[:, 4].sub(0.5).mul_(2.5 * px).add_(dist).add_(0.6 * px)
    stroke = torch.maximum(_line(wobble1, 1.0 * px), _line(wobble2, 0.8 * px).mul_(0.6))
    lead = _col(0.2 + 0.25 * s[:, 14]).expand_as(paper)
    grey = torch.lerp(paper, lead, stroke)
    return grey.unsqueeze(1).expand(-1, 3, -1, -1)


def _painting(ctx: dict, s: Tensor) -> Tensor:
    tex, fields, size = ctx["tex"], ctx["fields"], ctx["size"]
    b, _, h, w = tex.shape
    streaks = F.interpolate(
        ctx["lowres"][:, 4].reshape(b, 1, 2, LOWRES * LOWRES // 2), size=(h, w), mode="bilinear",
        align_corners=False,
    )
    k = (0.15 + 0.35 * s[:, 14])[:, None, None, None]
    obj = torch.lerp(tex, tex[:, [1, 2, 0]], k).mul_(streaks.mul(0.5).add_(0.75))
    bg = _hsv(s[:, 13], 0.45 + 0.3 * s[:, 15], 0.75)[:, :, None, None]
    bg = streaks.flip(-1).mul_(0.4).add_(0.8) * bg
    edge = fields[:, 5].sub(0.5).mul_(0.06 * size).add_(ctx["dist"])  # wobbly soft edge
    return _mix(bg, obj, _coverage(edge, 2.0 * ctx["px"]))


_DOMAIN_FNS = (_photo, _cartoon, _sketch, _painting)


def render(
    labels: Tensor, textures: Tensor, domains: Tensor, draws: Draws, image_size: int
) -> Tensor:
    """Render a batch of benchmark images.

    Args:
        labels: shape classes ``(B,)``, integers in [0, 10).
        textures: texture classes ``(B,)``, integers in [0, 10).
        domains: rendering domains ``(B,)``, indices into :data:`DOMAINS`.
        draws: the per-image random numbers (:func:`draw`, stacked).
        image_size: side ``S`` in pixels.

    Returns:
        RGB ``(B, 3, S, S)`` float32 in [0, 1], quantised to multiples of 1/255 (as if read
        from an 8-bit file, so cached and freshly rendered images are identical). Each image
        depends only on its own entries, not on the rest of the batch.
    """
    b, size = labels.numel(), image_size
    if b == 0:
        return torch.zeros(0, 3, size, size)
    order = torch.argsort(domains, stable=True)  # domain groups become contiguous slices
    labels, textures, domains = labels[order], textures[order], domains[order]
    draws = Draws(*(getattr(draws, f)[order] for f in Draws.__dataclass_fields__))
    s = draws.scalars
    coords = (torch.arange(size, dtype=torch.float32) + 0.5) / size * 2 - 1
    y, x = torch.meshgrid(coords, coords, indexing="ij")
    x, y = x[None], y[None]  # (1, S, S), broadcast against per-image parameters
    # pose: rotation +-15 degrees, scale 0.7..0.9 of the half-image, shift +-0.08, aspect.
    # Shape-frame coordinates q = A (p - t), found by one affine_grid call that also sets the
    # atlas slice (z) of each image's class.
    rot = (s[:, 0] - 0.5) * math.radians(30)
    scale = 0.7 + 0.2 * s[:, 1]
    t = (s[:, 2:4] - 0.5) * 0.16
    aspect = 0.9 + 0.2 * s[:, 4]
    c, sn = rot.cos(), rot.sin()
    sx, sy = 1.0 / (scale * aspect * ATLAS_EXTENT), aspect / (scale * ATLAS_EXTENT)
    rows = torch.stack([torch.stack([c * sx, sn * sx]), torch.stack([-sn * sy, c * sy])])  # (2,2,B)
    mat = rows.permute(2, 0, 1)  # (B, 2, 2)
    theta = torch.zeros(b, 3, 4)
    theta[:, :2, :2] = mat
    theta[:, :2, 3] = -(mat @ t.unsqueeze(-1)).squeeze(-1)
    atlas = sdf_atlas()
    theta[:, 2, 3] = labels.float() * (2.0 / (atlas.shape[2] - 1)) - 1.0
    grid = F.affine_grid(theta, [b, 1, 1, size, size], align_corners=False)  # (B, 1, S, S, 3)
    dist = F.grid_sample(
        atlas, grid.reshape(1, b, size, size, 3), mode="bilinear", padding_mode="border",
        align_corners=True,
    ).reshape(b, size, size)
    dist.mul_(_col(scale * (size / 2)))  # in pixels (approximately)
    q = grid[:, 0, :, :, :2] * ATLAS_EXTENT
    fields = F.interpolate(draws.fields, size=(size, size), mode="bilinear", align_corners=False)
    tparams = TextureParams(
        angle=s[:, 5], freq=s[:, 6], phase_x=s[:, 7], phase_y=s[:, 8], colour=s[:, 9:12],
        blobs=fields[:, 0], grain=draws.grain,
    )
    pattern = torch.empty(b, size, size)
    tex = torch.empty(b, 3, size, size)
    for k in textures.unique().tolist():
        idx = (textures == k).nonzero().flatten()
        sub = TextureParams(*(getattr(tparams, f)[idx] for f in TextureParams.__dataclass_fields__))
        pattern[idx] = texture_pattern(x, y, k, sub).expand(idx.numel(), size, size)
        tex[idx] = texture_rgb(pattern[idx], k, sub)
    out = torch.empty(b, 3, size, size)
    px = size / 32.0  # stroke widths scale with the image
    counts = torch.bincount(domains, minlength=len(DOMAINS)).tolist()
    start = 0
    for k, n in enumerate(counts):
        if n == 0:
            continue
        sl = slice(start, start + n)
        ctx = {
            "q": q[sl], "dist": dist[sl], "tex": tex[sl], "pattern": pattern[sl],
            "fields": fields[sl], "lowres": draws.fields[sl], "grain": draws.grain[sl],
            "size": float(size), "px": px,
        }
        out[sl] = _DOMAIN_FNS[k](ctx, s[sl])
        start += n
    out = out.clamp_(0.0, 1.0).mul_(255).round_().div_(255)
    result = torch.empty_like(out)
    result[order] = out
    return result
