"""``corrupt(images, name, severity)``: the public entry point to the corruption registry."""

from __future__ import annotations

import os

import torch
from torch import Tensor

from .._checks import check_choice, check_shape
from ..errors import InvalidArgumentError, ShapeError
from ._base import CORRUPTIONS, FAMILIES, Context

__all__ = [
    "corrupt",
    "list_corruptions",
    "parameter_family",
    "BENCHMARK_CORRUPTIONS",
    "EXTRA_CORRUPTIONS",
    "SEVERITIES",
    "MIN_SIZE",
]

#: The 15 ImageNet-C corruptions, in the benchmark's order.
BENCHMARK_CORRUPTIONS = (
    "gaussian_noise",
    "shot_noise",
    "impulse_noise",
    "defocus_blur",
    "glass_blur",
    "motion_blur",
    "zoom_blur",
    "snow",
    "frost",
    "fog",
    "brightness",
    "contrast",
    "elastic_transform",
    "pixelate",
    "jpeg_compression",
)
#: The four held-out (validation) corruptions.
EXTRA_CORRUPTIONS = ("speckle_noise", "gaussian_blur", "spatter", "saturate")
SEVERITIES = (1, 2, 3, 4, 5)
#: Smallest image side accepted (the reference package's limit too).
MIN_SIZE = 32
#: Images whose longer side is at most this get the CIFAR-C parameters under ``params="auto"``.
CIFAR_MAX_SIZE = 64


def list_corruptions(pattern: str = "*", *, extras: bool = True) -> list[str]:
    """Corruption names in the benchmark's order (the 15, then the 4 extras), filtered by a
    shell-style ``pattern`` such as ``"*blur"``."""
    names = BENCHMARK_CORRUPTIONS + (EXTRA_CORRUPTIONS if extras else ())
    matching = set(CORRUPTIONS.list(pattern))
    return [n for n in names if n in matching]


def parameter_family(height: int, width: int, params: str = "auto") -> str:
    """Which parameter table an image of this size gets: ``"imagenet"`` or ``"cifar"``.

    ``"auto"`` picks CIFAR-C's parameters (made for 32 px) when the longer side is at most 64 px
    and ImageNet-C's (made for 224 px) otherwise. Parameters in pixels (blur radii, noise
    strength, JPEG quality) are used as they are at other sizes, as ``imagecorruptions`` does;
    elastic transform, frost and fog scale with the image.
    """
    check_choice(params, ("auto", *FAMILIES), "params")
    if params != "auto":
        return params
    return "cifar" if max(height, width) <= CIFAR_MAX_SIZE else "imagenet"


def _check_severity(severity: object) -> int:
    if isinstance(severity, bool) or not isinstance(severity, int) or severity not in SEVERITIES:
        raise InvalidArgumentError(
            f"severity must be an integer from 1 to 5 (ImageNet-C's levels); got {severity!r}"
        )
    return severity


def corrupt(
    images: Tensor,
    name: str,
    severity: int,
    generator: torch.Generator | None = None,
    *,
    params: str = "auto",
    frost_dir: str | os.PathLike[str] | None = None,
) -> Tensor:
    """Apply one ImageNet-C corruption at one severity to a batch of images.

    The 15 benchmark corruptions and the 4 extras of Hendrycks & Dietterich run as batched
    torch operations on the images' device; JPEG round-trips through libjpeg on the CPU.

    Args:
        images: ``(B, 3, H, W)`` float RGB in [0, 1], ``H, W >= 32``, on any device.
        name: a corruption name (see :func:`list_corruptions`); case, ``-`` and ``_`` are ignored.
        severity: 1 (mild) to 5 (strong).
        generator: source of every random draw; a seeded generator makes the result
            reproducible, on its own device (a CPU generator also drives CUDA images).
        params: ``"imagenet"`` (ImageNet-C, 224 px), ``"cifar"`` (CIFAR-10/100-C, 32 px) or
            ``"auto"``: CIFAR for images whose longer side is at most 64 px, else ImageNet.
        frost_dir: folder with the frost pictures (frost only; see ``find_frost_dir``).

    Returns:
        ``(B, 3, H, W)`` corrupted images in [0, 1], same dtype and device.

    Raises:
        UnknownNameError: ``name`` is not a corruption (the closest names are suggested).
        InvalidArgumentError: severity not in 1..5, bad ``params``, values outside [0, 1].
        ShapeError: not ``(B, 3, H, W)`` or smaller than 32 px.
        MissingFileError: frost without its pictures.

    Reference:
        Hendrycks & Dietterich, "Benchmarking Neural Network Robustness to Common Corruptions
        and Perturbations", ICLR 2019, arXiv:1807.01697.

    Example:
        >>> x = torch.rand(2, 3, 32, 32)
        >>> corrupt(x, "gaussian_noise", 3, torch.Generator().manual_seed(0)).shape
        torch.Size([2, 3, 32, 32])
    """
    entry = CORRUPTIONS.get(name)
    severity = _check_severity(severity)
    check_shape(images, "B 3 H W", "images")
    if not images.is_floating_point():
        raise TypeError(
            f"images must be a float tensor in [0, 1], got dtype {images.dtype}; "
            "convert uint8 images with images.float() / 255"
        )
    h, w = images.shape[-2:]
    if min(h, w) < MIN_SIZE:
        raise ShapeError(
            f"images must be at least {MIN_SIZE}x{MIN_SIZE} pixels, got {h}x{w}; upsample them first"
        )
    if images.numel():
        lo, hi = torch.aminmax(images.detach())
        if lo < -1e-6 or hi > 1 + 1e-6:
            raise InvalidArgumentError(
                f"images must hold values in [0, 1], got [{float(lo):.3g}, {float(hi):.3g}]; "
                "undo any normalisation (and divide uint8 images by 255) first"
            )
    family = parameter_family(h, w, params)
    ctx = Context(family=family, generator=generator, frost_dir=frost_dir)
    with torch.no_grad():
        return entry.fn(images, entry.params[family][severity - 1], ctx)
