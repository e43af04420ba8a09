"""The distortions robust distillation shows its student: Ravula et al.'s three (pixel masking,
additive Gaussian noise, Gaussian blur) and every stylebias corruption, each at a severity 1-5.

``distort(images, name, severity, generator)`` applies one of them to a batch. The paper's
distortions work on images of any size; the ImageNet-C corruptions of
:mod:`stylebias.corruptions` need at least 32 x 32 pixels.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from .._checks import check_shape
from ..corruptions import CORRUPTIONS, corrupt
from ..corruptions._ops import draw, gaussian_blur
from ..errors import InvalidArgumentError, UnknownNameError

__all__ = ["PAPER_DISTORTIONS", "random_mask", "additive_noise", "canonical_distortions", "distort"]

#: Severity 1..5 -> parameter of each of the paper's distortions (Ravula et al., NeurIPS 2021):
#: ``mask``, the fraction of pixels set to 0 (the paper trains at 50, 75 and 90 %, its mixed
#: setting at 25-50 %); ``noise``, the std of Gaussian noise added to [0, 1] images, not clipped
#: (the paper's 0.1, 0.3 and 0.5 are severities 1, 3 and 5); ``blur``, the Gaussian blur's sigma
#: in pixels (the mixed setting draws sigma from [1, 5]).
PAPER_DISTORTIONS: dict[str, tuple[float, ...]] = {
    "mask": (0.25, 0.5, 0.75, 0.9, 0.95),
    "noise": (0.1, 0.2, 0.3, 0.4, 0.5),
    "blur": (1.0, 2.0, 3.0, 4.0, 5.0),
}


def random_mask(images: Tensor, fraction: float, generator: torch.Generator | None = None) -> Tensor:
    """Set ``int(fraction * H * W)`` pixels of each image to 0 in every channel.

    Which pixels is drawn per image, without replacement (the reference's ``RandomMask``).

    Args:
        images: ``(B, C, H, W)``.
        fraction: share of the pixels to mask, in [0, 1].
        generator: the source of the draw (its own device; a CPU generator drives CUDA images).

    Returns:
        The masked images, same shape, dtype and device.
    """
    check_shape(images, "B C H W", "images")
    if not 0.0 <= fraction <= 1.0:
        raise InvalidArgumentError(f"mask fraction must be in [0, 1] (a fraction, not percent), got {fraction}")
    b, _, h, w = images.shape
    count = int(h * w * fraction)
    ranks = draw(torch.rand, (b, h * w), generator, images.device).argsort(dim=1).argsort(dim=1)
    keep = (ranks >= count).to(images.dtype).view(b, 1, h, w)  # the `count` lowest draws are masked
    return images * keep


def additive_noise(images: Tensor, std: float, generator: torch.Generator | None = None) -> Tensor:
    """``images + std * N(0, 1)``, not clipped (the reference adds it before normalising)."""
    return images + std * draw(torch.randn, tuple(images.shape), generator, images.device, dtype=images.dtype)


def canonical_distortions(names: Sequence[str]) -> list[str]:
    """Check ``names`` (paper distortions or stylebias corruptions) and spell them canonically.

    Raises:
        InvalidArgumentError: an empty list, or a value that is not a string.
        UnknownNameError: a name that is neither; the message lists the paper's and points to
            ``stylebias list corruptions``.
    """
    if isinstance(names, str) or not names:
        raise InvalidArgumentError(
            f"corruptions must be a non-empty list of names, e.g. {list(PAPER_DISTORTIONS)}; got {names!r}"
        )
    out = []
    for name in names:
        if not isinstance(name, str):
            raise InvalidArgumentError(f"corruption names must be strings, got {name!r}")
        if name in PAPER_DISTORTIONS:
            out.append(name)
            continue
        try:
            out.append(CORRUPTIONS.canonical(name))
        except UnknownNameError as err:
            raise UnknownNameError(
                f"unknown corruption {name!r} for robust distillation: use one of the paper's "
                f"({', '.join(PAPER_DISTORTIONS)}) or a stylebias corruption ({err}; "
                "`stylebias list corruptions`)"
            ) from None
    return out


def distort(images: Tensor, name: str, severity: int, generator: torch.Generator | None = None) -> Tensor:
    """Apply distortion ``name`` at ``severity`` (1-5) to a batch.

    Args:
        images: ``(B, 3, H, W)`` RGB in [0, 1].
        name: ``"mask"``, ``"noise"``, ``"blur"`` (:data:`PAPER_DISTORTIONS`) or a corruption
            name of :func:`stylebias.corruptions.corrupt` (``H, W >= 32``).
        severity: 1 (mild) to 5 (strong).
        generator: the source of every random draw.

    Returns:
        The distorted batch (``noise`` may leave [0, 1]; the others stay in it).

    Raises:
        InvalidArgumentError: a severity outside 1..5.
        UnknownNameError: an unknown name.
    """
    if isinstance(severity, bool) or not isinstance(severity, int) or not 1 <= severity <= 5:
        raise InvalidArgumentError(f"severity must be an integer from 1 to 5, got {severity!r}")
    if name == "mask":
        return random_mask(images, PAPER_DISTORTIONS["mask"][severity - 1], generator)
    if name == "noise":
        return additive_noise(images, PAPER_DISTORTIONS["noise"][severity - 1], generator)
    if name == "blur":
        return gaussian_blur(images, PAPER_DISTORTIONS["blur"][severity - 1])
    return corrupt(images, name, severity, generator)
