"""Batched tensor helpers behind the corruptions: filters, warps, noise maps, colour spaces.

Everything works on ``(N, C, H, W)`` float tensors on any device; random draws go through an
explicit ``torch.Generator`` (see :func:`draw`).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = [
    "draw",
    "gaussian_blur",
    "gaussian_blur_symmetric",
    "filter2d",
    "box_blur3",
    "disk_kernel",
    "motion_blur",
    "clipped_zoom",
    "plasma_fractal",
    "rgb_to_hsv",
    "hsv_to_rgb",
    "rgb_to_gray",
    "np_arange",
]


def draw(
    fn: Callable[..., Tensor],
    shape: tuple[int, ...],
    generator: torch.Generator | None,
    device: torch.device,
    **kwargs,
) -> Tensor:
    """``fn(shape)`` (``torch.rand``/``randn``) drawn with ``generator`` and moved to ``device``.

    With a generator the draw happens on the generator's device (so a CPU generator gives the
    same numbers whatever the images' device); without one, on ``device``.
    """
    if generator is None:
        return fn(size=shape, device=device, **kwargs)
    return fn(size=shape, generator=generator, device=generator.device, **kwargs).to(device)


def np_arange(start: float, stop: float, step: float) -> list[float]:
    """The values of ``numpy.arange(start, stop, step)`` (same length rule, incl. float quirks)."""
    return [start + i * step for i in range(math.ceil((stop - start) / step))]


def _gaussian_taps(sigma: float, radius: int, device, dtype) -> Tensor:
    k = torch.arange(-radius, radius + 1, device=device, dtype=torch.float64)
    g = torch.exp(-0.5 * (k / sigma) ** 2)
    return (g / g.sum()).to(dtype)


def _conv_axis(x: Tensor, taps: Tensor, index: Tensor, axis: int) -> Tensor:
    """Correlate ``x`` along ``axis`` (2 or 3) with 1-D ``taps`` after padding by ``index``."""
    padded = x.index_select(axis, index)
    n, c, h, w = padded.shape
    k = taps.numel()
    if axis == 3:
        out = F.conv2d(padded.reshape(n * c, 1, h, w), taps.view(1, 1, 1, k))
    else:
        out = F.conv2d(padded.reshape(n * c, 1, h, w), taps.view(1, 1, k, 1))
    return out.reshape(n, c, out.shape[-2], out.shape[-1])


def gaussian_blur(x: Tensor, sigma: float, truncate: float = 4.0) -> Tensor:
    """Separable Gaussian blur with edge replication: ``skimage.filters.gaussian`` semantics.

    Args:
        x: ``(N, C, H, W)``.
        sigma: standard deviation in pixels (same on both axes); 0 returns ``x``.
        truncate: the kernel reaches ``int(truncate * sigma + 0.5)`` pixels each side.
    """
    if sigma <= 0:
        return x
    radius = int(truncate * sigma + 0.5)
    taps = _gaussian_taps(sigma, radius, x.device, x.dtype)
    for axis in (2, 3):
        n = x.shape[axis]
        index = torch.arange(-radius, n + radius, device=x.device).clamp(0, n - 1)
        x = _conv_axis(x, taps, index, axis)
    return x


def gaussian_blur_symmetric(x: Tensor, sigma: float, truncate: float = 3.0) -> Tensor:
    """Gaussian blur with mirror ('d c b a | a b c d') borders, for any sigma, through the FFT.

    The mirrored signal is periodic with period ``2n``, so the truncated Gaussian is applied as a
    circular convolution of the ``2n`` mirrored copy: exact ``scipy.ndimage.gaussian_filter``
    (``mode='reflect'``) semantics even when the kernel is larger than the image.
    """
    if sigma <= 0:
        return x
    radius = int(truncate * sigma + 0.5)
    for axis in (2, 3):
        n = x.shape[axis]
        period = 2 * n
        taps = _gaussian_taps(sigma, radius, x.device, torch.float64)
        where = torch.arange(-radius, radius + 1, device=x.device) % period
        kernel = torch.zeros(period, device=x.device, dtype=torch.float64).index_add_(0, where, taps)
        ext = torch.cat([x, x.flip(axis)], dim=axis).double()
        spec = torch.fft.rfft(ext, dim=axis) * torch.fft.rfft(kernel).conj().view(
            *([1] * axis), -1, *([1] * (3 - axis))
        )
        x = torch.fft.irfft(spec, n=period, dim=axis).narrow(axis, 0, n).to(x.dtype)
    return x


def filter2d(x: Tensor, kernel: Tensor) -> Tensor:
    """Correlate every channel with one odd-sized 2-D ``kernel``, reflect-101 borders (OpenCV)."""
    n, c, h, w = x.shape
    kh, kw = kernel.shape
    padded = F.pad(x.reshape(n * c, 1, h, w), (kw // 2, kw // 2, kh // 2, kh // 2), mode="reflect")
    out = F.conv2d(padded, kernel.to(x.dtype).view(1, 1, kh, kw))
    return out.reshape(n, c, h, w)


def box_blur3(x: Tensor) -> Tensor:
    """``cv2.blur(x, (3, 3))``: 3x3 mean with reflect-101 borders."""
    return filter2d(x, torch.full((3, 3), 1.0 / 9.0, device=x.device))


def disk_kernel(radius: float, alias_blur: float, device) -> Tensor:
    """The anti-aliased disk of ImageNet-C's defocus blur (a normalised disk, Gaussian-smoothed)."""
    half = 8 if radius <= 8 else int(radius)
    ksize = 3 if radius <= 8 else 5
    coords = torch.arange(-half, half + 1, device=device, dtype=torch.float32)
    disk = ((coords[:, None] ** 2 + coords[None, :] ** 2) <= radius**2).float()
    disk = disk / disk.sum()
    taps = _gaussian_taps(alias_blur, ksize // 2, device, torch.float32)
    return filter2d(disk[None, None], taps[:, None] * taps[None, :])[0, 0]


def motion_blur(x: Tensor, radius: int, sigma: float, angles: Tensor) -> Tensor:
    """Motion blur along a per-image angle, as imagecorruptions re-implements ImageMagick's.

    The image is a weighted sum of ``2 * radius + 1`` copies shifted by ``i`` pixels along the
    angle (edge pixels replicated), weighted by a half-Gaussian in ``i`` of std ``sigma``.

    Args:
        x: ``(B, C, H, W)``.
        radius: blur length parameter in pixels.
        sigma: std of the weights, in pixels.
        angles: ``(B,)`` angles in degrees.
    """
    b, c, h, w = x.shape
    width = 2 * int(radius) + 1
    steps = torch.arange(width, device=x.device, dtype=torch.float64)
    weights = torch.exp(-(steps**2) / (2 * sigma**2))
    weights = (weights / weights.sum()).to(x.dtype)
    rad = torch.deg2rad(angles.to(x.device, torch.float64))
    # shift i moves the content by (dy, dx); output(h, w) = input(h - dy, w - dx), clamped
    dys = -torch.ceil(steps[:, None] * torch.sin(rad)[None] - 0.5).long()  # (width, B)
    dxs = -torch.ceil(steps[:, None] * torch.cos(rad)[None] - 0.5).long()
    rows0 = torch.arange(h, device=x.device)
    cols0 = torch.arange(w, device=x.device)
    out = torch.zeros_like(x)
    alive = torch.ones(b, dtype=torch.bool, device=x.device)
    for i in range(width):
        dy, dx = dys[i], dxs[i]
        alive = alive & (dy.abs() < h) & (dx.abs() < w)  # the reference stops at the border
        rows = (rows0[None] - dy[:, None]).clamp(0, h - 1)
        cols = (cols0[None] - dx[:, None]).clamp(0, w - 1)
        moved = x.gather(2, rows[:, None, :, None].expand(b, c, h, w))
        moved = moved.gather(3, cols[:, None, None, :].expand(b, c, h, w))
        out = out + (weights[i] * alive.to(x.dtype)).view(b, 1, 1, 1) * moved
    return out


def clipped_zoom(x: Tensor, factor: float) -> Tensor:
    """Zoom into the centre by ``factor`` (>= 1) keeping the size: ImageNet-C's ``clipped_zoom``.

    The central ``ceil(H / factor)`` crop is resized by linear interpolation with
    ``scipy.ndimage.zoom``'s grid (corners aligned) to ``round(crop * factor)`` and the
    centre ``H x W`` is kept.
    """
    h, w = x.shape[-2:]
    ch, cw = math.ceil(h / factor), math.ceil(w / factor)
    top, left = (h - ch) // 2, (w - cw) // 2
    crop = x[..., top : top + ch, left : left + cw]
    size = (max(h, round(ch * factor)), max(w, round(cw * factor)))
    zoomed = F.interpolate(crop, size=size, mode="bilinear", align_corners=True)
    trim_h, trim_w = (size[0] - h) // 2, (size[1] - w) // 2
    return zoomed[..., trim_h : trim_h + h, trim_w : trim_w + w]


def plasma_fractal(
    batch: int,
    mapsize: int,
    decay: float,
    generator: torch.Generator | None,
    device: torch.device,
) -> Tensor:
    """``(batch, mapsize, mapsize)`` diamond-square height maps in [0, 1] (ImageNet-C's fog).

    ``mapsize`` must be a power of two. Each step adds ``wibble * U(-wibble, wibble)`` to the mean
    of the neighbours; ``wibble`` starts at 100 and is divided by ``decay`` after every step.
    """
    gen_device = generator.device if generator is not None else device
    m = torch.zeros(batch, mapsize, mapsize, device=gen_device, dtype=torch.float64)
    step, wibble = mapsize, 100.0

    def wibbled_mean(total: Tensor) -> Tensor:
        noise = torch.rand(total.shape, generator=generator, device=gen_device, dtype=torch.float64)
        return total / 4 + wibble * (noise * 2 * wibble - wibble)

    while step >= 2:
        half = step // 2
        corners = m[:, 0::step, 0::step]
        squares = corners + corners.roll(-1, 1)
        squares = squares + squares.roll(-1, 2)
        m[:, half::step, half::step] = wibbled_mean(squares)
        centres = m[:, half::step, half::step]
        corners = m[:, 0::step, 0::step]
        m[:, 0::step, half::step] = wibbled_mean(
            centres + centres.roll(1, 1) + corners + corners.roll(-1, 2)
        )
        m[:, half::step, 0::step] = wibbled_mean(
            centres + centres.roll(1, 2) + corners + corners.roll(-1, 1)
        )
        step //= 2
        wibble /= decay
    flat = m.reshape(batch, -1)
    flat = flat - flat.min(1, keepdim=True).values
    flat = flat / flat.max(1, keepdim=True).values
    return flat.reshape(batch, mapsize, mapsize).to(device, torch.float32)


def rgb_to_hsv(x: Tensor) -> Tensor:
    """RGB -> HSV (all in [0, 1]) along dim 1, as ``skimage.color.rgb2hsv``."""
    r, g, b = x.unbind(1)
    v = x.amax(1)
    delta = v - x.amin(1)
    safe = torch.where(delta > 0, delta, torch.ones_like(delta))
    s = torch.where(v > 0, delta / torch.where(v > 0, v, torch.ones_like(v)), torch.zeros_like(v))
    s = torch.where(delta > 0, s, torch.zeros_like(s))
    hue = torch.where(x[:, 0] == v, (g - b) / safe, torch.zeros_like(v))
    hue = torch.where(x[:, 1] == v, 2.0 + (b - r) / safe, hue)
    hue = torch.where(x[:, 2] == v, 4.0 + (r - g) / safe, hue)
    hue = torch.where(delta > 0, (hue / 6.0) % 1.0, torch.zeros_like(hue))
    return torch.stack([hue, s, v], 1)


def hsv_to_rgb(x: Tensor) -> Tensor:
    """HSV -> RGB along dim 1, as ``skimage.color.hsv2rgb``."""
    h, s, v = x.unbind(1)
    h6 = h * 6.0
    sector = torch.floor(h6)
    f = h6 - sector
    sector = sector.long() % 6
    p = v * (1 - s)
    q = v * (1 - f * s)
    t = v * (1 - (1 - f) * s)
    table = torch.stack(
        [
            torch.stack([v, t, p], 1),
            torch.stack([q, v, p], 1),
            torch.stack([p, v, t], 1),
            torch.stack([p, q, v], 1),
            torch.stack([t, p, v], 1),
            torch.stack([v, p, q], 1),
        ],
        0,
    )  # (6, B, 3, H, W)
    index = sector[None, :, None].expand(1, *table.shape[1:])
    return table.gather(0, index)[0]


def rgb_to_gray(x: Tensor) -> Tensor:
    """``(B, 1, H, W)`` luma 0.299 R + 0.587 G + 0.114 B (OpenCV's RGB2GRAY)."""
    weights = torch.tensor([0.299, 0.587, 0.114], device=x.device, dtype=x.dtype)
    return (x * weights.view(1, 3, 1, 1)).sum(1, keepdim=True)
