"""AugMix's operations against PIL as the reference calls them, its mixing and its JSD loss."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image, ImageOps
from scipy.special import rel_entr
from scipy.stats import entropy
from skimage import data as skdata

from stylebias.augment import augmix as A
from stylebias.errors import InvalidArgumentError, ShapeError

EIGHT_BIT = 1 / 255


@pytest.fixture(scope="module")
def photos() -> np.ndarray:
    """Three real photos (shipped with scikit-image), 32 x 40 (H x W, not square), 8-bit."""
    out = []
    for name in ("astronaut", "coffee", "chelsea"):
        im = Image.fromarray(getattr(skdata, name)()).convert("RGB")
        out.append(np.asarray(im.resize((40, 32), Image.BICUBIC)))
    return np.stack(out)


def as_tensor(images: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2).float() / 255


# the reference's operations (google-research/augmix augmentations.py) with the sampled level
# and sign fixed, for an image of size (w, h); the reference's IMAGE_SIZE is w for x and h for y
def ref_int_parameter(level, maxval):
    return int(level * maxval / 10)


def ref_float_parameter(level, maxval):
    return float(level) * maxval / 10.0


def ref_op(name, pil_img, level, flip):
    w, h = pil_img.size
    sign = -1 if flip else 1
    if name == "autocontrast":
        return ImageOps.autocontrast(pil_img)
    if name == "equalize":
        return ImageOps.equalize(pil_img)
    if name == "posterize":
        return ImageOps.posterize(pil_img, 4 - ref_int_parameter(level, 4))
    if name == "rotate":
        return pil_img.rotate(sign * ref_int_parameter(level, 30), resample=Image.BILINEAR)
    if name == "solarize":
        return ImageOps.solarize(pil_img, 256 - ref_int_parameter(level, 256))
    coeffs = {
        "shear_x": (1, sign * ref_float_parameter(level, 0.3), 0, 0, 1, 0),
        "shear_y": (1, 0, 0, sign * ref_float_parameter(level, 0.3), 1, 0),
        "translate_x": (1, 0, sign * ref_int_parameter(level, w / 3), 0, 1, 0),
        "translate_y": (1, 0, 0, 0, 1, sign * ref_int_parameter(level, h / 3)),
    }[name]
    return pil_img.transform((w, h), Image.AFFINE, coeffs, resample=Image.BILINEAR)


def boundary_ties(name, level, flip, h, w):
    """Pixels whose PIL input coordinate lies within 1e-6 of the image border: PIL accumulates
    the coordinate in its own float order, so in or out there is a coin toss (fill 0 or not)."""
    if name not in ("shear_x", "shear_y"):
        return torch.zeros(h, w, dtype=torch.bool)
    s = (-1 if flip else 1) * ref_float_parameter(level, 0.3)
    ys, xs = torch.meshgrid(torch.arange(h) + 0.5, torch.arange(w) + 0.5, indexing="ij")
    coord, size = (xs + s * ys, w) if name == "shear_x" else (s * xs + ys, h)
    return (coord.abs() < 1e-6) | ((coord - size).abs() < 1e-6)


@pytest.mark.parametrize("name", A.OPERATIONS)
@pytest.mark.parametrize("level, flip", [(0.7, False), (2.95, True), (8.3, False)])
def test_each_operation_matches_pil_as_the_reference_calls_it(photos, name, level, flip):
    """Tolerance 1/255 (PIL rounds to 8 bits after each operation, we keep floats); exact for
    translate, posterize and solarize; shear pixels on a border tie are left out."""
    x = as_tensor(photos)
    n, _, h, w = x.shape
    mag = A.operation_magnitude(name, torch.full((n,), level, dtype=torch.float64), torch.full((n,), flip), h, w)
    ours = A.apply_operation(name, x, mag)
    theirs = as_tensor(np.stack([np.asarray(ref_op(name, Image.fromarray(p), level, flip)) for p in photos]))
    keep = ~boundary_ties(name, level, flip, h, w)
    diff = (ours - theirs).abs().amax(1)[:, keep]
    assert diff.max().item() <= EIGHT_BIT + 1e-5
    if name in ("translate_x", "translate_y", "posterize", "solarize", "equalize"):
        assert diff.max().item() < 1e-5
    assert 0 <= ours.min() and ours.max() <= 1


def test_autocontrast_stretches_a_narrow_range_as_pil_does_within_one_level(photos):
    narrow = (photos.astype(np.float64) * 0.5 + 60).astype(np.uint8)  # values in [60, 187]
    ours = A.autocontrast(as_tensor(narrow))
    theirs = as_tensor(np.stack([np.asarray(ImageOps.autocontrast(Image.fromarray(p))) for p in narrow]))
    assert (ours - theirs).abs().max() < EIGHT_BIT  # PIL truncates the stretched value, we do not
    assert ours.amin((2, 3)).max() == 0 and ours.amax((2, 3)).min() == 1


def test_magnitudes_follow_the_reference_on_a_grid_of_levels():
    levels = np.linspace(0.1, 9.99, 97)
    for name in ("posterize", "solarize", "rotate", "shear_x", "translate_x", "translate_y"):
        for flip in (False, True):
            ours = A.operation_magnitude(name, torch.tensor(levels), torch.full((97,), flip), 30, 45).tolist()
            sign = -1 if flip else 1
            expected = {
                "posterize": [4 - ref_int_parameter(v, 4) for v in levels],
                "solarize": [(256 - ref_int_parameter(v, 256)) / 255 for v in levels],
                "rotate": [sign * ref_int_parameter(v, 30) for v in levels],
                "shear_x": [sign * ref_float_parameter(v, 0.3) for v in levels],
                "translate_x": [sign * ref_int_parameter(v, 45 / 3) for v in levels],
                "translate_y": [sign * ref_int_parameter(v, 30 / 3) for v in levels],
            }[name]
            assert ours == pytest.approx(expected, abs=1e-12), name


def test_mixing_with_fed_weights_is_the_hand_computed_mix():
    x = torch.full((2, 3, 2, 2), 0.2)
    chains = torch.stack([torch.full((2, 3, 2, 2), v) for v in (1.0, 0.5, 0.0)])  # (width=3, B, ...)
    weights = torch.tensor([[0.5, 0.3, 0.2], [0.0, 0.0, 1.0]])
    m = torch.tensor([0.4, 0.9])
    out = A.mix_chains(x, chains, weights, m)
    # image 0: 0.6 * 0.2 + 0.4 * (0.5 * 1 + 0.3 * 0.5 + 0.2 * 0) = 0.12 + 0.26 = 0.38
    # image 1: 0.1 * 0.2 + 0.9 * 0.0 = 0.02
    torch.testing.assert_close(out[0], torch.full((3, 2, 2), 0.38))
    torch.testing.assert_close(out[1], torch.full((3, 2, 2), 0.02))


def fed_draws(weights, m, ops, levels, flips, depths):
    """Draws for B images and ``width`` chains, ops/levels/flips as (depth, width, B) lists."""
    return A.AugMixDraws(
        weights=torch.tensor(weights), mix=torch.tensor(m), depths=torch.tensor(depths),
        ops=torch.tensor(ops), levels=torch.tensor(levels, dtype=torch.float64), flips=torch.tensor(flips),
    )


def test_augment_and_mix_with_fed_draws_equals_the_reference_composed_with_pil(photos):
    """Two images, three chains of depth 1 or 2: every chain run through PIL exactly as the
    reference's ``augment_and_mix`` does, then mixed in numpy with the same weights."""
    x = as_tensor(photos[:2])
    idx = {n: i for i, n in enumerate(A.OPERATIONS)}
    ops = [[[idx["solarize"], idx["equalize"]], [idx["translate_x"], idx["rotate"]], [idx["shear_y"], idx["posterize"]]],
           [[idx["autocontrast"], idx["translate_y"]], [idx["posterize"], idx["shear_x"]], [idx["solarize"], idx["rotate"]]]]
    levels = [[[2.5, 1.0], [2.9, 0.5], [1.7, 2.2]], [[1.0, 2.0], [2.0, 1.1], [0.3, 2.6]]]
    flips = [[[False, True], [True, False], [False, False]], [[False, True], [False, True], [True, True]]]
    depths = [[2, 1], [1, 2], [2, 2]]
    weights, m = [[0.5, 0.3, 0.2], [0.1, 0.6, 0.3]], [0.7, 0.35]
    out = A.augment_and_mix_with(x, fed_draws(weights, m, ops, levels, flips, depths))
    for b in range(2):
        mix = np.zeros(photos.shape[1:])
        for i in range(3):
            img = Image.fromarray(photos[b])
            for step in range(depths[i][b]):
                img = ref_op(A.OPERATIONS[ops[step][i][b]], img, levels[step][i][b], flips[step][i][b])
            mix += weights[b][i] * np.asarray(img) / 255
        expected = (1 - m[b]) * photos[b] / 255 + m[b] * mix
        got = out[b].permute(1, 2, 0).double().numpy()
        # chains re-quantised to 8 bits by PIL after each operation; rotate/shear border ties
        assert np.abs(got - expected).mean() < 0.5 / 255
        assert np.quantile(np.abs(got - expected), 0.99) <= 2 / 255


def test_a_batch_equals_its_images_augmented_one_by_one(photos):
    """Each image is processed with its own draws: the batched grouping mixes nothing up."""
    x = as_tensor(photos)
    draws = A.sample_augmix(3, severity=6, generator=torch.Generator().manual_seed(3))
    out = A.augment_and_mix_with(x, draws)
    for b in range(3):
        one = A.AugMixDraws(draws.weights[b:b + 1], draws.mix[b:b + 1], draws.depths[:, b:b + 1],
                            draws.ops[..., b:b + 1], draws.levels[..., b:b + 1], draws.flips[..., b:b + 1])
        torch.testing.assert_close(out[b:b + 1], A.augment_and_mix_with(x[b:b + 1], one), atol=1e-6, rtol=0)


def test_draws_cover_the_reference_choices_and_are_seeded():
    g = torch.Generator().manual_seed(0)
    d = A.sample_augmix(2000, severity=3, generator=g)
    assert d.weights.shape == (2000, 3) and torch.allclose(d.weights.sum(1), torch.ones(2000))
    assert set(d.depths.unique().tolist()) == {1, 2, 3} and d.ops.shape == (3, 3, 2000)
    assert set(d.ops.unique().tolist()) == set(range(9))
    assert 0.1 <= d.levels.min() and d.levels.max() < 3 and 0 <= d.mix.min() and d.mix.max() <= 1
    assert abs(d.mix.mean().item() - 0.5) < 0.03 and abs(d.flips.float().mean().item() - 0.5) < 0.02
    fixed = A.sample_augmix(5, depth=2, generator=torch.Generator().manual_seed(0))
    assert (fixed.depths == 2).all() and fixed.ops.shape[0] == 2
    x = torch.rand(4, 3, 16, 16)
    a = A.augment_and_mix(x, generator=torch.Generator().manual_seed(7))
    b = A.augment_and_mix(x, generator=torch.Generator().manual_seed(7))
    c = A.augment_and_mix(x, generator=torch.Generator().manual_seed(8))
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert a.shape == x.shape and a.dtype == x.dtype and 0 <= a.min() and a.max() <= 1


def test_zero_mixing_weight_returns_the_original(photos):
    x = as_tensor(photos)
    d = A.sample_augmix(3, generator=torch.Generator().manual_seed(1))
    d = A.AugMixDraws(d.weights, torch.zeros(3), d.depths, d.ops, d.levels, d.flips)
    torch.testing.assert_close(A.augment_and_mix_with(x, d), x)


def test_bad_arguments_are_clear_errors():
    with pytest.raises(InvalidArgumentError, match="severity must be in"):
        A.augment_and_mix(torch.rand(1, 3, 8, 8), severity=0)
    with pytest.raises(InvalidArgumentError, match="width must be an integer"):
        A.sample_augmix(2, width=0)
    with pytest.raises(ShapeError, match=r"must have shape \(B, 3, H, W\)"):
        A.augment_and_mix(torch.rand(3, 8, 8))
    with pytest.raises(ShapeError, match="draws are for 2 images, the batch has 3"):
        A.augment_and_mix_with(torch.rand(3, 3, 8, 8), A.sample_augmix(2))


# --- the Jensen-Shannon consistency term ----------------------------------------------------------

def test_jsd_on_known_probabilities_matches_scipy():
    p = np.array([[[0.7, 0.2, 0.1], [0.25, 0.25, 0.5]],
                  [[0.1, 0.8, 0.1], [0.3, 0.3, 0.4]],
                  [[0.6, 0.3, 0.1], [0.2, 0.5, 0.3]]])  # (view, B, K)
    logits = [torch.tensor(np.log(v), dtype=torch.float32) for v in p]
    mixture = p.mean(0)
    kl = np.mean([rel_entr(p[v], mixture).sum(1).mean() for v in range(3)])  # batchmean, mean over views
    h = np.mean([entropy(mixture[b]) - np.mean([entropy(p[v, b]) for v in range(3)]) for b in range(2)])
    ours = A.jensen_shannon(*logits).item()
    assert ours == pytest.approx(kl, rel=1e-5) and ours == pytest.approx(h, rel=1e-5)


def test_jsd_clamps_the_mixture_as_the_reference():
    logits = torch.tensor([[30.0, -30.0]]), torch.tensor([[30.0, -30.0]]), torch.tensor([[30.0, -31.0]])
    p = [F.softmax(t.double(), 1).numpy() for t in logits]
    mixture = np.clip(sum(p) / 3, 1e-7, 1)
    expected = np.mean([np.sum(np.where(q > 0, q * (np.log(np.maximum(q, 1e-300)) - np.log(mixture)), 0)) for q in p])
    assert A.jensen_shannon(*logits).item() == pytest.approx(expected, abs=1e-9)


def test_jsd_is_zero_for_identical_logits_and_positive_otherwise():
    z = torch.randn(5, 7)
    assert A.jensen_shannon(z, z.clone(), z.clone()).item() == pytest.approx(0.0, abs=1e-7)
    assert A.jensen_shannon(z, z + torch.randn(5, 7), z).item() > 1e-3
    with pytest.raises(ShapeError, match="share one shape"):
        A.jensen_shannon(z, z[:4], z)
