"""How images are prepared for a classifier: resize, centre crop, mean/std normalisation.

Every model stylebias hands out takes RGB images in [0, 1] and normalises them itself (through
:class:`Normalized`), so callers never need to know a model's mean and std; :class:`Preprocess`
only decides the geometry (resize + crop) of the [0, 1] tensor fed to it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from PIL import Image
from torch import Tensor, nn

from .._checks import check_choice, check_shape
from ..errors import InvalidArgumentError
from ..io import to_tensor

__all__ = [
    "Preprocess",
    "Normalized",
    "resize_and_crop",
    "resize_and_crop_tensor",
    "resized_size",
    "crop_box",
    "IMAGENET_MEAN",
    "IMAGENET_STD",
]

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

_INTERPOLATIONS = {
    "nearest": Image.Resampling.NEAREST,
    "bilinear": Image.Resampling.BILINEAR,
    "bicubic": Image.Resampling.BICUBIC,
    "lanczos": Image.Resampling.LANCZOS,
}


def resized_size(width: int, height: int, resize: int | None) -> tuple[int, int]:
    """(width, height) after resizing the shorter side to ``resize`` (torchvision's
    ``Resize(int)`` rule: the long side ``int(resize * long / short)``, at least 1 px).

    ``None`` or 0 keeps the size.
    """
    if not resize:
        return width, height
    short, long = min(width, height), max(width, height)
    if short == resize:
        return width, height
    new_long = max(1, int(resize * long / short))
    return (resize, new_long) if width <= height else (new_long, resize)


def crop_box(width: int, height: int, crop: int) -> tuple[int, int, int, int]:
    """(left, top, right, bottom) of the centre ``crop x crop`` square (torchvision's rounding);
    it reaches past the image when the image is smaller (PIL pads that with black)."""
    left, top = int(round((width - crop) / 2.0)), int(round((height - crop) / 2.0))
    return left, top, left + crop, top + crop


def resize_and_crop(
    image: Image.Image, resize: int | None, crop: int | None, interpolation: str = "bilinear"
) -> Image.Image:
    """Resize the shorter side to ``resize`` and centre-crop ``crop x crop``: torchvision's
    ``Resize(int)`` + ``CenterCrop`` with PIL's antialiased resampling.

    The one resize-and-crop of stylebias: classifiers (:meth:`Preprocess.geometry`),
    ``corrupt``/``robustness`` and ``stylize`` all prepare images through it, so they agree to
    the bit. ``None`` (or 0) skips a step; an image already at the size is left untouched.

    Args:
        image: a PIL image.
        resize: shorter side in pixels, or None / 0.
        crop: side of the square centre crop in pixels, or None / 0; an image smaller than
            the crop is padded with black (callers that must refuse that check first).
        interpolation: ``"bilinear"``, ``"bicubic"``, ``"nearest"`` or ``"lanczos"``.
    """
    size = resized_size(*image.size, resize)
    if size != image.size:
        image = image.resize(size, _INTERPOLATIONS[interpolation], reducing_gap=None)
    if crop and image.size != (crop, crop):
        image = image.crop(crop_box(*image.size, crop))
    return image


def resize_and_crop_tensor(x: Tensor, resize: int | None, crop: int | None) -> Tensor:
    """:func:`resize_and_crop` on a float batch ``(B, C, H, W)`` in [0, 1] (bilinear, antialiased,
    clamped to [0, 1]); the same output size and crop box, for images already in memory
    (CIFAR-C arrays). The crop must fit (no padding here)."""
    h, w = x.shape[-2:]
    new_w, new_h = resized_size(w, h, resize)
    if (new_w, new_h) != (w, h):
        x = F.interpolate(x, size=(new_h, new_w), mode="bilinear", antialias=True, align_corners=False).clamp(0, 1)
    if crop and (new_h, new_w) != (crop, crop):
        left, top, right, bottom = crop_box(new_w, new_h, crop)
        x = x[..., top:bottom, left:right]
    return x


@dataclass(frozen=True)
class Preprocess:
    """Image preparation of one classifier (torchvision's ``ImageClassification`` as data).

    Args:
        resize: the shorter image side is resized to this many pixels (``None``: no resize).
        crop: side of the square centre crop in pixels (``None``: no crop).
        mean: per-channel mean of RGB in [0, 1], subtracted inside the model.
        std: per-channel standard deviation, divided inside the model.
        interpolation: ``"bilinear"``, ``"bicubic"``, ``"nearest"`` or ``"lanczos"``.

    Example:
        >>> p = Preprocess()          # ImageNet: resize 256, centre crop 224
        >>> p.replace(crop=192).crop
        192
    """

    resize: int | None = 256
    crop: int | None = 224
    mean: tuple[float, float, float] = IMAGENET_MEAN
    std: tuple[float, float, float] = IMAGENET_STD
    interpolation: str = "bilinear"

    def __post_init__(self) -> None:
        for name in ("resize", "crop"):
            value = getattr(self, name)
            if value is not None and (int(value) != value or value < 1):
                raise InvalidArgumentError(f"{name} must be a positive int or None, got {value!r}")
        for name in ("mean", "std"):
            value = tuple(float(v) for v in getattr(self, name))
            if len(value) != 3:
                raise InvalidArgumentError(f"{name} must have 3 values (R, G, B), got {value}")
            object.__setattr__(self, name, value)
        if min(self.std) <= 0:
            raise InvalidArgumentError(f"std must be > 0, got {self.std}")
        check_choice(self.interpolation, _INTERPOLATIONS, "interpolation")

    def replace(self, **changes: Any) -> Preprocess:
        """A copy with some fields changed (checked like the constructor)."""
        return dataclasses.replace(self, **changes)

    @classmethod
    def coerce(cls, value: Preprocess | Mapping[str, Any] | None, base: Preprocess) -> Preprocess:
        """``value`` itself, ``base`` with the fields in a mapping replaced, or ``base``."""
        if value is None:
            return base
        if isinstance(value, Preprocess):
            return value
        if isinstance(value, Mapping):
            unknown = set(value) - {f.name for f in dataclasses.fields(cls)}
            if unknown:
                raise InvalidArgumentError(
                    f"unknown preprocessing field(s) {sorted(unknown)}; valid: "
                    f"{[f.name for f in dataclasses.fields(cls)]}"
                )
            return base.replace(**value)
        raise TypeError(f"preprocess must be a Preprocess, a dict or None, got {type(value).__name__}")

    @property
    def input_size(self) -> int:
        """Side of the square image the model sees (``crop``, else ``resize``, else 224)."""
        return int(self.crop or self.resize or 224)

    def geometry(self, image: Image.Image) -> Image.Image:
        """Resize the shorter side to ``resize`` and centre-crop ``crop`` (torchvision's
        ``Resize(int)`` + ``CenterCrop``, with PIL's antialiased resampling)."""
        return resize_and_crop(image, self.resize, self.crop, self.interpolation)

    def transform(self, image: Image.Image) -> Tensor:
        """:meth:`geometry`, then conversion to a tensor.

        Returns:
            ``(3, crop, crop)`` float tensor in [0, 1] (not normalised: the model does that).
        """
        return to_tensor(self.geometry(image))

    def normalize(self, x: Tensor) -> Tensor:
        """``(x - mean) / std`` for ``x`` of shape ``(B, 3, H, W)`` in [0, 1]."""
        check_shape(x, "B 3 H W", "x")
        mean = torch.tensor(self.mean, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
        std = torch.tensor(self.std, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
        return (x - mean) / std


class Normalized(nn.Module):
    """Wrap a classifier so it takes RGB in [0, 1]: ``forward(x) = model((x - mean) / std)``.

    Args:
        model: the classifier that expects normalised input.
        mean, std: per-channel statistics (3 values each).

    Shape:
        ``(B, 3, H, W)`` in [0, 1] -> whatever ``model`` returns.
    """

    def __init__(self, model: nn.Module, mean: Sequence[float], std: Sequence[float]) -> None:
        super().__init__()
        self.model = model
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(std, dtype=torch.float32).view(1, 3, 1, 1))

    def forward(self, x: Tensor) -> Any:
        return self.model((x - self.mean.to(x.dtype)) / self.std.to(x.dtype))
