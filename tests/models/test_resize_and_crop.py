"""One resize-and-crop for every command: equal to each of the three copies it replaced.

The three old implementations (``Preprocess.geometry``, stylize's ``resize_shorter`` +
``center_crop``, robustness's ``_tensor_geometry``) are re-expressed below as they were on main,
and compared with the shared functions on images of many shapes, to the bit.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from stylebias.models import Preprocess, resize_and_crop
from stylebias.models.preprocess import crop_box, resize_and_crop_tensor, resized_size

SHAPES = [(30, 21), (21, 30), (16, 16), (17, 19), (300, 7), (64, 48), (3, 2), (224, 224), (257, 255)]


def _image(w: int, h: int, seed: int = 0) -> Image.Image:
    return Image.fromarray(np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8))


def old_geometry(image: Image.Image, resize, crop, interpolation=Image.Resampling.BILINEAR) -> Image.Image:
    """main's ``Preprocess.geometry``."""
    if resize is not None:
        w, h = image.size
        short, long = min(w, h), max(w, h)
        if short != resize:
            new_long = int(resize * long / short)
            size = (resize, new_long) if w <= h else (new_long, resize)
            image = image.resize(size, interpolation)
    if crop is not None:
        w, h = image.size
        if (w, h) != (crop, crop):
            left, top = int(round((w - crop) / 2.0)), int(round((h - crop) / 2.0))
            image = image.crop((left, top, left + crop, top + crop))
    return image


def old_stylize(image: Image.Image, size: int, crop: int) -> Image.Image:
    """main's stylize ``center_crop(resize_shorter(image, size), crop)``."""
    if size > 0:
        w, h = image.size
        short, long = (w, h) if w <= h else (h, w)
        if short != size:
            new_long = max(1, int(size * long / short))
            new = (size, new_long) if w <= h else (new_long, size)
            image = image.resize(new, Image.Resampling.BILINEAR, reducing_gap=None)
    if crop > 0:
        w, h = image.size
        left, top = int(round((w - crop) / 2.0)), int(round((h - crop) / 2.0))
        image = image.crop((left, top, left + crop, top + crop))
    return image


def old_tensor_geometry(x: torch.Tensor, resize, crop) -> torch.Tensor:
    """main's robustness ``_tensor_geometry``."""
    if resize is not None and min(x.shape[-2:]) != resize:
        h, w = x.shape[-2:]
        scale = resize / min(h, w)
        size = (resize, int(w * scale)) if h <= w else (int(h * scale), resize)
        x = F.interpolate(x, size=size, mode="bilinear", antialias=True, align_corners=False).clamp(0, 1)
    if crop is not None and tuple(x.shape[-2:]) != (crop, crop):
        h, w = x.shape[-2:]
        top, left = int(round((h - crop) / 2.0)), int(round((w - crop) / 2.0))
        x = x[..., top : top + crop, left : left + crop]
    return x


def _same(a: Image.Image, b: Image.Image) -> bool:
    return a.size == b.size and np.array_equal(np.asarray(a), np.asarray(b))


@pytest.mark.parametrize("w, h", SHAPES)
@pytest.mark.parametrize("resize, crop", [(16, 16), (16, None), (None, 12), (24, 20), (None, None), (7, 5)])
def test_equals_preprocess_geometry_and_stylize_of_main(w, h, resize, crop):
    image = _image(w, h)
    ours = resize_and_crop(image, resize, crop)
    assert _same(ours, old_geometry(image, resize, crop))
    assert _same(ours, old_stylize(image, resize or 0, crop or 0))
    assert _same(Preprocess(resize=resize, crop=crop).geometry(image), ours)


@pytest.mark.parametrize("interpolation", ["nearest", "bicubic", "lanczos"])
def test_other_interpolations_as_main(interpolation):
    image = _image(37, 23, seed=1)
    mode = {"nearest": Image.Resampling.NEAREST, "bicubic": Image.Resampling.BICUBIC,
            "lanczos": Image.Resampling.LANCZOS}[interpolation]  # fmt: skip
    ours = Preprocess(resize=20, crop=18, interpolation=interpolation).geometry(image)
    assert _same(ours, old_geometry(image, 20, 18, mode))


@pytest.mark.parametrize("h, w", [(32, 32), (32, 40), (40, 32), (24, 24), (64, 48)])
@pytest.mark.parametrize("resize, crop", [(36, 32), (None, 24), (32, None), (48, 40), (None, None)])
def test_tensor_version_equals_robustness_of_main(h, w, resize, crop):
    if crop is not None and min(resized_size(w, h, resize)) < crop:
        pytest.skip("the crop must fit (robustness checks it first)")
    x = torch.rand(2, 3, h, w, generator=torch.Generator().manual_seed(h * w))
    assert torch.equal(resize_and_crop_tensor(x, resize, crop), old_tensor_geometry(x, resize, crop))


def test_tensor_version_keeps_a_square_image_square():
    """main's rule could give 61 x 60 for a 7 x 7 image resized to 61; the shared rule cannot."""
    x = torch.rand(1, 3, 7, 7)
    assert tuple(old_tensor_geometry(x, 61, None).shape[-2:]) == (61, 60)
    assert tuple(resize_and_crop_tensor(x, 61, None).shape[-2:]) == (61, 61)


def test_sizes_and_boxes_by_hand():
    assert resized_size(640, 480, 256) == (341, 256)  # 256 * 640 / 480 = 341.33
    assert resized_size(480, 640, 256) == (256, 341)
    assert resized_size(300, 7, 7) == (300, 7) and resized_size(5, 9, None) == (5, 9) == resized_size(5, 9, 0)
    assert resized_size(1000, 1, 2) == (2000, 2)
    assert crop_box(341, 256, 224) == (58, 16, 282, 240)
    assert crop_box(10, 10, 12) == (-1, -1, 11, 11)  # past the edges: PIL pads black
    padded = np.asarray(resize_and_crop(Image.new("RGB", (10, 10), "white"), None, 12))
    assert padded.shape == (12, 12, 3) and padded[0].max() == 0 and padded[1:11, 1:11].min() == 255
