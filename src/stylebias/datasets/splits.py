"""Domain-generalisation splits: leave-one-domain-out and training-domain hold-out (DomainBed)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import torch
from torch import Tensor

from .._checks import check_prob
from ..errors import InvalidArgumentError

__all__ = ["leave_one_domain_out", "split_holdout", "domains_of"]


def domains_of(dataset_or_domains: Any) -> tuple[str, ...]:
    """Domain names of a dataset (its ``domains``, else its class's ``DOMAINS``) or a list."""
    if isinstance(dataset_or_domains, str):
        raise InvalidArgumentError(
            f"expected a dataset or a list of domain names, got the single string {dataset_or_domains!r}"
        )
    for attr in ("domains", "DOMAINS"):
        names = getattr(dataset_or_domains, attr, None)
        if names is not None and not callable(names):
            return tuple(str(d) for d in names)
    if isinstance(dataset_or_domains, Sequence):
        return tuple(str(d) for d in dataset_or_domains)
    raise InvalidArgumentError(
        f"expected a dataset with a 'domains' attribute or a list of domain names, got "
        f"{type(dataset_or_domains).__name__}"
    )


def leave_one_domain_out(dataset_or_domains: Any) -> Iterator[tuple[tuple[str, ...], str]]:
    """Yield ``(train_domains, test_domain)`` once per domain, holding that domain out.

    Args:
        dataset_or_domains: a multi-domain dataset (``ShapeTexture``, ``MultiDomainFolder``,
            a benchmark class with ``DOMAINS``) or a sequence of domain names.

    Raises:
        InvalidArgumentError: fewer than two domains, or a domain named twice.

    Example:
        >>> list(leave_one_domain_out(["photo", "cartoon", "sketch"]))[0]
        (('cartoon', 'sketch'), 'photo')
    """
    names = domains_of(dataset_or_domains)
    if len(names) < 2:
        raise InvalidArgumentError(
            f"leave-one-domain-out needs at least 2 domains, got {len(names)}: {names}"
        )
    if len(set(names)) != len(names):
        raise InvalidArgumentError(f"domain names must be unique, got {names}")
    for held in names:
        yield tuple(d for d in names if d != held), held


def split_holdout(n: int, fraction: float, seed: int = 0) -> tuple[Tensor, Tensor]:
    """Random ``(keep, holdout)`` index split of ``range(n)``, e.g. training-domain validation.

    DomainBed holds out 20% of each training domain for model selection; call this per domain.

    Args:
        n: number of items.
        fraction: share held out, in [0, 1]; the hold-out has ``round(n * fraction)`` items.
        seed: seed of the ``torch.Generator`` that draws the permutation.

    Returns:
        Two sorted int64 index tensors that partition ``range(n)``.

    Raises:
        InvalidArgumentError: ``n`` < 0 or ``fraction`` outside [0, 1].
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise InvalidArgumentError(f"n must be a non-negative integer, got {n!r}")
    p = check_prob(fraction, "fraction")
    g = torch.Generator().manual_seed(int(seed))
    perm = torch.randperm(n, generator=g)
    k = int(round(n * p))
    return perm[k:].sort().values, perm[:k].sort().values
