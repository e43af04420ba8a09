"""AugMix (Hendrycks et al., ICLR 2020) in batched torch, and its Jensen-Shannon consistency loss.

Reference: google-research/augmix (``augmentations.py``, ``augment_and_mix.py``, ``cifar.py``).
Each image gets ``width`` augmentation chains of 1-3 operations (``depth=-1``) drawn from the
operations that do not overlap ImageNet-C (the reference's ``augmentations`` list, not
``augmentations_all``); the chains are mixed with Dirichlet(alpha) weights and the mixture is
mixed with the original with a Beta(alpha, alpha) weight::

    mixed = (1 - m) * x + m * sum_i w_i * chain_i(x)

Every image of a batch has its own draws, all from one explicit ``torch.Generator``;
:func:`sample_augmix` draws them and :func:`augment_and_mix_with` applies given draws.

The operations follow PIL as the reference calls it, on float images in [0, 1]:

* ``solarize`` equals PIL's ``ImageOps.solarize`` (and torchvision's ``solarize``) exactly on
  8-bit images; per-image thresholds.
* ``equalize`` is torchvision's ``equalize``, which reproduces PIL's look-up table (it bins
  the image to 8 bits first, as PIL's image is).
* ``autocontrast`` is torchvision's ``autocontrast``: PIL truncates the stretched value to an
  integer, torchvision does not, so they differ by less than 1/255.
* ``posterize`` is our own: torchvision's float ``posterize`` maps to ``floor(x * 2^bits) / 2^bits``
  (top level 15/16 for 4 bits, PIL's is 240/255), up to 0.004 off PIL; ours rounds to 8 bits
  and masks the low bits as PIL does, so it is exact on 8-bit images.
* ``rotate``, ``shear_x/y`` and ``translate_x/y`` use our own affine warp with PIL's
  conventions: torchvision shears about the image centre where the reference's
  ``Image.transform(AFFINE, (1, level, 0, ...))`` shears about the top-left corner, and
  torchvision's bilinear sampling darkens border pixels (zero padding inside the kernel)
  where PIL clamps to the edge pixel and fills only outside the image.

Unlike the reference, images are not re-quantised to 8 bits after every operation.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
import torch.nn.functional as F
from torch import Tensor
from torchvision.transforms.v2 import functional as TF

from .._checks import check_positive, check_shape
from .._random import sample_beta, sample_dirichlet
from ..errors import InvalidArgumentError, ShapeError

__all__ = [
    "OPERATIONS", "AugMixDraws", "sample_augmix", "augment_and_mix", "augment_and_mix_with",
    "augment_chains_with", "run_chains", "mix_chains", "apply_operation", "operation_magnitude", "affine_pil",
    "autocontrast", "equalize", "posterize", "solarize", "rotate", "shear_x", "shear_y",
    "translate_x", "translate_y", "jensen_shannon", "check_mixing",
]

# the reference's ``augmentations`` list, in its order (ImageNet-C overlaps left out)
OPERATIONS = (
    "autocontrast", "equalize", "posterize", "rotate", "solarize", "shear_x", "shear_y",
    "translate_x", "translate_y",
)
MAX_DEPTH = 3  # depth=-1: a chain of 1 to 3 operations, uniformly (the reference's randint(1, 4))


# --- the operations: x (B, C, H, W) float in [0, 1], one magnitude per image ---------------------

def autocontrast(x: Tensor) -> Tensor:
    """Stretch each channel of each image to [0, 1] (PIL ``ImageOps.autocontrast``)."""
    return TF.autocontrast(x)


def equalize(x: Tensor) -> Tensor:
    """Histogram-equalise each channel on 256 bins (PIL ``ImageOps.equalize``)."""
    return TF.equalize(x)


def posterize(x: Tensor, bits: Tensor) -> Tensor:
    """Keep the top ``bits`` of each 8-bit value (PIL ``ImageOps.posterize``).

    Args:
        x: (B, C, H, W) in [0, 1].
        bits: (B,) integers in [0, 8].
    """
    step = 2.0 ** (8 - bits.to(x.dtype)).view(-1, 1, 1, 1)
    q = torch.round(x.clamp(0, 1) * 255)
    return torch.floor(q / step) * step / 255


def solarize(x: Tensor, threshold: Tensor) -> Tensor:
    """Invert values at or above ``threshold`` (B,), in [0, 1] (PIL ``ImageOps.solarize(t * 255)``)."""
    return torch.where(x >= threshold.to(x.dtype).view(-1, 1, 1, 1), 1 - x, x)


def affine_pil(x: Tensor, matrix: Tensor) -> Tensor:
    """Bilinear affine warp with PIL's ``Image.transform(size, AFFINE, matrix, BILINEAR)`` rules.

    Output pixel (i, j) reads the input at ``(a (j + .5) + b (i + .5) + c, d (j + .5) + e (i + .5) + f)``
    (pixel-edge coordinates, origin at the top-left corner); a point outside the image is 0,
    a point inside interpolates with the edge pixel repeated.

    Args:
        x: (B, C, H, W).
        matrix: (B, 6) PIL affine coefficients (a, b, c, d, e, f), output -> input.
    """
    b, _, h, w = x.shape
    m = matrix.to(device=x.device, dtype=torch.float64).view(b, 6, 1, 1)
    ys = torch.arange(h, device=x.device, dtype=torch.float64).view(1, h, 1) + 0.5
    xs = torch.arange(w, device=x.device, dtype=torch.float64).view(1, 1, w) + 0.5
    x_in = m[:, 0] * xs + m[:, 1] * ys + m[:, 2]
    y_in = m[:, 3] * xs + m[:, 4] * ys + m[:, 5]
    inside = (x_in >= 0) & (x_in < w) & (y_in >= 0) & (y_in < h)
    grid = torch.stack([2 * x_in / w - 1, 2 * y_in / h - 1], dim=-1).to(x.dtype)
    out = F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)
    return out * inside.unsqueeze(1).to(x.dtype)


def _stack_matrix(*rows: Tensor) -> Tensor:
    return torch.stack(rows, dim=1)


def rotate(x: Tensor, degrees: Tensor) -> Tensor:
    """Rotate counter-clockwise by ``degrees`` (B,) about the centre (PIL ``Image.rotate``, BILINEAR)."""
    h, w = x.shape[-2:]
    angle = -torch.deg2rad(degrees.to(torch.float64))
    cos, sin = torch.round(torch.cos(angle), decimals=15), torch.round(torch.sin(angle), decimals=15)
    cx, cy = w / 2, h / 2
    c = cos * -cx + sin * -cy + cx
    f = -sin * -cx + cos * -cy + cy
    return affine_pil(x, _stack_matrix(cos, sin, c, -sin, cos, f))


def _ones_zeros(n: int, dtype: torch.dtype = torch.float64) -> tuple[Tensor, Tensor]:
    return torch.ones(n, dtype=dtype), torch.zeros(n, dtype=dtype)


def shear_x(x: Tensor, factor: Tensor) -> Tensor:
    """Shear along x about the top-left corner: input x = x + factor * y (the reference's matrix)."""
    one, zero = _ones_zeros(x.shape[0])
    return affine_pil(x, _stack_matrix(one, factor.double().cpu(), zero, zero, one, zero))


def shear_y(x: Tensor, factor: Tensor) -> Tensor:
    """Shear along y about the top-left corner: input y = factor * x + y."""
    one, zero = _ones_zeros(x.shape[0])
    return affine_pil(x, _stack_matrix(one, zero, zero, factor.double().cpu(), one, zero))


def translate_x(x: Tensor, pixels: Tensor) -> Tensor:
    """Shift left by ``pixels`` (B,) (output reads input x + pixels; the vacated side is 0)."""
    one, zero = _ones_zeros(x.shape[0])
    return affine_pil(x, _stack_matrix(one, zero, pixels.double().cpu(), zero, one, zero))


def translate_y(x: Tensor, pixels: Tensor) -> Tensor:
    """Shift up by ``pixels`` (B,) (output reads input y + pixels; the vacated side is 0)."""
    one, zero = _ones_zeros(x.shape[0])
    return affine_pil(x, _stack_matrix(one, zero, zero, zero, one, pixels.double().cpu()))


# --- the reference's magnitudes -------------------------------------------------------------------

def _int_parameter(level: Tensor, maxval: float) -> Tensor:
    return torch.floor(level * maxval / 10)  # int() of a positive number


def operation_magnitude(name: str, level: Tensor, flip: Tensor, height: int, width: int) -> Tensor:
    """The argument the reference passes to operation ``name`` for sampled ``level`` in [0.1, severity).

    Args:
        name: one of :data:`OPERATIONS`.
        level: (N,) float64, the reference's ``sample_level(severity)``.
        flip: (N,) bool, the reference's ``np.random.uniform() > 0.5`` (negates the magnitude
            of rotate, shear and translate).
        height, width: image size; translations reach a third of it at level 10 (the
            reference's ``IMAGE_SIZE / 3``; x uses the width, y the height).

    Returns:
        (N,) float64: bits (posterize), threshold in [0, 1] (solarize), degrees (rotate),
        shear factor, or pixels; zeros for autocontrast and equalize, which take none.
    """
    sign = 1.0 - 2.0 * flip.to(torch.float64)
    if name == "posterize":
        return 4 - _int_parameter(level, 4)
    if name == "solarize":
        return (256 - _int_parameter(level, 256)) / 255
    if name == "rotate":
        return _int_parameter(level, 30) * sign
    if name in ("shear_x", "shear_y"):
        return level * 0.3 / 10 * sign
    if name == "translate_x":
        return _int_parameter(level, width / 3) * sign
    if name == "translate_y":
        return _int_parameter(level, height / 3) * sign
    return torch.zeros_like(level)


def apply_operation(name: str, x: Tensor, magnitude: Tensor) -> Tensor:
    """Apply operation ``name`` to each image of ``x`` with its ``magnitude`` (B,)."""
    if name == "autocontrast":
        return autocontrast(x)
    if name == "equalize":
        return equalize(x)
    if name == "posterize":
        return posterize(x, magnitude.to(x.device))
    if name == "solarize":
        return solarize(x, magnitude.to(x.device))
    ops = {"rotate": rotate, "shear_x": shear_x, "shear_y": shear_y, "translate_x": translate_x, "translate_y": translate_y}
    return ops[name](x, magnitude.cpu())


# --- draws, chains and mixing ---------------------------------------------------------------------

@dataclass(frozen=True)
class AugMixDraws:
    """Every random choice of one AugMix call for a batch of B images and ``width`` chains.

    Attributes:
        weights: (B, width) chain weights, rows on the simplex (Dirichlet(alpha)).
        mix: (B,) weight of the chains' mixture against the original (Beta(alpha, alpha)).
        depths: (width, B) chain lengths in [1, max_depth].
        ops: (max_depth, width, B) operation indices into :data:`OPERATIONS`.
        levels: (max_depth, width, B) float64 levels in [0.1, severity).
        flips: (max_depth, width, B) bool, negate the magnitude.
    """

    weights: Tensor
    mix: Tensor
    depths: Tensor
    ops: Tensor
    levels: Tensor
    flips: Tensor


def check_mixing(severity: float, width: int, depth: int, alpha: float, source: str = "augment_and_mix") -> None:
    """Raise InvalidArgumentError naming ``source`` unless the mixing settings are usable."""
    if not 0 < float(severity) <= 10:
        raise InvalidArgumentError(f"{source}: severity must be in (0, 10] (the reference's level scale), got {severity!r}")
    if int(width) != width or width < 1:
        raise InvalidArgumentError(f"{source}: width must be an integer >= 1 (chains per image), got {width!r}")
    if int(depth) != depth:
        raise InvalidArgumentError(f"{source}: depth must be an integer (-1: 1 to 3 operations per chain), got {depth!r}")
    check_positive(alpha, f"{source}: alpha")


def sample_mixture(batch: int, width: int, depth: int, alpha: float,
                   generator: torch.Generator | None) -> tuple[Tensor, Tensor, Tensor, int]:
    """The draws every augment-and-mix scheme shares (AugMix, PRIME), in the reference's order:
    Dirichlet chain weights (B, width), Beta mixing weights (B,), chain lengths (width, B) and
    the longest chain; ``depth <= 0`` draws each length uniformly from 1 to 3."""
    dev = generator.device if generator is not None else torch.device("cpu")
    weights = sample_dirichlet(alpha, batch, width, generator)
    mix = sample_beta(alpha, batch, generator)
    if depth > 0:
        depths = torch.full((width, batch), depth, dtype=torch.long, device=dev)
    else:
        depths = torch.randint(1, MAX_DEPTH + 1, (width, batch), generator=generator, device=dev)
    return weights, mix, depths, depth if depth > 0 else MAX_DEPTH


def sample_augmix(batch: int, *, severity: float = 3, width: int = 3, depth: int = -1, alpha: float = 1.0,
                  num_ops: int = len(OPERATIONS), generator: torch.Generator | None = None) -> AugMixDraws:
    """Draw the AugMix choices for ``batch`` images from ``generator`` (on its device).

    ``depth <= 0`` draws each chain's length uniformly from 1 to 3, as the reference.
    """
    check_mixing(severity, width, depth, alpha)
    dev = generator.device if generator is not None else torch.device("cpu")
    weights, mix, depths, max_depth = sample_mixture(batch, width, depth, alpha, generator)
    shape = (max_depth, width, batch)
    ops = torch.randint(0, num_ops, shape, generator=generator, device=dev)
    levels = 0.1 + (severity - 0.1) * torch.rand(shape, generator=generator, dtype=torch.float64, device=dev)
    flips = torch.rand(shape, generator=generator, device=dev) > 0.5
    return AugMixDraws(weights, mix, depths, ops, levels, flips)


def run_chains(x: Tensor, depths: Tensor, choices: Tensor, apply: Callable[[int, Tensor, Tensor], Tensor]) -> Tensor:
    """Run ``width`` chains per image: ``(width, B, C, H, W)``.

    At each step every chain still running (``depths > step``) gets its chosen operation;
    chains that chose the same one are processed together, operations in index order.

    Args:
        x: (B, C, H, W) originals.
        depths: (width, B) chain lengths.
        choices: (max_depth, width, B) operation indices.
        apply: ``apply(index, flat, images)`` applies operation ``index`` to ``images``, the
            chains at positions ``flat`` (indices into the flattened (width * B) chains,
            chain-major) at this step.
    """
    width, batch = depths.shape
    chains = x.unsqueeze(0).expand(width, *x.shape).reshape(width * batch, *x.shape[1:]).clone()
    depths = depths.reshape(-1).cpu()
    for step in range(choices.shape[0]):
        running = depths > step
        picks = choices[step].reshape(-1).cpu()
        for index in picks[running].unique().tolist():
            flat = (running & (picks == index)).nonzero().flatten()
            rows = flat.to(x.device)
            chains[rows] = apply(int(index), step * width * batch + flat, chains[rows])
    return chains.view(width, batch, *x.shape[1:])


def augment_chains_with(x: Tensor, draws: AugMixDraws, operations: tuple[str, ...] = OPERATIONS) -> Tensor:
    """The ``width`` AugMix chains of every image, ``(width, B, C, H, W)``, with the given draws."""
    h, w = x.shape[-2:]
    levels, flips = draws.levels.reshape(-1).cpu(), draws.flips.reshape(-1).cpu()

    def apply(index: int, at: Tensor, images: Tensor) -> Tensor:
        name = operations[index]
        return apply_operation(name, images, operation_magnitude(name, levels[at], flips[at], h, w))

    return run_chains(x, draws.depths, draws.ops, apply)


def mix_chains(x: Tensor, chains: Tensor, weights: Tensor, mix: Tensor) -> Tensor:
    """``(1 - m) x + m sum_i w_i chain_i``, per image.

    Args:
        x: (B, C, H, W) originals.
        chains: (width, B, C, H, W) augmented versions.
        weights: (B, width) chain weights.
        mix: (B,) weight of the mixture.
    """
    weights = weights.to(device=x.device, dtype=x.dtype)
    m = mix.to(device=x.device, dtype=x.dtype).view(-1, 1, 1, 1)
    mixture = torch.einsum("bn,nbchw->bchw", weights, chains)
    return (1 - m) * x + m * mixture


def augment_and_mix_with(x: Tensor, draws: AugMixDraws) -> Tensor:
    """AugMix of ``x`` (B, 3, H, W) in [0, 1] with the given draws (see :class:`AugMixDraws`)."""
    check_shape(x, "B 3 H W", "augment_and_mix input")
    if draws.weights.shape[0] != x.shape[0]:
        raise ShapeError(f"augment_and_mix: draws are for {draws.weights.shape[0]} images, the batch has {x.shape[0]}")
    return mix_chains(x, augment_chains_with(x, draws), draws.weights, draws.mix)


def augment_and_mix(x: Tensor, *, severity: float = 3, width: int = 3, depth: int = -1, alpha: float = 1.0,
                    generator: torch.Generator | None = None) -> Tensor:
    """AugMix each image of ``x`` with its own random chains and weights.

    Args:
        x: (B, 3, H, W) float RGB in [0, 1].
        severity: operation strength, in (0, 10] (the paper's default 3).
        width: chains per image.
        depth: operations per chain; -1 draws 1 to 3 per chain.
        alpha: Dirichlet and Beta concentration.
        generator: source of every random draw.

    Returns:
        (B, 3, H, W) mixed images in [0, 1], same dtype as ``x``.

    Reference: Hendrycks et al., "AugMix: A Simple Data Processing Method to Improve Robustness
    and Uncertainty", ICLR 2020, arXiv:1912.02781.

    Example:
        >>> x = torch.rand(2, 3, 16, 16)
        >>> augment_and_mix(x, generator=torch.Generator().manual_seed(0)).shape
        torch.Size([2, 3, 16, 16])
    """
    check_shape(x, "B 3 H W", "augment_and_mix input")
    draws = sample_augmix(x.shape[0], severity=severity, width=width, depth=depth, alpha=alpha, generator=generator)
    return augment_and_mix_with(x, draws)


def jensen_shannon(logits_clean: Tensor, logits_aug1: Tensor, logits_aug2: Tensor) -> Tensor:
    """The reference's Jensen-Shannon consistency term (without its weight, 12 in the paper).

    ``M = clamp((p_clean + p_aug1 + p_aug2) / 3, 1e-7, 1)``, then the mean over the three of
    ``KL(p || M)``, each averaged over the batch (``F.kl_div(log M, p, reduction='batchmean')``),
    exactly as google-research/augmix ``cifar.py``.

    Args:
        logits_clean, logits_aug1, logits_aug2: (B, K) logits of the clean image and its two
            augmented views.

    Returns:
        A scalar (float32): 0 when the three predictions agree.
    """
    for name, t in (("logits_clean", logits_clean), ("logits_aug1", logits_aug1), ("logits_aug2", logits_aug2)):
        check_shape(t, "B K", name)
    if not logits_clean.shape == logits_aug1.shape == logits_aug2.shape:
        raise ShapeError(f"jensen_shannon: the three logits must share one shape, got {tuple(logits_clean.shape)}, "
                         f"{tuple(logits_aug1.shape)} and {tuple(logits_aug2.shape)}")
    probs = [F.softmax(t.float(), dim=1) for t in (logits_clean, logits_aug1, logits_aug2)]
    log_mixture = torch.clamp((probs[0] + probs[1] + probs[2]) / 3.0, 1e-7, 1).log()
    return sum(F.kl_div(log_mixture, p, reduction="batchmean") for p in probs) / 3.0

