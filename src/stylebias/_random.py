"""Random draws for the style layers, all through an explicit ``torch.Generator``.

No Python ``random`` and no NumPy RNG: with a seeded generator every draw is reproducible.
Without one, torch's default CPU generator is used (seeded by ``torch.manual_seed``). Draws
happen on the generator's device (CPU by default, so deciding whether a layer fires never
waits for a GPU).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from .errors import ShapeError

__all__ = ["fires", "sample_beta", "sample_dirichlet", "random_perm", "crossdomain_perm", "domain_perm"]


def _device(generator: torch.Generator | None) -> torch.device:
    return generator.device if generator is not None else torch.device("cpu")


def fires(p: float, generator: torch.Generator | None = None) -> bool:
    """True with probability ``p`` (one Bernoulli draw; none at all for p = 0 or 1)."""
    if p >= 1.0:
        return True
    if p <= 0.0:
        return False
    return bool(torch.rand((), generator=generator, device=_device(generator)) < p)


def _log_standard_gamma(shape: float, n: int, generator: torch.Generator | None) -> Tensor:
    """log of n Gamma(shape, 1) draws, float64 (Marsaglia & Tsang 2000).

    For shape < 1 it uses Gamma(a) = Gamma(a + 1) * U^(1/a), in log space so that tiny draws
    (likely for a = 0.1) do not underflow to 0.
    """
    dev = _device(generator)
    boost = shape < 1.0
    d = (shape + 1.0 if boost else shape) - 1.0 / 3.0
    c = 1.0 / math.sqrt(9.0 * d)
    out = torch.empty(n, dtype=torch.float64, device=dev)
    todo = torch.arange(n, device=dev)
    while todo.numel():  # acceptance rate > 95%: one or two rounds
        z = torch.randn(todo.numel(), generator=generator, dtype=torch.float64, device=dev)
        u = torch.rand(todo.numel(), generator=generator, dtype=torch.float64, device=dev)
        v = (1.0 + c * z) ** 3
        ok = (v > 0) & (torch.log(u) < 0.5 * z * z + d - d * v + d * torch.log(v.clamp_min(1e-300)))
        out[todo[ok]] = math.log(d) + torch.log(v[ok])
        todo = todo[~ok]
    if boost:
        u = torch.rand(n, generator=generator, dtype=torch.float64, device=dev)
        out += torch.log(u.clamp_min(1e-300)) / shape
    return out


def sample_beta(alpha: float, n: int, generator: torch.Generator | None = None, *, beta: float | None = None) -> Tensor:
    """n draws from Beta(alpha, beta) as float32, through ``generator`` (beta: default alpha).

    ``torch.distributions.Beta`` takes no generator, so Beta is built from two Gamma draws:
    X / (X + Y) = sigmoid(log X - log Y).
    """
    log_x = _log_standard_gamma(alpha, n, generator)
    log_y = _log_standard_gamma(alpha if beta is None else beta, n, generator)
    return torch.sigmoid(log_x - log_y).float()


def sample_dirichlet(alpha: float, n: int, k: int, generator: torch.Generator | None = None) -> Tensor:
    """n draws from the symmetric Dirichlet(alpha, ..., alpha) on k categories, ``(n, k)`` float32.

    Normalised Gamma(alpha) draws (``torch.distributions.Dirichlet`` takes no generator),
    normalised in log space so that tiny draws for a small alpha do not all underflow to 0.
    """
    log_g = _log_standard_gamma(alpha, n * k, generator).view(n, k)
    return torch.softmax(log_g, dim=1).float()


def random_perm(batch: int, generator: torch.Generator | None = None) -> Tensor:
    """A uniformly random permutation of ``range(batch)`` (MixStyle's ``mix='random'``)."""
    return torch.randperm(batch, generator=generator, device=_device(generator))


def crossdomain_perm(batch: int, generator: torch.Generator | None = None) -> Tensor:
    """Partners from the other half of the batch (MixStyle's ``mix='crossdomain'``).

    The batch holds two domains: the first ``batch // 2`` samples and the rest. For an even
    batch this is the reference's draw: each half is matched to a random permutation of the
    other half. For an odd batch (where the reference crashes) the larger second half gets a
    permutation of the first half plus one extra partner drawn from it at random. A batch of 1
    has no partner and gets the identity.
    """
    dev = _device(generator)
    if batch < 2:
        return torch.arange(batch, device=dev)
    half = batch // 2
    first = torch.arange(half, device=dev)
    second = torch.arange(half, batch, device=dev)
    perm = torch.empty(batch, dtype=torch.long, device=dev)
    perm[:half] = second[torch.randperm(second.numel(), generator=generator, device=dev)[:half]]
    partners = first[torch.randperm(half, generator=generator, device=dev)]
    extra = batch - 2 * half
    if extra:
        picks = torch.randint(half, (extra,), generator=generator, device=dev)
        partners = torch.cat([partners, first[picks]])
    perm[half:] = partners
    return perm


def domain_perm(domains: Tensor, generator: torch.Generator | None = None) -> Tensor:
    """For each sample, a partner drawn uniformly from samples of a *different* domain.

    Args:
        domains: integer domain labels ``(B,)``.

    Returns:
        Index tensor ``(B,)``. Partners are drawn with replacement, so domains of any sizes
        work. If the batch holds a single domain there is nothing to cross, and a random
        permutation is returned instead.
    """
    if not isinstance(domains, Tensor) or domains.dim() != 1:
        raise ShapeError(
            "domain labels must be a 1-D integer tensor with one label per sample; got "
            f"{getattr(domains, 'shape', type(domains).__name__)}"
        )
    dev = _device(generator)
    labels = domains.to(dev)
    batch = labels.numel()
    uniques = labels.unique()
    if uniques.numel() < 2:
        return random_perm(batch, generator)
    perm = torch.empty(batch, dtype=torch.long, device=dev)
    for label in uniques:
        mine = (labels == label).nonzero().flatten()
        others = (labels != label).nonzero().flatten()
        picks = torch.randint(others.numel(), (mine.numel(),), generator=generator, device=dev)
        perm[mine] = others[picks]
    return perm
