"""Eidolon distortions (Koenderink et al., JoV 2017) as batched torch: partially coherent disarray.

A port of the Eidolon factory (gestaltrevision/Eidolon, with its pull request #1 applied, as
Geirhos et al. 2018 used it through ``code/wrapper.py``'s ``partially_coherent_disarray``). The
grey image is mirror-padded into a power-of-two "fat" plane, split into difference-of-Gaussian
(DOG) scale slices, and every slice is resampled at positions displaced by ``reach`` times a
random field; the displaced slices add up to the eidolon. The fields mix, per scale level, an
incoherent part (fresh noise blurred at ``grain`` pixels) and a coherent part (noise summed over
all coarser scales) as ``(1 - coherence) * incoherent + coherence * coherent``.
model-vs-human's eidolonI, II and III are coherence 1.0, 0.3 and 0.0 with grain 10.

Faithful to the factory, quirks included: Gaussians are the continuous density (not summed to
1) and convolve circularly through the FFT of the *flattened* plane; blurred noise is
``c - mean(c) / std(c)``; displaced positions are clipped to the plane and truncated.

Differences, on purpose: the factory resizes every image to 256 pixels on its long side
(Lanczos) and quantises to 8 bits in and out; here the image keeps its size and values stay
float (the scale levels follow the image's long side exactly as the factory's follow 256, so a
256 x 256 input is the factory's own case). Grey is PIL's ``convert('L')`` weights (0.299,
0.587, 0.114), in float.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from ..corruptions._ops import draw, rgb_to_gray
from ..errors import InvalidArgumentError, ShapeError
from .distortion_ops import _check_images, _three

__all__ = [
    "EIDOLON_GRAIN",
    "EIDOLON_COHERENCE",
    "EidolonGeometry",
    "eidolon_geometry",
    "eidolon_noise_shape",
    "eidolon",
    "eidolon_with",
]

EIDOLON_GRAIN = 10.0
"""Blur (pixels) of the incoherent displacement noise in Geirhos et al.'s eidolon stimuli."""

EIDOLON_COHERENCE = {"eidolonI": 1.0, "eidolonII": 0.3, "eidolonIII": 0.0}
"""Coherence of model-vs-human's three eidolon datasets (conditions 'reach-10-10', '-3-', '-0-')."""


class EidolonGeometry:
    """Sizes the factory derives from an image of ``height x width`` pixels.

    Attributes:
        fat_h, fat_w: the mirror-padded plane, the power of two at or above 1.5 x the size.
        top, left: where the image sits in it.
        sigmas: the scale levels, 1/sqrt(2) times powers of sqrt(2), ``ceil(2 log2(long / 4))``
            of them (the factory's ``MAX_SIGMA`` is a quarter of the long side).
        max_sigma: that quarter of the long side.
    """

    def __init__(self, height: int, width: int) -> None:
        self.height, self.width = height, width
        self.fat_h, self.fat_w = _power_of_two_ceiling(height * 3 / 2.0), _power_of_two_ceiling(width * 3 / 2.0)
        self.top, self.left = int((self.fat_h - height) / 2.0), int((self.fat_w - width) / 2.0)
        self.max_sigma = max(height, width) / 4.0
        count = int(math.ceil(2 * math.log(self.max_sigma) / math.log(2)))
        sigmas = [1 / math.sqrt(2)]
        for _ in range(1, count):
            sigmas.append(math.sqrt(2) * sigmas[-1])
        self.sigmas = tuple(sigmas)


def _power_of_two_ceiling(n: float) -> int:
    if n < 1:
        return 1
    exponent = math.log(n) / math.log(2)
    return int(n) if exponent == int(exponent) else int(2 ** math.ceil(exponent))


def eidolon_geometry(height: int, width: int) -> EidolonGeometry:
    """The :class:`EidolonGeometry` of ``height x width`` images (at least 8 pixels a side)."""
    if min(height, width) < 8:
        raise ShapeError(f"eidolons need images of at least 8 x 8 pixels, got {height} x {width}")
    return EidolonGeometry(height, width)


def eidolon_noise_shape(batch: int, height: int, width: int) -> tuple[int, ...]:
    """Shape of the standard normal draws :func:`eidolon_with` takes: ``(B, 2, 2, levels,
    fat_h, fat_w)``, indexed [image, axis (row, column displacement), part (coherent,
    incoherent), scale level]."""
    geo = eidolon_geometry(height, width)
    return (batch, 2, 2, len(geo.sigmas), geo.fat_h, geo.fat_w)


def _embed(grey: Tensor, geo: EidolonGeometry) -> Tensor:
    """``(B, H, W)`` -> ``(B, fat_h, fat_w)``: the image in the middle, mirrored pieces of it
    around (rows and columns the mirrors do not reach stay 0, as in the factory)."""
    b, h, w = grey.shape
    top, left, fh, fw = geo.top, geo.left, geo.fat_h, geo.fat_w
    fat = grey.new_zeros(b, fh, fw)
    fat[:, top : top + h, :left] = grey[:, :, :left].flip(-1)
    fat[:, top : top + h, left : left + w] = grey
    fat[:, top : top + h, fw - left :] = grey[:, :, w - left :].flip(-1)
    fat[:, :top] = fat[:, top : 2 * top].flip(-2)
    fat[:, fh - top :] = fat[:, fh - 2 * top : fh - top].flip(-2)
    return fat


def _gaussian_kernels(sigmas: Tensor, fh: int, fw: int) -> Tensor:
    """``(S, fh, fw)`` 2-D Gaussian densities, origin at [0, 0], negative offsets wrapped."""

    def axis(n: int) -> Tensor:
        pos = torch.arange(n // 2 + 1, dtype=sigmas.dtype, device=sigmas.device)
        neg = torch.arange(n // 2 - n + 1, 0, dtype=sigmas.dtype, device=sigmas.device)
        v = torch.cat([pos, neg]).view(1, -1)
        s = sigmas.view(-1, 1)
        return torch.exp(-(v**2) / (2.0 * s**2)) / (math.sqrt(2 * math.pi) * s)

    return axis(fh).unsqueeze(2) * axis(fw).unsqueeze(1)


class _Plan:
    """What every image of one size shares: geometry, scale levels and the kernels' spectra."""

    def __init__(self, height: int, width: int, grain: float, dtype: torch.dtype, device: torch.device) -> None:
        self.geo = eidolon_geometry(height, width)
        self.sigmas = torch.tensor(self.geo.sigmas, dtype=dtype, device=device)
        fh, fw = self.geo.fat_h, self.geo.fat_w
        self.scale_spectra = torch.fft.rfft(_gaussian_kernels(self.sigmas, fh, fw).flatten(-2))
        grain_kernel = _gaussian_kernels(self.sigmas.new_tensor([grain]), fh, fw)
        self.grain_spectrum = torch.fft.rfft(grain_kernel.flatten(-2))


def _blur_flat(planes: Tensor, kernel_spectra: Tensor) -> Tensor:
    """Circular convolution of the *flattened* planes with kernels given by the spectra of their
    flattened forms (the factory's ``irfft(rfft(plane.flatten()) * rfft(kernel.flatten()))``);
    broadcasts over leading dims."""
    fh, fw = planes.shape[-2:]
    spectrum = torch.fft.rfft(planes.flatten(-2)) * kernel_spectra
    return torch.fft.irfft(spectrum, n=fh * fw).unflatten(-1, (fh, fw))


def _dog_slices(fat: Tensor, plan: _Plan) -> Tensor:
    """``(B, fh, fw)`` -> ``(B, S, fh, fw)``: differences of successive Gaussian blurs, and the
    coarsest blur last, so that the slices add up to the finest blur."""
    blurs = _blur_flat(fat.unsqueeze(1), plan.scale_spectra)
    return torch.cat([blurs[:, :-1] - blurs[:, 1:], blurs[:, -1:]], dim=1)


def _blurred_noise(normals: Tensor, kernel_spectra: Tensor) -> Tensor:
    """The factory's blurred random Gaussian planes from standard normal ``normals``.

    Each plane is scaled to a peak of 127.5 (clipped at +-127), blurred, then shifted by
    ``-mean / std`` (the factory's ``c - m/v``, kept as it is).
    """
    peak = normals.abs().amax(dim=(-2, -1), keepdim=True)
    data = (127.5 * normals / peak).clamp(-127.0, 127.0)
    c = _blur_flat(data, kernel_spectra)
    mean = c.mean(dim=(-2, -1), keepdim=True)
    std = (c - mean).square().mean(dim=(-2, -1), keepdim=True).sqrt()  # two passes, as NumPy's var
    return c - mean / std


def _displacement_fields(normals: Tensor, coherence: float, plan: _Plan) -> Tensor:
    """``(B, 2, 2, S, fh, fw)`` normals -> ``(B, 2, S, fh, fw)`` displacement fields."""
    fields = torch.zeros_like(normals[:, :, 0])
    if coherence > 0:
        # Coherent: level k sums the scaled planes of levels k and coarser.
        scale = (plan.sigmas / plan.geo.max_sigma).view(-1, 1, 1)
        scaled = _blurred_noise(normals[:, :, 0], plan.scale_spectra) * scale
        fields = fields + coherence * scaled.flip(2).cumsum(2).flip(2)
    if coherence < 1:
        fields = fields + (1.0 - coherence) * _blurred_noise(normals[:, :, 1], plan.grain_spectrum)
    return fields


def _disarray(slices: Tensor, fields: Tensor, reach: float) -> Tensor:
    """Sum over levels of each slice read at ``position + reach * field`` (clipped, truncated)."""
    b, s, fh, fw = slices.shape
    rows = torch.arange(fh, device=slices.device, dtype=fields.dtype).view(fh, 1)
    cols = torch.arange(fw, device=slices.device, dtype=fields.dtype).view(1, fw)
    new_rows = (fields[:, 0] * reach + rows).clamp(0, fh - 1).long()
    new_cols = (fields[:, 1] * reach + cols).clamp(0, fw - 1).long()
    index = (new_rows * fw + new_cols).flatten(-2)
    moved = torch.gather(slices.flatten(-2), 2, index)
    return moved.sum(1).view(b, fh, fw)


def _check_eidolon_args(reach: float, coherence: float, grain: float) -> None:
    if not (reach >= 0 and math.isfinite(reach)):
        raise InvalidArgumentError(f"eidolon reach must be a finite number >= 0 (pixels), got {reach!r}")
    if not 0.0 <= coherence <= 1.0:
        raise InvalidArgumentError(f"eidolon coherence must be in [0, 1], got {coherence!r}")
    if not (grain > 0 and math.isfinite(grain)):
        raise InvalidArgumentError(f"eidolon grain must be a finite number > 0 (pixels), got {grain!r}")


def eidolon_with(
    images: Tensor, reach: float, coherence: float, normals: Tensor, grain: float = EIDOLON_GRAIN
) -> Tensor:
    """Partially coherent disarray of the grey image, displacement noise given.

    Args:
        images: ``(B, 3, H, W)`` RGB in [0, 1].
        reach: displacement strength in pixels (model-vs-human: 1, 2, 4, ..., 128).
        coherence: in [0, 1]; 1 moves all scales together, 0 independently.
        normals: standard normal draws of shape :func:`eidolon_noise_shape`.
        grain: blur in pixels of the incoherent noise.

    Returns:
        ``(B, 3, H, W)`` grey eidolon in [0, 1], in the images' dtype.
    """
    _check_images(images)
    _check_eidolon_args(reach, coherence, grain)
    b, _, h, w = images.shape
    expected = eidolon_noise_shape(b, h, w)
    if tuple(normals.shape) != expected:
        raise ShapeError(f"normals must have shape {expected} for {b} images of {h} x {w}, got {tuple(normals.shape)}")
    return _eidolon(images, reach, coherence, normals, _Plan(h, w, grain, images.dtype, images.device))


def _eidolon(images: Tensor, reach: float, coherence: float, normals: Tensor, plan: _Plan) -> Tensor:
    geo, (h, w) = plan.geo, images.shape[-2:]
    normals = normals.to(device=images.device, dtype=images.dtype)
    slices = _dog_slices(_embed(rgb_to_gray(images)[:, 0], geo), plan)
    fields = _displacement_fields(normals, coherence, plan)
    out = _disarray(slices, fields, reach)[:, geo.top : geo.top + h, geo.left : geo.left + w]
    return _three(out.clamp(0.0, 1.0).unsqueeze(1))


def eidolon(
    images: Tensor,
    reach: float,
    coherence: float,
    generator: torch.Generator | None = None,
    grain: float = EIDOLON_GRAIN,
) -> Tensor:
    """:func:`eidolon_with` with fresh standard normal noise, one image at a time.

    Each image draws its own ``eidolon_noise_shape(1, H, W)`` normals from ``generator`` (in
    batch order), which bounds memory (about 50 MB of noise per 224 x 224 image in float32).
    """
    _check_images(images)
    _check_eidolon_args(reach, coherence, grain)
    b, _, h, w = images.shape
    shape = eidolon_noise_shape(1, h, w)
    plan = _Plan(h, w, grain, images.dtype, images.device)
    out = []
    for i in range(b):
        normals = draw(torch.randn, shape, generator, images.device, dtype=images.dtype)
        out.append(_eidolon(images[i : i + 1], reach, coherence, normals, plan))
    return torch.cat(out)
