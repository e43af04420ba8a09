"""``fit_linear_probe(features, labels)``: a linear classifier on frozen embeddings.

The evaluation of representation learning (CLIP's and robust distillation's linear probes):
multinomial logistic regression with an L2 penalty, fitted by full-batch L-BFGS from zero
weights, so the same features always give the same probe.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.nn.functional import cross_entropy

from .._checks import check_shape
from ..errors import InvalidArgumentError, ShapeError

__all__ = ["fit_linear_probe"]


def fit_linear_probe(
    features: Tensor,
    labels: Tensor,
    num_classes: int | None = None,
    *,
    l2: float = 1e-4,
    max_iter: int = 200,
) -> nn.Linear:
    """Fit a linear classifier ``probe(features) -> logits`` by logistic regression.

    Minimises the mean cross-entropy plus ``l2 * ||W||^2`` (the bias is not penalised) with
    L-BFGS (strong Wolfe line search) from zero weights: deterministic, no random draws.

    Args:
        features: ``(N, D)`` embeddings, e.g. ``RobustDistill.embed(images)`` or the first
            output of :func:`stylebias.models.penultimate_features`.
        labels: ``(N,)`` integer classes in ``[0, num_classes)``.
        num_classes: outputs of the probe; default ``labels.max() + 1``.
        l2: weight of the squared-weight penalty, >= 0.
        max_iter: L-BFGS iterations, >= 1.

    Returns:
        An ``nn.Linear(D, num_classes)`` in eval mode without gradients, on the features'
        device, in float32.

    Raises:
        ShapeError: features not ``(N, D)`` with ``N >= 1``, or labels not ``(N,)``.
        InvalidArgumentError: labels that are not integers in range, ``l2 < 0``,
            ``max_iter < 1``.

    Example:
        >>> x = torch.cat([torch.randn(20, 4) - 3, torch.randn(20, 4) + 3])
        >>> y = torch.arange(40) // 20
        >>> probe = fit_linear_probe(x, y)
        >>> bool((probe(x).argmax(1) == y).all())
        True
    """
    check_shape(features, "N D", "features")
    n = features.shape[0]
    if n == 0:
        raise ShapeError("fit_linear_probe needs at least one feature row")
    if labels.shape != (n,):
        raise ShapeError(f"labels must have shape ({n},) (one per feature row), got {tuple(labels.shape)}")
    if labels.is_floating_point() or labels.dtype == torch.bool or labels.min() < 0:
        raise InvalidArgumentError(f"labels must be non-negative integer classes, got dtype {labels.dtype}")
    k = int(labels.max()) + 1 if num_classes is None else int(num_classes)
    if int(labels.max()) >= k:
        raise InvalidArgumentError(f"labels reach {int(labels.max())} but num_classes is {k}")
    if not l2 >= 0 or max_iter < 1:
        raise InvalidArgumentError(f"l2 must be >= 0 and max_iter >= 1, got l2={l2}, max_iter={max_iter}")
    with torch.inference_mode(False), torch.enable_grad():  # callers may be in inference mode
        x, y = features.detach().float().clone(), labels.to(features.device, torch.int64).clone()
        probe = _fit(x, y, k, l2, max_iter)
    return probe.requires_grad_(False).eval()


def _fit(x: Tensor, y: Tensor, k: int, l2: float, max_iter: int) -> nn.Linear:
    probe = nn.Linear(x.shape[1], k).to(x.device)
    nn.init.zeros_(probe.weight)
    nn.init.zeros_(probe.bias)
    optimizer = torch.optim.LBFGS(probe.parameters(), lr=1.0, max_iter=max_iter, line_search_fn="strong_wolfe")

    def objective() -> Tensor:
        optimizer.zero_grad()
        loss = cross_entropy(probe(x), y) + l2 * probe.weight.pow(2).sum()
        loss.backward()
        return loss

    optimizer.step(objective)
    return probe
