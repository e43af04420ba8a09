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
    "shift_value",
    "scale_saturation",
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


def _depthwise(padded: Tensor, kernel: Tensor) -> Tensor:
    """Correlate every map of ``(N, C, H, W)`` with one 2-D ``kernel`` (no padding added).

    A grouped convolution over ``N * C`` channels: much faster on the CPU than a one-channel
    convolution over a batch of ``N * C``.
    """
    n, c, h, w = padded.shape
    kh, kw = kernel.shape
    weight = kernel.to(padded.dtype).view(1, 1, kh, kw).expand(n * c, 1, kh, kw)
    out = F.conv2d(padded.reshape(1, n * c, h, w), weight, groups=n * c)
    return out.view(n, c, out.shape[-2], out.shape[-1])


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
    x = _depthwise(F.pad(x, (radius, radius, 0, 0), mode="replicate"), taps.view(1, -1))
    return _depthwise(F.pad(x, (0, 0, radius, radius), mode="replicate"), taps.view(-1, 1))


def gaussian_blur_symmetric(x: Tensor, sigma: float, truncate: float = 3.0) -> Tensor:
    """Gaussian blur with mirror ('d c b a | a b c d') borders, for any sigma, through the FFT.

    ``scipy.ndimage.gaussian_filter(mode='reflect')`` semantics. The mirrored signal is periodic
    with period ``2n``, so the truncated Gaussian acts as a circular convolution of the ``2n``
    mirrored copy: exact even when the kernel is longer than the image (ImageNet-C's elastic
    transform smooths with sigma = 171 px), and as fast for every sigma.
    """
    if sigma <= 0:
        return x
    radius = int(truncate * sigma + 0.5)
    taps = _gaussian_taps(sigma, radius, x.device, x.dtype)
    for axis in (2, 3):
        n = x.shape[axis]
        period = 2 * n
        where = torch.arange(-radius, radius + 1, device=x.device) % period
        kernel = torch.zeros(period, device=x.device, dtype=x.dtype).index_add_(0, where, taps)
        ext = torch.cat([x, x.flip(axis)], dim=axis)
        shape = (-1, 1) if axis == 2 else (-1,)
        spec = torch.fft.rfft(ext, dim=axis) * torch.fft.rfft(kernel).conj().view(shape)
        x = torch.fft.irfft(spec, n=period, dim=axis).narrow(axis, 0, n)
    return x


def filter2d(x: Tensor, kernel: Tensor) -> Tensor:
    """Correlate every channel with one odd-sized 2-D ``kernel``, reflect-101 borders (OpenCV)."""
    kh, kw = kernel.shape
    return _depthwise(F.pad(x, (kw // 2, kw // 2, kh // 2, kh // 2), mode="reflect"), kernel)


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
    weights = weights / weights.sum()
    rad = torch.deg2rad(angles.to(x.device, torch.float64))
    # step i moves the content by (dy, dx): output(h, w) = input(h - dy, w - dx), edges clamped
    dys = -torch.ceil(steps[None] * torch.sin(rad)[:, None] - 0.5).long()  # (B, width)
    dxs = -torch.ceil(steps[None] * torch.cos(rad)[:, None] - 0.5).long()
    # the reference stops adding copies once a shift leaves the image
    alive = ((dys.abs() < h) & (dxs.abs() < w)).long().cummin(1).values.to(weights.dtype)
    pad = width - 1
    ph, pw = _fast_fft_size(h + 2 * pad), _fast_fft_size(w + 2 * pad)
    kernels = torch.zeros(b, ph, pw, device=x.device, dtype=x.dtype)
    batch = torch.arange(b, device=x.device)[:, None].expand(b, width)
    kernels.index_put_((batch, dys % ph, dxs % pw), (weights[None] * alive).to(x.dtype), accumulate=True)
    # a circular convolution of the edge-replicated (then zero-filled) image: the centre reads
    # only the replicated frame, never wrapped-around values
    padded = F.pad(x, (pad, pad, pad, pad), mode="replicate")
    spectrum = torch.fft.rfft2(padded, s=(ph, pw)) * torch.fft.rfft2(kernels)[:, None]
    return torch.fft.irfft2(spectrum, s=(ph, pw))[..., pad : pad + h, pad : pad + w]


def _fast_fft_size(n: int) -> int:
    """The smallest ``2^a 3^b 5^c >= n`` (FFTs of such lengths are fastest)."""
    while True:
        m = n
        for p in (2, 3, 5):
            while m % p == 0:
                m //= p
        if m == 1:
            return n
        n += 1


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
    m = torch.zeros(batch, mapsize, mapsize, device=gen_device, dtype=torch.float32)
    step, wibble = mapsize, 100.0

    def wibbled_mean(total: Tensor) -> Tensor:
        noise = torch.rand(total.shape, generator=generator, device=gen_device)
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


def shift_value(x: Tensor, shift: float) -> Tensor:
    """Add ``shift`` to the HSV value (``V = max(R, G, B)``), clipped to [0, 1], keeping H and S.

    Equals ``hsv2rgb`` of the shifted ``rgb2hsv`` (scikit-image): with H and S fixed, RGB is
    proportional to V; black pixels (V = 0, hence S = 0) become grey.
    """
    v = x.amax(1, keepdim=True)
    v_new = (v + shift).clamp(0, 1)
    return torch.where(v > 0, x * (v_new / v.clamp_min(1e-12)), v_new.expand_as(x))


def scale_saturation(x: Tensor, factor: float, offset: float) -> Tensor:
    """Set the HSV saturation to ``clip(S * factor + offset)``, keeping H and V.

    Equals scikit-image's ``rgb2hsv``/``hsv2rgb`` round trip: with H and V fixed, ``V - RGB`` is
    proportional to S. Grey pixels (S = 0) have hue 0 (red) there, so an ``offset`` tints them
    red: ``(V, V (1 - S'), V (1 - S'))``.
    """
    v = x.amax(1, keepdim=True)
    delta = v - x.amin(1, keepdim=True)
    s = torch.where(v > 0, delta / v.clamp_min(1e-12), torch.zeros_like(v))
    s_new = (s * factor + offset).clamp(0, 1)
    coloured = v - (v - x) * (s_new / s.clamp_min(1e-12))
    grey = torch.cat([v, v * (1 - s_new), v * (1 - s_new)], 1)
    return torch.where(delta > 0, coloured, grey)


def rgb_to_gray(x: Tensor) -> Tensor:
    """``(B, 1, H, W)`` luma 0.299 R + 0.587 G + 0.114 B (OpenCV's RGB2GRAY)."""
    weights = torch.tensor([0.299, 0.587, 0.114], device=x.device, dtype=x.dtype)
    return (x * weights.view(1, 3, 1, 1)).sum(1, keepdim=True)
