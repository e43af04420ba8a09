"""PRIME (Modas et al., ECCV 2022): random spectral, spatial and colour primitives, mixed as AugMix.

Reference: amodas/PRIME-augmentations (``utils/rand_filter.py``, ``utils/diffeomorphism.py``,
``utils/color_jitter.py``, ``utils/prime.py``, ``config/cifar10_cfg.py``, ``train.py``).

* spectral (``RandomFilter``): convolve each image with ``delta + sigma * N(0, 1)`` (a k x k
  kernel; a random filter whose frequency response is a smooth random function), sigma ~ U(0, sigma_max);
* spatial (``Diffeo``): warp by a random smooth displacement field, a sum of sine modes up to a
  random cut-off with a random temperature inside the range the reference derives from the
  image size (no overhangs at the top, half a pixel at the bottom);
* colour (``RandomSmoothColor``): map each channel value v to ``v + sum_k c_k sin(k pi v)``,
  with random Gaussian ``c_k`` of variance T up to a random cut-off.

The parameters are drawn as the reference's ``stochastic=True`` modules draw them (its
maximum-entropy sampling: uniform strengths and cut-offs, Beta(0.5, 0.5) inside the diffeo
range), and :func:`prime_chains_with` mixes chains of 1-3 primitives as
``GeneralizedPRIMEModule`` does: each step picks one primitive per chain, uniformly; Dirichlet
chain weights and a Beta mixing weight as AugMix (:func:`stylebias.augment.augmix.mix_chains`).

Differences from the reference, on purpose:

* every image draws its own strengths, cut-offs and displacement field; the reference draws one
  strength per primitive call for the whole batch (and one displacement field for all), so an
  image's augmentation there depends on which batch it is in;
* the random filter's identity tap sits at the kernel centre (``k // 2``); the reference puts
  it at ``ceil(k / 2)``, index 2 of a 3 x 3 kernel, so its filters also shift the image by a
  pixel diagonally and sigma = 0 is not the identity;
* non-square images are allowed: the x displacement scales with the width, y with the height
  (the reference asserts square images and uses the side for both);
* ``depth > 0`` gives every chain exactly that many primitives (the reference then still
  masks steps with random 1-3 depths).

Defaults are the reference's CIFAR-10 values (``cifar10_cfg.py``): our default image size is
32 px, CIFAR's, so they need no scaling (the diffeo temperature range scales with the image
size by construction). For 224 px images the reference's ImageNet config uses
``diffeo_cut_max=500``, ``color_cut=500``, ``color_temperature=0.05``, ``color_bandwidth=20``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import torch
import torch.nn.functional as F
from torch import Tensor

from .._checks import check_positive, check_shape
from .._random import sample_beta
from ..errors import InvalidArgumentError, ShapeError
from .augmix import check_mixing, mix_chains, run_chains, sample_mixture

__all__ = [
    "PRIMITIVES", "PrimeSettings", "PrimeDraws", "random_filter_with", "filter_kernels_with", "sample_filters",
    "temperature_range", "displacement_with", "remap_with", "diffeo_with", "sample_diffeo",
    "smooth_color_with", "sample_color", "apply_primitive", "sample_prime", "prime_chains_with",
    "augment_prime",
]

PRIMITIVES = ("spatial", "color", "spectral")  # the reference's order: Diffeo, RandomSmoothColor, RandomFilter
_COLOR_CHUNK = 16  # frequencies evaluated at once: bounds memory at (N, C, H*W, 16)


@dataclass(frozen=True)
class PrimeSettings:
    """The primitives' strengths (the reference's CIFAR-10 config).

    Attributes:
        diffeo_cut_min, diffeo_cut_max: range of the displacement field's highest mode.
        diffeo_alpha: scales the top of the temperature range (1: up to no overhangs).
        color_cut: highest colour frequency; color_temperature: variance of the colour
            coefficients (upper end, drawn uniformly); color_bandwidth: 0 for every frequency
            up to the cut, else a random band of that many (the reference's ``max_freqs``).
        filter_size: odd kernel side; filter_sigma: upper end of the kernel noise scale.
    """

    diffeo_cut_min: int = 2
    diffeo_cut_max: int = 100
    diffeo_alpha: float = 1.0
    color_cut: int = 100
    color_temperature: float = 0.01
    color_bandwidth: int = 0
    filter_size: int = 3
    filter_sigma: float = 4.0

    def check(self, source: str = "PRIME") -> "PrimeSettings":
        """Raise InvalidArgumentError naming ``source`` and the setting unless usable; self."""
        for name in ("diffeo_cut_min", "diffeo_cut_max", "color_cut", "color_bandwidth", "filter_size"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or int(value) != value:
                raise InvalidArgumentError(f"{source}: {name} must be an integer, got {value!r}")
        if not 1 <= self.diffeo_cut_min < self.diffeo_cut_max:
            raise InvalidArgumentError(f"{source}: need 1 <= diffeo_cut_min < diffeo_cut_max, got "
                                       f"{self.diffeo_cut_min} and {self.diffeo_cut_max}")
        if int(self.color_cut) != self.color_cut or self.color_cut < 1 or self.color_bandwidth < 0:
            raise InvalidArgumentError(f"{source}: color_cut must be an integer >= 1 and color_bandwidth >= 0 "
                                       f"(0: all frequencies), got {self.color_cut} and {self.color_bandwidth}")
        if int(self.filter_size) != self.filter_size or self.filter_size < 1 or self.filter_size % 2 == 0:
            raise InvalidArgumentError(f"{source}: filter_size must be an odd integer >= 1, got {self.filter_size!r}")
        check_positive(self.diffeo_alpha, f"{source}: diffeo_alpha")
        check_positive(self.color_temperature, f"{source}: color_temperature", allow_zero=True)
        check_positive(self.filter_sigma, f"{source}: filter_sigma", allow_zero=True)
        return self


def _device(generator: torch.Generator | None) -> torch.device:
    return generator.device if generator is not None else torch.device("cpu")


def _uniform(n: int, hi: float, generator: torch.Generator | None) -> Tensor:
    return torch.rand(n, generator=generator, device=_device(generator), dtype=torch.float64) * hi


# --- spectral: random filters ---------------------------------------------------------------------

def filter_kernels_with(noise: Tensor, sigma: Tensor) -> Tensor:
    """Kernels ``delta + sigma * noise`` (N, k, k), the identity tap at the centre.

    Args:
        noise: (N, k, k) standard normal draws, k odd.
        sigma: (N,) noise scales.
    """
    k = noise.shape[-1]
    delta = torch.zeros(k, k, dtype=noise.dtype, device=noise.device)
    delta[k // 2, k // 2] = 1.0
    return sigma.to(noise).view(-1, 1, 1) * noise + delta


def random_filter_with(x: Tensor, kernels: Tensor) -> Tensor:
    """Convolve every channel of image n with ``kernels[n]`` (zero padding, same size), clamp to [0, 1].

    Args:
        x: (N, C, H, W) in [0, 1].
        kernels: (N, k, k), k odd.
    """
    n, c, h, w = x.shape
    k = kernels.shape[-1]
    weight = kernels.to(x).repeat_interleave(c, dim=0).unsqueeze(1)  # (N*C, 1, k, k)
    out = F.conv2d(x.reshape(1, n * c, h, w), weight, padding=k // 2, groups=n * c)
    return out.view(n, c, h, w).clamp(0, 1)


def sample_filters(n: int, settings: PrimeSettings, generator: torch.Generator | None = None) -> Tensor:
    """Kernels for ``n`` images: sigma ~ U(0, filter_sigma) each (the reference's stochastic mode)."""
    sigma = _uniform(n, settings.filter_sigma, generator).float()
    k = int(settings.filter_size)
    noise = torch.randn(n, k, k, generator=generator, device=_device(generator))
    return filter_kernels_with(noise, sigma)


# --- spatial: random smooth diffeomorphisms -------------------------------------------------------

def temperature_range(n: int, cut: Tensor) -> tuple[Tensor, Tensor]:
    """The reference's allowed temperatures (T1, T2) for image side ``n`` and cut-offs ``cut``:
    T1 moves the centre by about half a pixel, T2 is the largest without overhangs."""
    cut = cut.to(torch.float64) + 1e-6
    log = cut.log()
    return 1 / (math.pi * n**2 * log), 4 / (math.pi**3 * cut**2 * log)


def displacement_with(noise_u: Tensor, noise_v: Tensor, cut: Tensor, temperature: Tensor,
                      height: int, width: int) -> tuple[Tensor, Tensor]:
    """Displacement fields (dx, dy), each (N, H, W) in pixels, from mode coefficients.

    ``u(y, x) = sum_{i,j} c_ij e_ij sin(pi i x') sin(pi j y')`` on x', y' in [0, 1], with
    ``e_ij = 1 / sqrt(i^2 + j^2)`` for ``sqrt(i^2 + j^2) < cut + 1/2`` and 0 beyond
    (the reference's ``scalar_field``); ``dx = sqrt(T) * u * width``, ``dy = sqrt(T) * v * height``.

    Args:
        noise_u, noise_v: (N, M, M) standard normal coefficients c_ij of modes i, j = 1..M.
        cut: (N,) cut-offs (<= M); temperature: (N,) temperatures.
    """
    dev = noise_u.device
    m = max(1, min(noise_u.shape[-1], int(cut.max().item()) if cut.numel() else 1))  # modes past every cut are 0
    noise_u, noise_v = noise_u[:, :m, :m], noise_v[:, :m, :m]
    k = torch.arange(1, m + 1, dtype=torch.float64, device=dev)
    r = (k.view(-1, 1) ** 2 + k.view(1, -1) ** 2).sqrt()
    energy = (r < cut.to(dev, torch.float64).view(-1, 1, 1) + 0.5) / r  # (N, M, M)
    sin_x = torch.sin(math.pi * torch.linspace(0, 1, width, dtype=torch.float64, device=dev).view(-1, 1) * k)
    sin_y = torch.sin(math.pi * torch.linspace(0, 1, height, dtype=torch.float64, device=dev).view(-1, 1) * k)
    scale = temperature.to(dev, torch.float64).sqrt().view(-1, 1, 1)
    u = torch.einsum("nij,xi,yj->nyx", noise_u.double() * energy, sin_x, sin_y)
    v = torch.einsum("nij,xi,yj->nyx", noise_v.double() * energy, sin_x, sin_y)
    return scale * u * width, scale * v * height


def remap_with(x: Tensor, dx: Tensor, dy: Tensor) -> Tensor:
    """Read image n at ``(x - dx, y - dy)``, clamped to the image, bilinearly (the reference's ``remap``).

    Args:
        x: (N, C, H, W); dx, dy: (N, H, W) displacements in pixels.
    """
    n, c, h, w = x.shape
    ys = torch.arange(h, dtype=torch.float64, device=x.device).view(1, h, 1)
    xs = torch.arange(w, dtype=torch.float64, device=x.device).view(1, 1, w)
    x_in = (xs - dx.to(x.device, torch.float64)).clamp(0, w - 1)
    y_in = (ys - dy.to(x.device, torch.float64)).clamp(0, h - 1)
    x0, y0 = x_in.floor().long(), y_in.floor().long()
    x1, y1 = x_in.ceil().long(), y_in.ceil().long()
    fx, fy = (x_in - x0).to(x.dtype).unsqueeze(1), (y_in - y0).to(x.dtype).unsqueeze(1)
    flat = x.reshape(n, c, h * w)

    def at(yi: Tensor, xi: Tensor) -> Tensor:  # per-image gather of pixel (yi, xi): (N, C, H, W)
        return flat.gather(2, (yi * w + xi).reshape(n, 1, h * w).expand(n, c, h * w)).view(n, c, h, w)

    return ((1 - fy) * (1 - fx) * at(y0, x0) + (1 - fy) * fx * at(y0, x1)
            + fy * (1 - fx) * at(y1, x0) + fy * fx * at(y1, x1))


def diffeo_with(x: Tensor, noise_u: Tensor, noise_v: Tensor, cut: Tensor, temperature: Tensor) -> Tensor:
    """Warp each image of ``x`` (N, C, H, W) by its displacement field (see :func:`displacement_with`)."""
    dx, dy = displacement_with(noise_u, noise_v, cut, temperature, x.shape[-2], x.shape[-1])
    return remap_with(x, dx, dy)


def sample_diffeo(n: int, size: int, settings: PrimeSettings, generator: torch.Generator | None = None,
                  *, s_t: float = 1.0, r_t: float = 1.0, s_cut: float = 1.0, r_cut: float = 1.0) -> dict[str, Tensor]:
    """Per-image diffeo parameters as the reference's stochastic ``Diffeo`` draws them.

    ``cut_max ~ U{cut_min + 1, .., diffeo_cut_max}``; ``cut = int(B_cut * (cut_max + 1 - cut_min) + cut_min)``;
    ``T = B_T * (T2 - T1) + T1`` with ``T2 = max(T1, alpha * T2)``; B ~ Beta(s - s / (r + 1), s / (r + 1))
    (Beta(1/2, 1/2) for the reference's s = r = 1). Coefficients for modes up to ``diffeo_cut_max + 1``.

    Returns:
        ``noise_u``, ``noise_v`` (n, M, M), ``cut`` (n,) and ``temperature`` (n,).
    """
    dev = _device(generator)
    lo, hi = int(settings.diffeo_cut_min), int(settings.diffeo_cut_max)
    cut_max = torch.randint(lo + 1, hi + 1, (n,), generator=generator, device=dev)
    b_cut = sample_beta(s_cut - s_cut / (r_cut + 1), n, generator, beta=s_cut / (r_cut + 1)).double()
    cut = torch.floor(b_cut * (cut_max + 1 - lo) + lo)
    t1, t2 = temperature_range(size, cut)
    t2 = torch.maximum(t1, settings.diffeo_alpha * t2)
    b_t = sample_beta(s_t - s_t / (r_t + 1), n, generator, beta=s_t / (r_t + 1)).double()
    modes = hi + 1  # B_cut = 1 gives cut = cut_max + 1 (as in the reference)
    noise_u = torch.randn(n, modes, modes, generator=generator, device=dev)
    noise_v = torch.randn(n, modes, modes, generator=generator, device=dev)
    return {"noise_u": noise_u, "noise_v": noise_v, "cut": cut, "temperature": b_t * (t2 - t1) + t1}


# --- colour: random smooth colour curves ----------------------------------------------------------

def smooth_color_with(x: Tensor, noise: Tensor, cut: Tensor, temperature: Tensor,
                      min_k: Tensor | None = None, bandwidth: int = 0) -> Tensor:
    """Map each value v of channel c of image n to ``v + sum_k c_nck sin(k pi v)``, clamped to [0, 1].

    ``c_nck = sqrt(T_n) * noise[n, c, k - 1]`` for the active frequencies k: 1..cut_n, or with
    a ``bandwidth`` b > 0, ``min_k_n <= k < min(min_k_n + b, cut_n + 1)``; 0 otherwise.

    Args:
        x: (N, C, H, W) in [0, 1].
        noise: (N, C, K) standard normal draws for frequencies 1..K (K >= every cut).
        cut: (N,) cut-offs; temperature: (N,) coefficient variances.
        min_k: (N,) lowest frequency of the band (with ``bandwidth``).
    """
    n, c, h, w = x.shape
    dev = x.device
    k = torch.arange(1, noise.shape[-1] + 1, device=dev)
    cut = cut.to(dev).view(-1, 1)
    active = k <= cut
    if bandwidth:
        low = min_k.to(dev).view(-1, 1)  # type: ignore[union-attr]
        active = (k >= low) & (k < torch.minimum(low + bandwidth, cut + 1))
    coeff = noise.to(dev, x.dtype) * temperature.to(dev, x.dtype).sqrt().view(-1, 1, 1) * active.unsqueeze(1)
    top = int(k[active.any(0)].max().item()) if active.any() else 0
    values = x.reshape(n, c, h * w, 1)
    out = x.reshape(n, c, h * w).clone()
    for start in range(0, top, _COLOR_CHUNK):
        ks = k[start:min(top, start + _COLOR_CHUNK)].to(x.dtype)
        waves = torch.sin(values * ks * math.pi)  # (N, C, HW, chunk)
        out += (waves @ coeff[..., start:start + ks.numel()].unsqueeze(-1)).squeeze(-1)
    return out.view(n, c, h, w).clamp(0, 1)


def sample_color(n: int, channels: int, settings: PrimeSettings, generator: torch.Generator | None = None) -> dict[str, Tensor]:
    """Per-image colour parameters as the reference's stochastic ``RandomSmoothColor``:
    ``cut ~ U{1, .., color_cut}``, ``T ~ U(0, color_temperature)``, band start ``~ U{1, .., cut}``."""
    dev = _device(generator)
    top = int(settings.color_cut)
    cut = torch.randint(1, top + 1, (n,), generator=generator, device=dev)
    temperature = _uniform(n, settings.color_temperature, generator)
    min_k = torch.floor(torch.rand(n, generator=generator, device=dev, dtype=torch.float64) * cut).long() + 1
    noise = torch.randn(n, channels, top, generator=generator, device=dev)
    return {"noise": noise, "cut": cut, "temperature": temperature, "min_k": min_k}


# --- one primitive, chains and mixing -------------------------------------------------------------

def apply_primitive(name: str, x: Tensor, settings: PrimeSettings, generator: torch.Generator | None = None) -> Tensor:
    """Primitive ``name`` (one of :data:`PRIMITIVES`) on each image of ``x`` with its own random parameters."""
    n, c, h, w = x.shape
    if name == "spatial":
        p = {k: v.to(x.device) for k, v in sample_diffeo(n, max(h, w), settings, generator).items()}  # fields built where x is
        return diffeo_with(x, p["noise_u"], p["noise_v"], p["cut"], p["temperature"])
    if name == "color":
        p = sample_color(n, c, settings, generator)
        return smooth_color_with(x, p["noise"], p["cut"], p["temperature"], p["min_k"], int(settings.color_bandwidth))
    if name == "spectral":
        return random_filter_with(x, sample_filters(n, settings, generator))
    raise InvalidArgumentError(f"unknown PRIME primitive {name!r}; use one of {', '.join(PRIMITIVES)}")


@dataclass(frozen=True)
class PrimeDraws:
    """The mixing choices of one PRIME call for B images (the primitives draw their own parameters).

    Attributes:
        weights: (B, width) Dirichlet chain weights; mix: (B,) Beta mixing weight.
        depths: (width, B) chain lengths; primitives: (max_depth, width, B) indices into :data:`PRIMITIVES`.
    """

    weights: Tensor
    mix: Tensor
    depths: Tensor
    primitives: Tensor


def sample_prime(batch: int, *, width: int = 3, depth: int = -1, alpha: float = 1.0,
                 generator: torch.Generator | None = None) -> PrimeDraws:
    """Draw PRIME's mixing choices for ``batch`` images (``depth <= 0``: 1 to 3 primitives per chain)."""
    check_mixing(1, width, depth, alpha, source="PRIME")
    weights, mix, depths, max_depth = sample_mixture(batch, width, depth, alpha, generator)
    primitives = torch.randint(0, len(PRIMITIVES), (max_depth, width, batch), generator=generator,
                               device=_device(generator))
    return PrimeDraws(weights, mix, depths, primitives)


def prime_chains_with(x: Tensor, draws: PrimeDraws, primitive: Callable[[int, Tensor], Tensor]) -> Tensor:
    """The chains (width, B, C, H, W): ``primitive(index, images)`` applies primitive ``index``."""
    return run_chains(x, draws.depths, draws.primitives, lambda index, at, images: primitive(index, images))


def augment_prime(x: Tensor, *, width: int = 3, depth: int = -1, alpha: float = 1.0,
                  settings: PrimeSettings | None = None, generator: torch.Generator | None = None) -> Tensor:
    """PRIME each image of ``x``: ``(1 - m) x + m sum_i w_i chain_i(x)``, chains of random primitives.

    Args:
        x: (B, 3, H, W) float RGB in [0, 1], H, W >= 2.
        width: chains per image; depth: primitives per chain (-1: 1 to 3).
        alpha: Dirichlet and Beta concentration (the reference's 1).
        settings: the primitives' strengths (default: the reference's CIFAR-10 config).
        generator: source of every random draw.

    Returns:
        (B, 3, H, W) in [0, 1], same dtype as ``x``.

    Reference: Modas et al., "PRIME: A Few Primitives Can Boost Robustness to Common
    Corruptions", ECCV 2022, arXiv:2112.13547.

    Example:
        >>> x = torch.rand(2, 3, 16, 16)
        >>> augment_prime(x, generator=torch.Generator().manual_seed(0)).shape
        torch.Size([2, 3, 16, 16])
    """
    check_shape(x, "B 3 H W", "augment_prime input")
    if min(x.shape[-2:]) < 2:
        raise ShapeError(f"augment_prime: images must be at least 2 x 2 pixels, got {tuple(x.shape[-2:])}")
    settings = (settings or PrimeSettings()).check()
    draws = sample_prime(x.shape[0], width=width, depth=depth, alpha=alpha, generator=generator)
    chains = prime_chains_with(x, draws, lambda index, images: apply_primitive(PRIMITIVES[index], images, settings, generator))
    return mix_chains(x, chains, draws.weights, draws.mix)
