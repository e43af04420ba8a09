"""model-vs-human's twelve distortions against Geirhos et al.'s manipulations (tests/humanlike/
reference.py) on scikit-image's sample photos: values where deterministic, the same result from
the same noise where random, plus strength and distribution checks."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

pytest.importorskip("scipy")
skimage_data = pytest.importorskip("skimage.data")

from stylebias.errors import InvalidArgumentError, ShapeError, UnknownNameError  # noqa: E402
from stylebias.humanlike import DISTORTIONS, distort  # noqa: E402
from stylebias.humanlike import distortion_ops as ops  # noqa: E402
from stylebias.humanlike.eidolon import eidolon, eidolon_noise_shape, eidolon_with  # noqa: E402

from . import reference as ref  # noqa: E402

MODEL_VS_HUMAN = {
    "colour", "contrast", "high-pass", "low-pass", "phase-scrambling", "power-equalisation",
    "false-colour", "rotation", "eidolonI", "eidolonII", "eidolonIII", "uniform-noise",
}  # fmt: skip


def _photos(size: int) -> np.ndarray:
    """``(3, size, size, 3)`` float64 8-bit photos in [0, 1]: centre crops, subsampled."""
    out = []
    for name in ("astronaut", "chelsea", "coffee"):
        im = getattr(skimage_data, name)()
        s = min(im.shape[:2])
        top, left = (im.shape[0] - s) // 2, (im.shape[1] - s) // 2
        crop = im[top : top + s, left : left + s]
        idx = np.linspace(0, s - 1, size).round().astype(int)
        out.append(crop[idx][:, idx] / 255.0)
    return np.stack(out)


@pytest.fixture(scope="module")
def photos224() -> np.ndarray:
    return _photos(224)


@pytest.fixture(scope="module")
def photos64() -> np.ndarray:
    return _photos(64)


def _t(images: np.ndarray, dtype=torch.float64) -> torch.Tensor:
    return torch.from_numpy(images).permute(0, 3, 1, 2).to(dtype).contiguous()


def _grey_out(out: torch.Tensor) -> np.ndarray:
    """Our ``(B, 3, H, W)`` grey output -> ``(B, H, W)``, checking the channels agree."""
    assert torch.equal(out[:, 0], out[:, 1]) and torch.equal(out[:, 0], out[:, 2])
    return out[:, 0].double().numpy()


TOL = {torch.float64: 1e-9, torch.float32: 2e-5}


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_grey_and_contrast_match_reference(photos224, dtype):
    x = _t(photos224, dtype)
    grey = _grey_out(distort(x, "colour", "bw"))
    np.testing.assert_allclose(grey, [ref.rgb2gray(p) for p in photos224], atol=TOL[dtype])
    assert torch.equal(distort(x, "colour", "cr"), x)
    for level in (1.0, 0.3, 0.05, 0.01):
        out = _grey_out(distort(x, "contrast", level))
        np.testing.assert_allclose(out, [ref.contrast(p, level) for p in photos224], atol=TOL[dtype])
    assert distort(x, "contrast", 0.0).unique().tolist() == [0.5]


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_low_and_high_pass_match_scipy(photos224, dtype):
    x = _t(photos224, dtype)
    # 40: the kernel (radius 160) spans most of the image
    for std in (0.0, 1.0, 3.0, 10.0, 40.0) if dtype == torch.float64 else (1.0, 10.0):
        out = _grey_out(ops.low_pass(x, std))
        np.testing.assert_allclose(out, [ref.low_pass(p, std) for p in photos224], atol=TOL[dtype])
    for std in (3.0, 1.0, 0.4):
        out = _grey_out(ops.high_pass(x, std))
        np.testing.assert_allclose(out, [ref.high_pass(p, std) for p in photos224], atol=TOL[dtype] * 5)
    np.testing.assert_allclose(_grey_out(ops.high_pass(x, math.inf)), _grey_out(ops.greyscale(x)))


def test_filter_strength_orders(photos224):
    """Stronger low-pass keeps less detail; high-pass images centre on the background grey."""
    x = _t(photos224)
    detail = [ops.low_pass(x, s)[:, 0].diff(dim=-1).abs().mean().item() for s in (1.0, 3.0, 10.0)]
    assert detail[0] > detail[1] > detail[2]
    hp = ops.high_pass(x, 3.0)[:, 0]
    assert hp.mean(dim=(1, 2)).sub(ops.BG_GREY).abs().max() < 0.02


def _shifts(n_images: int, count: int, width: float, seed: int = 0) -> np.ndarray:
    rs = np.random.RandomState(seed)
    return (rs.random_sample((n_images, count)) - 0.5) * 2 * width / 180 * np.pi


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_phase_scramble_matches_reference_given_the_same_shifts(photos224, dtype):
    x = _t(photos224, dtype)
    count = ops.phase_shift_count(224, 224)
    assert count == 223 * 223 // 2
    for width in (30.0, 90.0, 180.0):
        shifts = _shifts(3, count, width)
        out = _grey_out(ops.phase_scramble_with(x, torch.from_numpy(shifts)))
        expected = [ref.phase_scramble(p, s) for p, s in zip(photos224, shifts)]
        np.testing.assert_allclose(out, expected, atol=TOL[dtype] * 5)


def test_phase_scramble_strength_and_generator(photos64):
    x = _t(photos64)
    grey = ops.greyscale(x)
    torch.testing.assert_close(ops.phase_scramble(x, 0.0), grey.clamp(0, 1))
    g = torch.Generator().manual_seed(3)
    corr = []
    for width in (30.0, 90.0, 180.0):
        out = ops.phase_scramble(x, width, g)
        a, b = (out[:, 0] - out[:, 0].mean()).flatten(), (grey[:, 0] - grey[:, 0].mean()).flatten()
        corr.append((a @ b / (a.norm() * b.norm())).item())
    assert corr[0] > corr[1] > corr[2] and corr[0] > 0.7 and corr[2] < 0.3
    # the generator draws shifts uniform in [-width, width) degrees
    g1, g2 = torch.Generator().manual_seed(5), torch.Generator().manual_seed(5)
    u = torch.rand(3, ops.phase_shift_count(64, 64), generator=g2, dtype=torch.float64)
    assert (u.max() - u.min()) > 0.99
    torch.testing.assert_close(
        ops.phase_scramble(x, 60.0, g1), ops.phase_scramble_with(x, (u - 0.5) * (2 * 60.0 / 180 * math.pi))
    )


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_power_equalisation_matches_reference(photos224, dtype):
    x = _t(photos224, dtype)
    spectrum = ops.reference_amplitude_spectrum().numpy()
    out = _grey_out(distort(x, "power-equalisation", "pow"))
    expected = [ref.power_equalise(p, spectrum) for p in photos224]
    np.testing.assert_allclose(out, expected, atol=TOL[dtype] * 5)
    assert not np.allclose(out, _grey_out(ops.greyscale(x)), atol=0.05)
    np.testing.assert_allclose(_grey_out(distort(x, "power-equalisation", "0")), _grey_out(ops.greyscale(x)))


def test_power_equalisation_spectrum_size(photos64):
    x = _t(photos64)
    with pytest.raises(ShapeError, match="224 x 224"):
        ops.power_equalise(x)
    # an image's own amplitude spectrum leaves it unchanged
    own = ops.power_equalise(x[:1], ops.mean_amplitude_spectrum(x[:1]))
    torch.testing.assert_close(own, ops.greyscale(x[:1]), atol=1e-12, rtol=0)


def test_false_colour_matches_reference(photos64):
    gamma = ops.reference_gamma_curve().numpy()
    expected = np.stack([ref.false_colour(p, gamma) for p in photos64])
    out = distort(_t(photos64), "false-colour", "False").permute(0, 2, 3, 1).numpy()
    np.testing.assert_array_equal(out, expected)
    out32 = distort(_t(photos64, torch.float32), "false-colour", 1).permute(0, 2, 3, 1).double().numpy()
    np.testing.assert_allclose(out32, expected, atol=1e-6)
    assert np.abs(out - photos64).mean() > 0.05  # colours really change
    x = _t(photos64)
    assert torch.equal(distort(x, "false-colour", "True"), x)


def test_nearest_level_is_argmin():
    curve = ops.reference_gamma_curve()
    values = torch.cat([torch.rand(5000, dtype=torch.float64), curve, (curve[1:] + curve[:-1]) / 2])
    expected = (values[:, None] - curve[None]).abs().argmin(1)
    assert torch.equal(ops._nearest_level(values, curve), expected)


@pytest.mark.parametrize("shape", [(224, 224), (48, 80)])
def test_rotation_matches_reference(photos224, shape):
    images = photos224[:, : shape[0], : shape[1]]
    x = _t(images)
    for angle in (0, 90, 180, 270):
        out = _grey_out(distort(x, "rotation", angle))
        np.testing.assert_allclose(out, [ref.rotate(p, angle) for p in images], atol=1e-12)
        assert torch.equal(ops.rotate(x, float(angle)), ops.rotate(x, angle))


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_uniform_noise_matches_reference_given_the_same_noise(photos224, dtype):
    x = _t(photos224, dtype)
    rs = np.random.RandomState(42)
    noise = np.stack([rs.uniform(-0.35, 0.35, size=(224, 224)) for _ in range(3)])
    out = _grey_out(ops.uniform_noise_with(x, torch.from_numpy(noise)))
    np.testing.assert_allclose(out, [ref.uniform_noise(p, n) for p, n in zip(photos224, noise)], atol=TOL[dtype])


def test_uniform_noise_distribution(photos224):
    """Contrast 0.3 keeps grey in [0.35, 0.65]: with width 0.2 nothing clips, so the added noise
    is visible as is and must be uniform on [-0.2, 0.2)."""
    x = _t(photos224)
    clean = _grey_out(ops.grayscale_contrast(x, ops.NOISE_CONTRAST))
    noisy = _grey_out(distort(x, "uniform-noise", "0.2", torch.Generator().manual_seed(0)))
    noise = (noisy - clean).ravel()
    assert noise.min() >= -0.2 and noise.max() < 0.2
    assert abs(noise.mean()) < 0.003 and abs(noise.std() - 0.2 / math.sqrt(3)) < 0.002
    hist = np.histogram(noise, bins=10, range=(-0.2, 0.2))[0] / noise.size
    assert np.abs(hist - 0.1).max() < 0.005


def test_eidolon_matches_factory_given_the_same_noise(photos64):
    """The torch port against the factory's steps (reference.eidolon) on non-square photos."""
    images = photos64[:2, :40, :56]
    x = _t(images)
    normals = torch.randn(eidolon_noise_shape(2, 40, 56), generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    for reach, coherence in [(4.0, 1.0), (16.0, 0.3), (64.0, 0.0), (0.0, 0.3)]:
        out = _grey_out(eidolon_with(x, reach, coherence, normals))
        grey = (x[:, 0] * 0.299 + x[:, 1] * 0.587 + x[:, 2] * 0.114).numpy()
        expected = [ref.eidolon(gr, reach, coherence, 10.0, n.numpy()) for gr, n in zip(grey, normals)]
        np.testing.assert_allclose(out, expected, atol=1e-9)


def test_eidolon_strength_grows_with_reach(photos64):
    x = _t(photos64[:2, :48, :48])
    still = eidolon(x, 0.0, 1.0, torch.Generator().manual_seed(0))
    change = [
        (eidolon(x, reach, 1.0, torch.Generator().manual_seed(0)) - still).abs().mean().item() for reach in (1.0, 8.0, 64.0)
    ]
    assert 0 < change[0] < change[1] < change[2]
    # reach 0 only blurs: the finest scale (sigma 1/sqrt(2)) of the grey image
    a, b = still[:, 0].flatten(), ops.greyscale(x)[:, 0].flatten()
    assert torch.corrcoef(torch.stack([a, b]))[0, 1] > 0.9


RANDOM = ["phase-scrambling", "uniform-noise", "eidolonI", "eidolonII", "eidolonIII"]


@pytest.mark.parametrize("name", RANDOM)
def test_seeded_generator_is_deterministic(photos64, name):
    x = _t(photos64[:2, :32, :32], torch.float32)
    level = list(DISTORTIONS.get(name).conditions)[3]
    a = distort(x, name, level, torch.Generator().manual_seed(7))
    b = distort(x, name, level, torch.Generator().manual_seed(7))
    c = distort(x, name, level, torch.Generator().manual_seed(8))
    assert torch.equal(a, b) and not torch.equal(a, c)


@pytest.mark.parametrize("name", sorted(MODEL_VS_HUMAN))
def test_every_condition_runs(photos64, photos224, name):
    d = DISTORTIONS.get(name)
    images = photos224[:2] if name == "power-equalisation" else photos64[:2, :, :48]
    conditions = list(d.conditions)
    if name.startswith("eidolon"):  # slow on the CPU: two conditions on small images
        images, conditions = images[:, :32, :24], conditions[:: len(conditions) - 1]
    x = _t(images, torch.float32)
    for condition in conditions:
        out = distort(x, name, condition, torch.Generator().manual_seed(0))
        expected_hw = x.shape[-2:][::-1] if name == "rotation" and d.level(condition) in (90, 270) else x.shape[-2:]
        assert out.shape == (2, 3, *expected_hw) and out.dtype == torch.float32
        assert out.min() >= 0 and out.max() <= 1
        # a condition name and its number give the same result
        same = distort(x, name, d.level(condition), torch.Generator().manual_seed(0))
        assert torch.equal(out, same)


def test_registry_names_and_errors(photos64):
    assert set(DISTORTIONS.list()) == MODEL_VS_HUMAN
    x = _t(photos64[:1])
    with pytest.raises(UnknownNameError, match="Did you mean 'contrast'"):
        distort(x, "contrst", 0.5)
    assert torch.equal(distort(x, "Low_Pass", 3), distort(x, "low-pass", 3.0))
    bad = [
        ("contrast", 1.5), ("contrast", -0.1), ("contrast", "c07"), ("high-pass", 0.0), ("low-pass", -1.0),
        ("low-pass", math.inf), ("phase-scrambling", 200.0), ("rotation", 45), ("colour", 0.5),
        ("eidolonI", -1.0), ("uniform-noise", float("nan")), ("power-equalisation", 2),
    ]  # fmt: skip
    for name, level in bad:
        with pytest.raises(InvalidArgumentError, match=name):
            distort(x, name, level)
    with pytest.raises(TypeError, match="level must be a number"):
        distort(x, "contrast", None)


def test_input_errors(photos64):
    x = _t(photos64[:1])
    with pytest.raises(TypeError, match="floating-point"):
        distort((x * 255).to(torch.uint8), "contrast", 0.5)
    with pytest.raises(ShapeError, match="B, 3, H, W"):
        distort(x[:, :1], "contrast", 0.5)
    with pytest.raises(ShapeError, match="even height and width"):
        distort(x[:, :, :63], "phase-scrambling", 30)
    with pytest.raises(ShapeError, match=r"shifts must have shape"):
        ops.phase_scramble_with(x, torch.zeros(1, 5))
    with pytest.raises(ShapeError, match=r"noise must have shape"):
        ops.uniform_noise_with(x, torch.zeros(1, 64))
    for call in (
        lambda: ops.grayscale_contrast(x, 1.2),
        lambda: ops.low_pass(x, -1.0),
        lambda: ops.low_pass(x, math.inf),
        lambda: ops.high_pass(x, 0.0),
        lambda: ops.uniform_noise(x, -0.1),
        lambda: ops.uniform_noise_with(x, torch.zeros(1, 64, 64), contrast=2.0),
        lambda: ops.phase_scramble(x, -5.0),
        lambda: eidolon(x, 1.0, 1.5),
        lambda: eidolon(x, 1.0, 0.5, grain=0.0),
    ):
        with pytest.raises(InvalidArgumentError):
            call()
    with pytest.raises(ShapeError, match="normals must have shape"):
        eidolon_with(x, 1.0, 1.0, torch.zeros(1, 2, 2, 3, 8, 8))
