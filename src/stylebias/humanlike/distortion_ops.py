"""The parametric image distortions of Geirhos et al. (2018), batched in torch.

Geirhos, Temme, Rauber, Schütt, Bethge & Wichmann, "Generalisation in humans and deep neural
networks", NeurIPS 2018 (reference code: rgeirhos/generalisation-humans-DNNs,
``code/image_manipulation.py``). model-vs-human (bethgelab/model-vs-human) names its datasets
after them: colour, contrast, high-pass, low-pass, phase-scrambling, power-equalisation,
false-colour, rotation and uniform-noise are here; the three eidolons are in :mod:`.eidolon`, and
:mod:`.distortions` reaches all twelve by name.

Every function maps ``(B, 3, H, W)`` float RGB in [0, 1] to ``(B, 3, H, W)`` of the same dtype
and device, one image at a time exactly as the reference does, but the whole batch at once.
All but colour and false-colour first convert to grey (scikit-image's ``rgb2gray``) and return
the grey image in all three channels, as the experiments showed grey stimuli. Random ones take
an explicit ``torch.Generator`` and are built on a pure ``*_with`` function that takes the
noise itself, so a test (or a user) can feed the reference's own draws.

The data two of them need ship as package data from the reference repository (CC BY 4.0, see
``stylebias/data/GEIRHOS2018_SOURCE.txt``): the mean amplitude spectrum of the experiment's
224 x 224 grey images (power equalisation) and the measured monitor gamma curve (false colour).
"""

from __future__ import annotations

import functools
import io
import math
from importlib.resources import files

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from .._checks import check_positive, check_prob, check_shape
from ..corruptions._ops import _depthwise, _gaussian_taps, draw
from ..errors import InvalidArgumentError, ShapeError

__all__ = [
    "BG_GREY",
    "NOISE_CONTRAST",
    "ROTATION_ANGLES",
    "to_grey",
    "greyscale",
    "grayscale_contrast",
    "low_pass",
    "high_pass",
    "gaussian_filter_constant",
    "phase_scramble",
    "phase_scramble_with",
    "phase_shift_count",
    "power_equalise",
    "mean_amplitude_spectrum",
    "reference_amplitude_spectrum",
    "reference_gamma_curve",
    "false_colour",
    "rotate",
    "uniform_noise",
    "uniform_noise_with",
]

BG_GREY = 0.4423
"""The reference's mean pixel value over all its images: border value of the Gaussian filters
and target mean of high-pass images."""

NOISE_CONTRAST = 0.3
"""Contrast the uniform-noise experiment reduces its grey images to before adding noise."""

# skimage.color.rgb2gray weights (ITU-R BT.709 luma on linear values).
_GREY_WEIGHTS = (0.2125, 0.7154, 0.0721)

# false colour: monitor RGB -> cone (LMS) activations, the white point's cone activations, and
# cone contrasts -> DKL opponent channels (Brainard 1996); values as in the reference.
_RGB_TO_CONES = (
    (0.1619982647, 0.208049264, 0.0389347448),
    (0.0330275785, 0.2496504557, 0.0618343518),
    (0.0015524055, 0.0198861001, 0.1890224274),
)
_WHITE_CONES = (0.20449114, 0.17225619, 0.10523047)
_CONES_TO_DKL = (
    (9.27590805, 9.27590805, 0.0),
    (7.86421647, -9.33587662, 0.0),
    (-3.39709047, -3.39709047, 12.16230246),
)


def _check_images(images: Tensor) -> None:
    check_shape(images, "B 3 H W", "images")
    if not images.is_floating_point():
        raise TypeError(
            f"images must be a floating-point tensor (RGB in [0, 1]), got {images.dtype}; "
            "convert uint8 images with images.float() / 255"
        )


def _three(grey: Tensor) -> Tensor:
    """``(B, 1, H, W)`` -> ``(B, 3, H, W)``, a grey image in all three channels."""
    return grey.expand(-1, 3, -1, -1).contiguous()


def to_grey(images: Tensor) -> Tensor:
    """``(B, 3, H, W)`` RGB -> ``(B, 1, H, W)`` grey: 0.2125 R + 0.7154 G + 0.0721 B.

    scikit-image's ``rgb2gray``, which the reference uses throughout.
    """
    _check_images(images)
    weights = torch.tensor(_GREY_WEIGHTS, dtype=images.dtype, device=images.device)
    return torch.einsum("bchw,c->bhw", images, weights).unsqueeze(1)


def greyscale(images: Tensor) -> Tensor:
    """The colour experiment's grey condition ('bw'): :func:`to_grey` in all three channels."""
    return _three(to_grey(images))


def _contrast(grey: Tensor, level: float) -> Tensor:
    return (1.0 - level) / 2.0 + grey * level


def grayscale_contrast(images: Tensor, level: float) -> Tensor:
    """Grey, then contrast scaled to ``level`` around mid-grey: ``(1 - c) / 2 + c * grey``.

    Args:
        images: ``(B, 3, H, W)`` RGB in [0, 1].
        level: nominal contrast, a fraction in [0, 1] (1 keeps the image).
    """
    return _three(_contrast(to_grey(images), check_prob(level, "contrast level")))


def gaussian_filter_constant(x: Tensor, sigma: float, cval: float, truncate: float = 4.0) -> Tensor:
    """``scipy.ndimage.gaussian_filter(x, sigma, mode='constant', cval=cval)`` on every map.

    A separable correlation with the same normalised taps (radius ``int(truncate * sigma +
    0.5)``) over the image padded with ``cval``; a kernel wider than the image is fine.

    Args:
        x: ``(N, C, H, W)``.
        sigma: standard deviation in pixels; 0 returns ``x`` (as scipy does).
    """
    if sigma <= 0:
        return x
    radius = int(truncate * sigma + 0.5)
    taps = _gaussian_taps(sigma, radius, x.device, x.dtype)
    x = _depthwise(F.pad(x, (radius, radius, 0, 0), value=cval), taps.view(1, -1))
    return _depthwise(F.pad(x, (0, 0, radius, radius), value=cval), taps.view(-1, 1))


def low_pass(images: Tensor, std: float) -> Tensor:
    """Grey, Gaussian low-pass with standard deviation ``std`` pixels, clipped to [0, 1].

    Borders are filled with :data:`BG_GREY`, as in the reference.
    """
    std = check_positive(std, "low-pass std", allow_zero=True)
    if math.isinf(std):
        raise InvalidArgumentError("low-pass std must be finite (an infinite blur leaves only the border grey)")
    grey = to_grey(images)
    return _three(gaussian_filter_constant(grey, std, BG_GREY).clamp(0.0, 1.0))


def high_pass(images: Tensor, std: float) -> Tensor:
    """Grey minus its Gaussian low-pass (``std`` pixels), mean reset to :data:`BG_GREY`, clipped.

    ``std = inf`` is the experiment's unfiltered condition: the grey image itself, as the
    reference's stimulus plots use it.
    """
    std = check_positive(std, "high-pass std")
    grey = to_grey(images)
    if math.isinf(std):
        return _three(grey)
    detail = grey - gaussian_filter_constant(grey, std, BG_GREY)
    detail = detail + (BG_GREY - detail.mean(dim=(2, 3), keepdim=True))
    return _three(detail.clamp(0.0, 1.0))


def _check_even(images: Tensor, what: str) -> None:
    h, w = images.shape[-2:]
    if h % 2 or w % 2:
        raise ShapeError(
            f"{what} needs an even height and width (the reference pairs the Fourier "
            f"coefficients of even-sized images); got {h} x {w}. Crop the images by one pixel, "
            "e.g. images[..., : h // 2 * 2, : w // 2 * 2]"
        )


def phase_shift_count(height: int, width: int) -> int:
    """How many random phase shifts :func:`phase_scramble_with` takes per image."""
    return (height - 1) * (width - 1) // 2


def phase_scramble_with(images: Tensor, shifts: Tensor) -> Tensor:
    """Grey, then shift the phases of its centred Fourier spectrum by ``shifts``; clipped.

    Exactly the reference's ``scramble_phases``: of the centred spectrum without its first row
    and column, read row by row, the first ``n`` coefficients get ``+shifts`` and the last
    ``n`` get ``-shifts`` (same order, not mirrored: the reference's pairing, kept so results
    match), the centre one (zero frequency) none; amplitudes are kept and the real part of the
    inverse transform is the new image.

    Args:
        images: ``(B, 3, H, W)`` RGB in [0, 1], H and W even.
        shifts: ``(B, n)`` phase shifts in radians, ``n = phase_shift_count(H, W)``.
    """
    grey = to_grey(images)[:, 0]
    b, h, w = grey.shape
    _check_even(images, "phase scrambling")
    n = phase_shift_count(h, w)
    if tuple(shifts.shape) != (b, n):
        raise ShapeError(f"shifts must have shape ({b}, {n}) for {h} x {w} images, got {tuple(shifts.shape)}")
    shifts = shifts.to(device=grey.device, dtype=grey.dtype)
    field = torch.cat([shifts, shifts.new_zeros(b, 1), -shifts], dim=1).view(b, h - 1, w - 1)
    centred = F.pad(field, (1, 0, 1, 0))
    # Shifting the phase field back to the uncentred layout saves shifting the spectrum twice.
    delta = torch.fft.ifftshift(centred, dim=(-2, -1))
    spectrum = torch.fft.fft2(grey) * torch.polar(torch.ones_like(delta), delta)
    out = torch.fft.ifft2(spectrum).real.clamp(0.0, 1.0)
    return _three(out.unsqueeze(1))


def phase_scramble(images: Tensor, width: float, generator: torch.Generator | None = None) -> Tensor:
    """:func:`phase_scramble_with` with shifts uniform in [-width, width) degrees.

    Args:
        images: ``(B, 3, H, W)`` RGB in [0, 1], H and W even.
        width: maximal phase shift in degrees (the experiment used 0 to 180).
        generator: source of the shifts (``torch.rand``), for reproducible results.
    """
    _check_images(images)
    width = check_positive(width, "phase noise width (degrees)", allow_zero=True)
    b, _, h, w = images.shape
    u = draw(torch.rand, (b, phase_shift_count(h, w)), generator, images.device, dtype=torch.float64)
    return phase_scramble_with(images, (u - 0.5) * (2.0 * width / 180.0 * math.pi))


def _load_npy(name: str) -> np.ndarray:
    raw = (files("stylebias") / "data" / name).read_bytes()
    return np.load(io.BytesIO(raw), allow_pickle=False)


@functools.lru_cache(maxsize=None)
def _reference_array(name: str) -> np.ndarray:
    array = _load_npy(name)
    array.setflags(write=False)
    return array


def reference_amplitude_spectrum() -> Tensor:
    """The reference's mean amplitude spectrum, ``(224, 224)`` float64, zero frequency centred.

    ``|fftshift(fft2(rgb2gray(image)))|`` averaged over the experiment's 224 x 224 images.
    """
    return torch.from_numpy(_reference_array("geirhos2018_mean_power_spectrum_grey.npy").copy())


def reference_gamma_curve() -> Tensor:
    """The measured monitor response to the 256 input levels, ``(256,)`` float64 in [0, 1]."""
    return torch.from_numpy(_reference_array("geirhos2018_x_gamma_function.npy").reshape(-1).copy())


def mean_amplitude_spectrum(images: Tensor) -> Tensor:
    """``(H, W)`` mean over the batch of ``|fftshift(fft2(grey))|``: a spectrum for
    :func:`power_equalise` on images of another size than the reference's 224 x 224."""
    grey = to_grey(images)[:, 0]
    return torch.fft.fftshift(torch.fft.fft2(grey).abs(), dim=(-2, -1)).mean(0)


def power_equalise(images: Tensor, spectrum: Tensor | None = None) -> Tensor:
    """Grey, Fourier amplitudes replaced by a mean spectrum (phases kept), clipped to [0, 1].

    Args:
        images: ``(B, 3, H, W)`` RGB in [0, 1].
        spectrum: ``(H, W)`` amplitude spectrum with zero frequency centred (``fftshift``
            layout); default :func:`reference_amplitude_spectrum`, which only fits 224 x 224.

    Raises:
        ShapeError: the spectrum's size differs from the images'. The reference spectrum is a
            measured statistic of 224 x 224 images and is not resampled: resampling would need
            a model of how spectra scale that the reference does not give. Resize or crop to
            224 x 224, or pass ``mean_amplitude_spectrum`` of your own images.
    """
    _check_images(images)
    if spectrum is None:
        spectrum = reference_amplitude_spectrum()
    if tuple(spectrum.shape) != tuple(images.shape[-2:]):
        raise ShapeError(
            f"power equalisation needs a spectrum of the images' size: images are "
            f"{images.shape[-2]} x {images.shape[-1]}, the spectrum is "
            f"{' x '.join(map(str, spectrum.shape))}. The shipped reference spectrum is for "
            "224 x 224 images: resize or crop them to 224 x 224, or pass "
            "spectrum=mean_amplitude_spectrum(your_images)"
        )
    grey = to_grey(images)[:, 0]
    amplitude = torch.fft.ifftshift(spectrum.to(device=grey.device, dtype=grey.dtype), dim=(-2, -1))
    coefficients = torch.fft.fft2(grey)
    equalised = torch.polar(amplitude.expand_as(grey), coefficients.angle())
    out = torch.fft.ifft2(equalised).real.clamp(0.0, 1.0)
    return _three(out.unsqueeze(1))


@functools.lru_cache(maxsize=None)
def _opponent_affine() -> tuple[np.ndarray, np.ndarray]:
    """``(A, t)`` with ``rgb_out = A @ rgb + t``: the reference's linear chain in one step.

    cones = M rgb; dkl = N (cones - white); flip the signs of the L-M and S-(L+M) channels;
    back with N^-1, + white, M^-1. Composed once in float64.
    """
    m = np.array(_RGB_TO_CONES)
    n = np.array(_CONES_TO_DKL)
    white = np.array(_WHITE_CONES)
    flip = np.diag([1.0, -1.0, -1.0])
    back = np.linalg.inv(m) @ np.linalg.inv(n)
    a = back @ flip @ n @ m
    t = np.linalg.inv(m) @ white - back @ flip @ n @ white
    return a, t


def _nearest_level(values: Tensor, curve: Tensor) -> Tensor:
    """Index of the entry of the non-decreasing ``curve`` nearest each value, ties to the lower
    index: the reference's ``argmin(|curve - value|)`` without a 256-wide comparison."""
    upper = torch.searchsorted(curve, values.contiguous()).clamp(1, curve.numel() - 1)
    lower = upper - 1
    take_lower = (values - curve[lower]).abs() <= (curve[upper] - values).abs()
    return torch.where(take_lower, lower, upper)


def false_colour(images: Tensor) -> Tensor:
    """Opponent colours: the L-M and S-(L+M) cone-opponent channels inverted, luminance kept.

    As the reference: 8-bit levels through the measured monitor gamma curve, the opponent
    inversion in cone space, clipping to [0, 1], then each value mapped back to the 8-bit level
    whose monitor output is nearest. Computed in float64 so the nearest levels match.

    Args:
        images: ``(B, 3, H, W)`` RGB in [0, 1]; values are rounded to the 256 levels of 8-bit
            images (the reference requires 8-bit images).
    """
    _check_images(images)
    curve = reference_gamma_curve().to(images.device)
    a, t = (torch.from_numpy(v).to(images.device) for v in _opponent_affine())
    levels = (images.double() * 255.0).round().clamp(0, 255).long()
    linear = curve[levels]
    opponent = torch.einsum("ij,bjhw->bihw", a, linear) + t.view(1, 3, 1, 1)
    back = _nearest_level(opponent.clamp(0.0, 1.0), curve)
    return (back.to(torch.float64) / 255.0).to(images.dtype)


ROTATION_ANGLES = (0, 90, 180, 270)


def rotate(images: Tensor, angle: int) -> Tensor:
    """Grey, rotated counter-clockwise by 0, 90, 180 or 270 degrees (``numpy.rot90``).

    Square images keep their shape; others swap height and width.
    """
    if angle not in ROTATION_ANGLES:
        raise InvalidArgumentError(f"rotation angle must be one of {ROTATION_ANGLES} degrees, got {angle!r}")
    return _three(torch.rot90(to_grey(images), int(angle) // 90, dims=(-2, -1)))


def uniform_noise_with(images: Tensor, noise: Tensor, contrast: float = NOISE_CONTRAST) -> Tensor:
    """Grey, contrast reduced to ``contrast``, plus ``noise``, clipped to [0, 1].

    Args:
        images: ``(B, 3, H, W)`` RGB in [0, 1].
        noise: ``(B, H, W)`` additive noise, the same in all three channels.
        contrast: nominal contrast before the noise (the experiment's 0.3).
    """
    grey = _contrast(to_grey(images), check_prob(contrast, "uniform-noise contrast"))
    if tuple(noise.shape) != (grey.shape[0], *grey.shape[-2:]):
        raise ShapeError(
            f"noise must have shape {(grey.shape[0], *grey.shape[-2:])} (B, H, W), got {tuple(noise.shape)}"
        )
    noisy = grey + noise.to(device=grey.device, dtype=grey.dtype).unsqueeze(1)
    return _three(noisy.clamp(0.0, 1.0))


def uniform_noise(
    images: Tensor,
    width: float,
    generator: torch.Generator | None = None,
    contrast: float = NOISE_CONTRAST,
) -> Tensor:
    """:func:`uniform_noise_with` with noise uniform in [-width, width), one draw per pixel.

    Args:
        width: half-width of the noise (the experiment used 0 to 0.9).
        generator: source of the noise (``torch.rand``), for reproducible results.
    """
    _check_images(images)
    width = check_positive(width, "uniform-noise width", allow_zero=True)
    b, _, h, w = images.shape
    u = draw(torch.rand, (b, h, w), generator, images.device, dtype=torch.float64)
    return uniform_noise_with(images, -width + 2.0 * width * u, contrast)
