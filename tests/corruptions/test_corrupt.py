"""corrupt(): registry, parameter families, severity ordering, determinism, devices, errors."""

from __future__ import annotations

import colorsys

import numpy as np
import pytest
import torch

from stylebias.corruptions import (
    BENCHMARK_CORRUPTIONS,
    CORRUPTIONS,
    EXTRA_CORRUPTIONS,
    corrupt,
    list_corruptions,
    parameter_family,
)
from stylebias.corruptions import _ops
from stylebias.errors import InvalidArgumentError, MissingFileError, ShapeError, UnknownNameError

ALL = list(BENCHMARK_CORRUPTIONS + EXTRA_CORRUPTIONS)
DETERMINISTIC = {"defocus_blur", "zoom_blur", "brightness", "contrast", "pixelate",
                 "jpeg_compression", "gaussian_blur", "saturate"}


def strength(x, name, severity, seed=0, **kw):
    g = torch.Generator().manual_seed(seed)
    return (corrupt(x, name, severity, g, **kw) - x).abs().mean().item()


def test_registry_holds_the_19_corruptions_in_benchmark_order(photo_like):
    assert list_corruptions() == ALL
    assert len(ALL) == 19 and len(CORRUPTIONS) == 19
    assert list_corruptions(extras=False) == list(BENCHMARK_CORRUPTIONS)
    assert list_corruptions("*blur") == ["defocus_blur", "glass_blur", "motion_blur", "zoom_blur", "gaussian_blur"]
    assert {CORRUPTIONS.get(n).extra for n in EXTRA_CORRUPTIONS} == {True}


@pytest.mark.parametrize(
    ("h", "w", "params", "family"),
    [(224, 224, "auto", "imagenet"), (32, 32, "auto", "cifar"), (64, 48, "auto", "cifar"),
     (65, 65, "auto", "imagenet"), (32, 32, "imagenet", "imagenet"), (224, 224, "cifar", "cifar")],
)
def test_parameter_family(h, w, params, family, photo_like):
    assert parameter_family(h, w, params) == family


@pytest.mark.parametrize("name", ALL)
def test_shape_range_dtype_and_generator_determinism(name, frost_dir, photo_like):
    x = photo_like(2, 48)
    a = corrupt(x, name, 3, torch.Generator().manual_seed(1), frost_dir=frost_dir)
    b = corrupt(x, name, 3, torch.Generator().manual_seed(1), frost_dir=frost_dir)
    assert a.shape == x.shape and a.dtype == x.dtype
    assert a.min() >= 0 and a.max() <= 1
    torch.testing.assert_close(a, b, rtol=0, atol=0)
    assert (a - x).abs().mean() > 1e-3  # it did something
    if name not in DETERMINISTIC:
        c = corrupt(x, name, 3, torch.Generator().manual_seed(2), frost_dir=frost_dir)
        assert not torch.equal(a, c), "another seed must give another corruption"


# Where the reference itself is not ordered by strength (measured on photos with
# imagecorruptions and Hendrycks' scripts): ImageNet-C's elastic transform uses a large affine
# warp at severities 1-2 only (AlexNet's error is not monotone either) and CIFAR-C's shrinks the
# affine part as the elastic part grows, so its mean change falls with severity; saturate goes from desaturating (1-2) to
# oversaturating (3-5); spatter switches from water (1-3) to mud (4-5); glass blur's severity 3
# (sigma 1, 3 iterations) changes about as much as 4 (sigma 1.1, 2 iterations): 0.051 vs 0.050;
# CIFAR-C's frost at 3 and 4, (0.9 x + 0.4 F) and (0.85 x + 0.4 F), differ only in how much of
# the image is kept, so over bright frost 4 changes less than 3.
UNORDERED = {"imagenet": {"elastic_transform", "saturate", "spatter", "glass_blur"},
             "cifar": {"elastic_transform", "saturate", "spatter", "frost"}}
NOT_STRONGER_AT_5 = {"elastic_transform", "saturate"}


@pytest.mark.parametrize("family,size", [("imagenet", 96), ("cifar", 64)])
@pytest.mark.parametrize("name", ALL)
def test_severity_orders_strength(name, family, size, frost_dir, photo_like):
    x = photo_like(4, size, seed=3)
    s = [np.mean([strength(x, name, sev, seed, params=family, frost_dir=frost_dir) for seed in range(2)])
         for sev in range(1, 6)]
    if name not in NOT_STRONGER_AT_5:
        assert s[4] > s[0], f"{name}: severity 5 ({s[4]:.4f}) should change more than 1 ({s[0]:.4f})"
    if name not in UNORDERED[family]:
        for lo, hi in zip(s, s[1:]):
            # 5% slack: snow 2 and 3, frost 2 and 3 are nearly equal in the reference too
            assert hi >= 0.95 * lo, f"{name} strengths not ordered by severity: {np.round(s, 4)}"


@pytest.mark.parametrize("family,stds", [("imagenet", (0.08, 0.12, 0.18)),  # 4-5 clip at 0 and 1
                                         ("cifar", (0.04, 0.06, 0.08, 0.09, 0.10))])
def test_gaussian_noise_std_matches_the_published_table(family, stds):
    x = torch.full((1, 3, 64, 64), 0.5)
    for sev, std in enumerate(stds, 1):
        y = corrupt(x, "gaussian_noise", sev, torch.Generator().manual_seed(0), params=family)
        assert abs((y - x).std().item() - std) < 0.03 * std + 0.005


def test_contrast_is_the_published_formula(photo_like):
    x = photo_like(2, 32)
    mean = x.mean(dim=(2, 3), keepdim=True)
    expected = ((x - mean) * 0.15 + mean).clamp(0, 1)  # CIFAR-C severity 5
    torch.testing.assert_close(corrupt(x, "contrast", 5), expected)


def test_brightness_and_saturate_equal_an_hsv_round_trip(photo_like):
    x = photo_like(1, 32)
    x[0, :, 0, :4] = torch.tensor([[0.0, 0.3, 0.5, 0.2]] * 3)  # grey pixels, one black
    pixels = x[0].permute(1, 2, 0).reshape(-1, 3).double().tolist()

    def via_colorsys(fn):
        out = [colorsys.hsv_to_rgb(*fn(*colorsys.rgb_to_hsv(*p))) for p in pixels]
        return torch.tensor(out, dtype=torch.float64).clamp(0, 1).reshape(32, 32, 3).permute(2, 0, 1)

    bright = via_colorsys(lambda h, s, v: (h, s, min(v + 0.5, 1.0)))  # ImageNet-C severity 5
    torch.testing.assert_close(corrupt(x, "brightness", 5, params="imagenet")[0].double(), bright, atol=1e-5, rtol=0)
    sat = via_colorsys(lambda h, s, v: (h, min(s * 5 + 0.1, 1.0), v))  # ImageNet-C severity 4
    torch.testing.assert_close(corrupt(x, "saturate", 4, params="imagenet")[0].double(), sat, atol=1e-5, rtol=0)


def test_motion_blur_is_the_weighted_sum_of_edge_clamped_shifts(photo_like):
    x = photo_like(2, 40)
    angles = torch.tensor([30.0, -110.0])
    radius, sigma = 5, 2.0
    got = _ops.motion_blur(x, radius, sigma, angles)
    width = 2 * radius + 1
    k = np.exp(-np.arange(width) ** 2 / (2 * sigma**2))
    k /= k.sum()
    for b, angle in enumerate(angles.tolist()):
        img = x[b].numpy()
        want = np.zeros_like(img)
        for i in range(width):  # the reference's shift(): np.roll plus edge replication
            dy = -int(np.ceil(i * np.sin(np.deg2rad(angle)) - 0.5))
            dx = -int(np.ceil(i * np.cos(np.deg2rad(angle)) - 0.5))
            rows = np.clip(np.arange(40) - dy, 0, 39)
            cols = np.clip(np.arange(40) - dx, 0, 39)
            want += k[i] * img[:, rows][:, :, cols]
        np.testing.assert_allclose(got[b].numpy(), want, atol=1e-5)


@pytest.mark.parametrize("sigma", [1.5, 40.0])  # a kernel shorter and one longer than the image
def test_mirror_gaussian_matches_numpy_symmetric_padding(sigma, photo_like):
    field = torch.rand(1, 1, 24, 30, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    got = _ops.gaussian_blur_symmetric(field, sigma, truncate=3.0)[0, 0].numpy()
    radius = int(3 * sigma + 0.5)
    taps = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
    taps /= taps.sum()
    padded = np.pad(field[0, 0].numpy(), radius, mode="symmetric")
    rows = np.stack([np.convolve(r, taps, mode="valid") for r in padded])
    want = np.stack([np.convolve(c, taps, mode="valid") for c in rows.T]).T
    np.testing.assert_allclose(got, want, atol=1e-10)


def test_plasma_fractal_is_normalised_and_seeded(photo_like):
    g1, g2 = torch.Generator().manual_seed(5), torch.Generator().manual_seed(5)
    a = _ops.plasma_fractal(3, 64, 2.0, g1, torch.device("cpu"))
    b = _ops.plasma_fractal(3, 64, 2.0, g2, torch.device("cpu"))
    assert torch.equal(a, b) and a.shape == (3, 64, 64)
    assert torch.allclose(a.amin((1, 2)), torch.zeros(3)) and torch.allclose(a.amax((1, 2)), torch.ones(3))


def test_np_arange_reproduces_numpy_lengths(photo_like):
    for args in [(1, 1.11, 0.01), (1, 1.16, 0.01), (1, 1.21, 0.02), (1, 1.26, 0.02), (1, 1.31, 0.03), (1, 1.06, 0.01)]:
        assert len(_ops.np_arange(*args)) == len(np.arange(*args))


def test_unknown_name_suggests_the_closest(photo_like):
    with pytest.raises(UnknownNameError, match="gaussian_noise"):
        corrupt(photo_like(1, 32), "gausian_nosie", 1)
    assert corrupt(photo_like(1, 32), "JPEG", 1).shape == (1, 3, 32, 32)  # alias, any case


@pytest.mark.parametrize("severity", [0, 6, -1, 2.0, True, "3", None])
def test_bad_severity(severity, photo_like):
    with pytest.raises(InvalidArgumentError, match="severity must be an integer from 1 to 5"):
        corrupt(photo_like(1, 32), "fog", severity)


def test_bad_images(photo_like):
    with pytest.raises(ShapeError, match=r"\(B, 3, H, W\)"):
        corrupt(torch.rand(3, 32, 32), "fog", 1)
    with pytest.raises(ShapeError, match="dimension 1 should be 3"):
        corrupt(torch.rand(1, 1, 32, 32), "fog", 1)
    with pytest.raises(ShapeError, match="at least 32x32"):
        corrupt(torch.rand(1, 3, 16, 40), "fog", 1)
    with pytest.raises(TypeError, match="float tensor"):
        corrupt(torch.zeros(1, 3, 32, 32, dtype=torch.uint8), "fog", 1)
    with pytest.raises(InvalidArgumentError, match=r"\[0, 1\]"):
        corrupt(torch.rand(1, 3, 32, 32) * 255, "fog", 1)
    with pytest.raises(InvalidArgumentError, match="params"):
        corrupt(torch.rand(1, 3, 32, 32), "fog", 1, params="tiny")


def test_frost_without_pictures_says_how_to_get_them(tmp_path, monkeypatch, photo_like):
    with pytest.raises(MissingFileError, match="frost1.png"):
        corrupt(photo_like(1, 32), "frost", 1, frost_dir=tmp_path)
    monkeypatch.setenv("STYLEBIAS_FROST_DIR", str(tmp_path))
    with pytest.raises(MissingFileError, match="missing"):
        corrupt(photo_like(1, 32), "frost", 1)


def test_frost_dir_from_environment(frost_dir, monkeypatch, photo_like):
    monkeypatch.setenv("STYLEBIAS_FROST_DIR", frost_dir)
    assert corrupt(photo_like(1, 32), "frost", 2, torch.Generator().manual_seed(0)).shape == (1, 3, 32, 32)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("name", ALL)
def test_cuda_matches_cpu_under_a_cpu_generator(name, frost_dir, photo_like):
    x = photo_like(2, 64)
    cpu = corrupt(x, name, 3, torch.Generator().manual_seed(0), frost_dir=frost_dir)
    gpu = corrupt(x.cuda(), name, 3, torch.Generator().manual_seed(0), frost_dir=frost_dir)
    assert gpu.is_cuda
    if name == "shot_noise":  # Poisson sampling runs on the generator's device: same numbers
        torch.testing.assert_close(gpu.cpu(), cpu, atol=1e-5, rtol=0)
    else:
        assert (gpu.cpu() - cpu).abs().mean() < 2e-3
    cuda_gen = torch.Generator(device="cuda").manual_seed(0)
    assert corrupt(x.cuda(), name, 3, cuda_gen, frost_dir=frost_dir).is_cuda


@pytest.mark.parametrize("params", ["imagenet", "cifar"])
def test_non_square_and_float64_images(params, frost_dir, photo_like):
    x = photo_like(2, 64)[..., 5:41, :52].double()  # 36 x 52
    for name in ALL:
        y = corrupt(x, name, 4, torch.Generator().manual_seed(0), params=params, frost_dir=frost_dir)
        assert y.shape == x.shape and y.dtype == torch.float64, name
        assert torch.isfinite(y).all() and y.min() >= 0 and y.max() <= 1, name
