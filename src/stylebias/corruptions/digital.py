"""Digital corruptions: contrast, elastic transform, pixelate, JPEG and (extra) saturate.

Reference: Hendrycks & Dietterich, ICLR 2019.
"""

from __future__ import annotations

import io

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import Tensor

from ._base import Context, register
from ._ops import draw, gaussian_blur_symmetric, scale_saturation


@register(
    "contrast",
    "digital",
    imagenet=(0.4, 0.3, 0.2, 0.1, 0.05),
    cifar=(0.75, 0.5, 0.4, 0.3, 0.15),
)
def contrast(x: Tensor, factor: float, ctx: Context) -> Tensor:
    """Scale each channel's deviation from its mean by ``factor``."""
    mean = x.mean(dim=(2, 3), keepdim=True)
    return ((x - mean) * factor + mean).clamp(0, 1)


def _affine_inverse(x: Tensor, jitter: float, ctx: Context) -> Tensor:
    """``(B, 2, 3)`` inverse pixel maps of the reference's random affine (three jittered points)."""
    b, _, h, w = x.shape
    cx, cy = float(h // 2), float(w // 2)  # the reference's "center_square" (x, y) = (H//2, W//2)
    side = float(min(h, w) // 3)
    src = torch.tensor(
        [[cx + side, cy + side], [cx + side, cy - side], [cx - side, cy - side]], dtype=torch.float64
    )
    noise = draw(torch.rand, (b, 3, 2), ctx.generator, torch.device("cpu"), dtype=torch.float64)
    dst = src[None] + (noise * 2 - 1) * jitter
    src_h = torch.cat([src, torch.ones(3, 1, dtype=torch.float64)], 1)  # (3, 3)
    forward = torch.linalg.solve(src_h[None].expand(b, 3, 3), dst).transpose(1, 2)  # (B, 2, 3)
    full = torch.cat([forward, torch.tensor([[[0.0, 0.0, 1.0]]], dtype=torch.float64).expand(b, 1, 3)], 1)
    return torch.linalg.inv(full)[:, :2]


@register(
    "elastic_transform",
    "digital",
    # (alpha, sigma, affine jitter) as multiples of the image side; 244 (sic) is the
    # reference's ImageNet constant, 32 the CIFAR one.
    imagenet=(
        (244 * 2, 244 * 0.7, 244 * 0.1),
        (244 * 2, 244 * 0.08, 244 * 0.2),
        (244 * 0.05, 244 * 0.01, 244 * 0.02),
        (244 * 0.07, 244 * 0.01, 244 * 0.02),
        (244 * 0.12, 244 * 0.01, 244 * 0.02),
    ),
    cifar=(
        (32 * 0, 32 * 0, 32 * 0.08),
        (32 * 0.05, 32 * 0.2, 32 * 0.07),
        (32 * 0.08, 32 * 0.06, 32 * 0.06),
        (32 * 0.1, 32 * 0.04, 32 * 0.05),
        (32 * 0.1, 32 * 0.03, 32 * 0.03),
    ),
    aliases=("elastic",),
)
def elastic_transform(x: Tensor, c: tuple[float, float, float], ctx: Context) -> Tensor:
    """Random affine warp, then a smooth random displacement field (bilinear, mirrored borders).

    The parameters are in pixels for a 224 (ImageNet) or 32 (CIFAR) image and scale with the
    shorter side for other sizes.
    """
    b, _, h, w = x.shape
    scale = min(h, w) / (224 if ctx.family == "imagenet" else 32)
    alpha, sigma, jitter = (v * scale for v in c)
    inverse = _affine_inverse(x, jitter, ctx).to(x.device, torch.float64)  # (B, 2, 3)
    field = draw(torch.rand, (b, 2, h, w), ctx.generator, x.device) * 2 - 1
    field = gaussian_blur_symmetric(field, sigma, truncate=3.0) * alpha
    field = field.double()
    ys, xs = torch.meshgrid(
        torch.arange(h, device=x.device, dtype=torch.float64),
        torch.arange(w, device=x.device, dtype=torch.float64),
        indexing="ij",
    )
    px = xs[None] + field[:, 0]  # displaced (x, y) in the affinely warped image
    py = ys[None] + field[:, 1]
    sx = inverse[:, 0, 0, None, None] * px + inverse[:, 0, 1, None, None] * py + inverse[:, 0, 2, None, None]
    sy = inverse[:, 1, 0, None, None] * px + inverse[:, 1, 1, None, None] * py + inverse[:, 1, 2, None, None]
    grid = torch.stack([sx / (w - 1) * 2 - 1, sy / (h - 1) * 2 - 1], -1).to(x.dtype)
    out = F.grid_sample(x, grid, mode="bilinear", padding_mode="reflection", align_corners=True)
    return out.clamp(0, 1)


@register(
    "pixelate",
    "digital",
    imagenet=(0.6, 0.5, 0.4, 0.3, 0.25),
    cifar=(0.95, 0.9, 0.85, 0.75, 0.65),
)
def pixelate(x: Tensor, factor: float, ctx: Context) -> Tensor:
    """Box-downsample to ``factor`` of the size (PIL's BOX), then upsample by nearest neighbour."""
    h, w = x.shape[-2:]
    rows = _box_matrix(h, max(1, int(h * factor)), x)
    cols = _box_matrix(w, max(1, int(w * factor)), x)
    small = torch.einsum("ih,bchw,jw->bcij", rows, x, cols)
    return F.interpolate(small, size=(h, w), mode="nearest-exact")


def _box_matrix(n_in: int, n_out: int, like: Tensor) -> Tensor:
    """``(n_out, n_in)`` averaging matrix of PIL's BOX reduction: input pixel ``j`` (centre
    ``j + 0.5``) goes to output bin ``floor((j + 0.5) * n_out / n_in)``."""
    centres = torch.arange(n_in, device=like.device, dtype=torch.float64) + 0.5
    bins = torch.floor(centres * n_out / n_in).long().clamp(0, n_out - 1)
    m = torch.zeros(n_out, n_in, device=like.device, dtype=torch.float64)
    m[bins, torch.arange(n_in, device=like.device)] = 1.0
    return (m / m.sum(1, keepdim=True).clamp_min(1)).to(like.dtype)


@register(
    "jpeg_compression",
    "digital",
    imagenet=(25, 18, 15, 10, 7),
    cifar=(80, 65, 58, 50, 40),
    aliases=("jpeg",),
)
def jpeg_compression(x: Tensor, quality: int, ctx: Context) -> Tensor:
    """Round-trip through JPEG at ``quality`` (Pillow's libjpeg, as the reference; on the CPU)."""
    data = (x.detach() * 255).round().clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy()
    out = []
    for image in data:
        buffer = io.BytesIO()
        Image.fromarray(image).save(buffer, format="JPEG", quality=int(quality))
        buffer.seek(0)
        with Image.open(buffer) as decoded:
            out.append(np.asarray(decoded.convert("RGB")))
    return torch.from_numpy(np.stack(out)).permute(0, 3, 1, 2).to(x.device, x.dtype) / 255


@register(
    "saturate",
    "digital",
    imagenet=((0.3, 0), (0.1, 0), (2, 0), (5, 0.1), (20, 0.2)),
    cifar=((0.3, 0), (0.1, 0), (1.5, 0), (2, 0.1), (2.5, 0.2)),
    extra=True,
)
def saturate(x: Tensor, c: tuple[float, float], ctx: Context) -> Tensor:
    """HSV saturation ``s * c[0] + c[1]``."""
    return scale_saturation(x, c[0], c[1]).clamp(0, 1)
