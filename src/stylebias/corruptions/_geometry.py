"""Resize/crop checks shared by ``corrupt_folder`` and ``evaluate_robustness``.

A centre crop larger than the image it is taken from is padded with black (PIL's ``crop``):
the model, or the corrupted copy, would be mostly padding. Both are refused, saying how to fix
the sizes.
"""

from __future__ import annotations

import os

from PIL import Image

from ..errors import DataError, InvalidArgumentError
from ..models.preprocess import Preprocess

__all__ = ["check_crop_fits", "fitted_geometry", "check_size_fits_crop"]


def check_crop_fits(resize: int | None, crop: int | None) -> None:
    """Refuse a centre crop larger than the resized shorter side.

    Raises:
        InvalidArgumentError: ``crop > resize`` (both set).
    """
    if resize is not None and crop is not None and crop > resize:
        raise InvalidArgumentError(
            f"crop {crop} is larger than resize {resize} (--crop/--resize): the centre crop of an image "
            f"whose shorter side is {resize} px would be mostly black padding; use a crop no larger than "
            f"the resize (ImageNet-C: resize 256, crop 224), e.g. --resize {crop} --crop {crop}, or no crop"
        )


def check_size_fits_crop(width: int, height: int, crop: int | None, name: str) -> None:
    """Refuse an image (after any resize) smaller than the centre crop.

    Raises:
        DataError: ``min(width, height) < crop``, naming ``name``.
    """
    if crop is not None and min(width, height) < crop:
        raise DataError(
            f"{name} is {width}x{height} px, smaller than the centre crop {crop}: it would be padded with "
            f"black; resize it first (--resize {crop} or more) or use a smaller crop"
        )


def fitted_geometry(pre: Preprocess, image: Image.Image, path: str | os.PathLike[str]) -> Image.Image:
    """``pre.geometry(image)``, refusing an image the crop does not fit (named by ``path``).

    With a resize the shorter side becomes ``pre.resize`` (checked by :func:`check_crop_fits`);
    without one it is the image's own.
    """
    check_crop_fits(pre.resize, pre.crop)
    if pre.resize is None:
        check_size_fits_crop(*image.size, pre.crop, str(path))
    return pre.geometry(image)
