"""Weather corruptions: snow, frost, fog, brightness and (extra) spatter.

Reference: Hendrycks & Dietterich, ICLR 2019. Spatter's water drops use OpenCV's Canny edges
and distance transform in the reference; here the drop boundaries and an octagonal distance
(repeated 3x3 dilations) stand in for them, which keeps the look and the strength.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

from ._base import Context, register
from ._frost import load_frost_images
from ._ops import (
    box_blur3,
    clipped_zoom,
    draw,
    filter2d,
    gaussian_blur,
    motion_blur,
    plasma_fractal,
    rgb_to_gray,
    shift_value,
)


@register(
    "snow",
    "weather",
    imagenet=(
        (0.1, 0.3, 3, 0.5, 10, 4, 0.8),
        (0.2, 0.3, 2, 0.5, 12, 4, 0.7),
        (0.55, 0.3, 4, 0.9, 12, 8, 0.7),
        (0.55, 0.3, 4.5, 0.85, 12, 8, 0.65),
        (0.55, 0.3, 2.5, 0.85, 12, 12, 0.55),
    ),
    cifar=(
        (0.1, 0.2, 1, 0.6, 8, 3, 0.95),
        (0.1, 0.2, 1, 0.5, 10, 4, 0.9),
        (0.15, 0.3, 1.75, 0.55, 10, 4, 0.9),
        (0.25, 0.3, 2.25, 0.6, 12, 6, 0.85),
        (0.3, 0.3, 1.25, 0.65, 14, 12, 0.8),
    ),
)
def snow(x: Tensor, c: tuple, ctx: Context) -> Tensor:
    """Zoomed Gaussian flakes, motion-blurred downwards, over a whitened image."""
    loc, scale, zoom, threshold, radius, sigma, keep = c
    b, _, h, w = x.shape
    flakes = loc + scale * draw(torch.randn, (b, 1, h, w), ctx.generator, x.device, dtype=x.dtype)
    flakes = clipped_zoom(flakes, zoom)
    flakes = torch.where(flakes < threshold, torch.zeros_like(flakes), flakes).clamp(0, 1)
    angles = draw(torch.rand, (b,), ctx.generator, x.device, dtype=torch.float64) * 90 - 135
    flakes = motion_blur(flakes, int(radius), float(sigma), angles)
    flakes = torch.round(flakes * 255) / 255
    x = keep * x + (1 - keep) * torch.maximum(x, rgb_to_gray(x) * 1.5 + 0.5)
    return (x + flakes + flakes.flip(-1, -2)).clamp(0, 1)


def _frost_layers(x: Tensor, ctx: Context) -> Tensor:
    """One random crop of a random frost picture per image, ``(B, 3, H, W)`` in [0, 1]."""
    pictures = load_frost_images(ctx.frost_dir)
    b, _, h, w = x.shape
    choice = draw(torch.randint, (b,), ctx.generator, torch.device("cpu"), low=0, high=len(pictures))
    u = draw(torch.rand, (b, 2), ctx.generator, torch.device("cpu"), dtype=torch.float64)
    layers = []
    resized: dict[int, Tensor] = {}
    for i in range(b):
        k = int(choice[i])
        if k not in resized:
            pic = pictures[k].float()[None]
            fh, fw = pic.shape[-2:]
            base = 1.0 if ctx.family == "imagenet" else 0.2 * min(h, w) / 32
            scale = max(base, 1.1 * h / fh, 1.1 * w / fw)
            if scale != 1.0:
                size = (math.ceil(fh * scale), math.ceil(fw * scale))
                pic = F.interpolate(pic, size=size, mode="bicubic", antialias=scale < 1).clamp(0, 255)
            resized[k] = pic[0]
        pic = resized[k]
        top = int(u[i, 0] * (pic.shape[-2] - h))
        left = int(u[i, 1] * (pic.shape[-1] - w))
        layers.append(pic[:, top : top + h, left : left + w])
    return (torch.stack(layers) / 255).to(x.device, x.dtype)


@register(
    "frost",
    "weather",
    imagenet=((1, 0.4), (0.8, 0.6), (0.7, 0.7), (0.65, 0.7), (0.6, 0.75)),
    cifar=((1, 0.2), (1, 0.3), (0.9, 0.4), (0.85, 0.4), (0.75, 0.45)),
)
def frost(x: Tensor, c: tuple[float, float], ctx: Context) -> Tensor:
    """``c[0] * image + c[1] * frost crop``. The frost pictures are found at run time (see
    :func:`stylebias.corruptions.find_frost_dir`)."""
    return (c[0] * x + c[1] * _frost_layers(x, ctx)).clamp(0, 1)


@register(
    "fog",
    "weather",
    imagenet=((1.5, 2), (2.0, 2), (2.5, 1.7), (2.5, 1.5), (3.0, 1.4)),
    cifar=((0.2, 3), (0.5, 3), (0.75, 2.5), (1, 2), (1.5, 1.75)),
)
def fog(x: Tensor, c: tuple[float, float], ctx: Context) -> Tensor:
    """Add a plasma-fractal haze of weight ``c[0]`` (roughness decay ``c[1]``), keep the max."""
    b, _, h, w = x.shape
    mapsize = 1 << (max(h, w) - 1).bit_length()
    haze = plasma_fractal(b, mapsize, c[1], ctx.generator, x.device)[:, None, :h, :w].to(x.dtype)
    peak = x.amax(dim=(1, 2, 3), keepdim=True)
    return ((x + c[0] * haze) * peak / (peak + c[0])).clamp(0, 1)


@register(
    "brightness",
    "weather",
    imagenet=(0.1, 0.2, 0.3, 0.4, 0.5),
    cifar=(0.05, 0.1, 0.15, 0.2, 0.3),
)
def brightness(x: Tensor, shift: float, ctx: Context) -> Tensor:
    """Add ``shift`` to the HSV value channel."""
    return shift_value(x, shift).clamp(0, 1)


def _equalize_hist(values: Tensor) -> Tensor:
    """``cv2.equalizeHist`` per image on ``(B, 1, H, W)`` integer-valued floats in [0, 255]."""
    b = values.shape[0]
    levels = values.long().clamp(0, 255).view(b, -1)
    offsets = torch.arange(b, device=values.device)[:, None] * 256
    hist = torch.bincount((levels + offsets).flatten(), minlength=256 * b).view(b, 256)
    cdf = hist.cumsum(1).double()
    total = cdf[:, -1:]
    first = torch.where(hist > 0, cdf, total).amin(1, keepdim=True)  # cdf at the lowest level
    lut = torch.round((cdf - first).clamp_min(0) * 255 / (total - first).clamp_min(1))
    lut = torch.where(total == first, torch.arange(256, device=values.device).double()[None], lut)
    return lut.gather(1, levels).view_as(values).to(values.dtype)


def _step_edges(mask: Tensor) -> Tensor:
    """Pixels whose right or lower neighbour is on the other side of ``mask``'s boundary.

    This is where Canny puts the edge of a sharp step: on a tie its non-maximum suppression
    keeps the pixel with the smaller index.
    """
    edges = torch.zeros_like(mask)
    edges[..., :, :-1] = torch.maximum(edges[..., :, :-1], (mask[..., :, :-1] != mask[..., :, 1:]).to(mask.dtype))
    edges[..., :-1, :] = torch.maximum(edges[..., :-1, :], (mask[..., :-1, :] != mask[..., 1:, :]).to(mask.dtype))
    return edges


def _distance_to_edges(edges: Tensor, cap: int) -> Tensor:
    """Octagonal distance (alternating 3x3 square and cross dilations) to ``edges``, capped."""
    dist = torch.full_like(edges, float(cap))
    reached = edges
    dist = torch.where(reached > 0, torch.zeros_like(dist), dist)
    for step in range(1, cap):
        if step % 2:
            grown = F.max_pool2d(reached, 3, stride=1, padding=1)
        else:
            grown = torch.maximum(
                F.max_pool2d(reached, (3, 1), stride=1, padding=(1, 0)),
                F.max_pool2d(reached, (1, 3), stride=1, padding=(0, 1)),
            )
        dist = torch.where((grown > 0) & (reached == 0), torch.full_like(dist, float(step)), dist)
        reached = grown
    return dist


@register(
    "spatter",
    "weather",
    imagenet=(
        (0.65, 0.3, 4, 0.69, 0.6, 0),
        (0.65, 0.3, 3, 0.68, 0.6, 0),
        (0.65, 0.3, 2, 0.68, 0.5, 0),
        (0.65, 0.3, 1, 0.65, 1.5, 1),
        (0.67, 0.4, 1, 0.65, 1.5, 1),
    ),
    cifar=(
        (0.62, 0.1, 0.7, 0.7, 0.5, 0),
        (0.65, 0.1, 0.8, 0.7, 0.5, 0),
        (0.65, 0.3, 1, 0.69, 0.5, 0),
        (0.65, 0.1, 0.7, 0.69, 0.6, 1),
        (0.65, 0.1, 0.5, 0.68, 0.6, 1),
    ),
    extra=True,
)
def spatter(x: Tensor, c: tuple, ctx: Context) -> Tensor:
    """Water drops (severities 1-3) or mud splashes (4-5) from a thresholded smooth noise."""
    loc, scale, sigma, threshold, strength, mud = c
    b, _, h, w = x.shape
    liquid = loc + scale * draw(torch.randn, (b, 1, h, w), ctx.generator, x.device, dtype=x.dtype)
    liquid = gaussian_blur(liquid, sigma)
    liquid = torch.where(liquid < threshold, torch.zeros_like(liquid), liquid)
    if mud:
        m = gaussian_blur((liquid > threshold).to(x.dtype), strength)
        m = torch.where(m < 0.8, torch.zeros_like(m), m)
        brown = torch.tensor([63, 42, 20], device=x.device, dtype=x.dtype).view(1, 3, 1, 1) / 255
        return (x * (1 - m) + brown * m).clamp(0, 1)
    wet = (liquid > 0).to(x.dtype)
    edges = _step_edges(wet)
    dist = _distance_to_edges(edges, 20)
    dist = torch.floor(box_blur3(dist))
    dist = _equalize_hist(dist)
    emboss = torch.tensor([[-2.0, -1, 0], [-1, 1, 1], [0, 1, 2]], device=x.device)
    dist = box_blur3(torch.round(filter2d(dist, emboss)).clamp(0, 255))
    m = liquid * dist
    m = m / m.amax(dim=(2, 3), keepdim=True).clamp_min(1e-12) * strength
    water = torch.tensor([175, 238, 238], device=x.device, dtype=x.dtype).view(1, 3, 1, 1) / 255
    return (x + m * water).clamp(0, 1)
