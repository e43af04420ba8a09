"""Normaliser diagnostics at initialisation (Lubana, Dick, Tanaka, NeurIPS 2021).

"Beyond BatchNorm" explains how well a normaliser trains through properties of the network at
initialisation, measured layer by layer on a batch of different inputs:

- the mean pairwise cosine similarity of their activations: without normalisation it rises
  towards 1 with depth (every input maps to nearly the same direction, "rank collapse");
  BatchNorm keeps it low; GroupNorm's rises with its group size, LayerNorm's is high;
- the stable rank of the activations' Gram matrix, ``trace(G) / lambda_max(G)``: the number
  of directions the batch really spans (``B`` at most, 1 at full collapse);
- the norm of the loss gradient of each layer's weights: instance normalisation gives large
  gradients in early layers.

Reference:
    Lubana, Dick, Tanaka. Beyond BatchNorm: Towards a Unified Understanding of Normalization
    in Deep Learning. NeurIPS 2021 (arXiv:2106.05956); EkdeepSLubana/BeyondBatchNorm.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .._checks import check_module_names, check_shape
from ..errors import InvalidArgumentError, ModelOutputError

__all__ = ["LayerDiagnostics", "mean_pairwise_cosine", "stable_rank", "normaliser_diagnostics", "default_layers"]


@dataclass
class LayerDiagnostics:
    """One layer's figures on one batch.

    Attributes:
        layer: module name.
        cosine_similarity: mean cosine similarity over the pairs of different inputs.
        stable_rank: ``trace(G) / lambda_max(G)`` of the Gram matrix of the flattened outputs.
        grad_norm: Frobenius norm of the loss gradient of the layer's own weight (None when the
            module has no ``weight``).
    """

    layer: str
    cosine_similarity: float
    stable_rank: float
    grad_norm: float | None


def mean_pairwise_cosine(features: Tensor) -> Tensor:
    """Mean cosine similarity between the rows of ``(B, ...)`` features, over the ``B (B - 1)``
    ordered pairs of different rows (an all-zero row counts as similarity 0)."""
    flat = F.normalize(features.flatten(1).double(), dim=1)
    b = flat.shape[0]
    if b < 2:
        raise InvalidArgumentError("similarity needs a batch of at least 2 inputs")
    gram = flat @ flat.T
    return (gram.sum() - gram.diagonal().sum()) / (b * (b - 1))


def stable_rank(features: Tensor) -> Tensor:
    """``||A||_F^2 / ||A||_2^2`` of the ``(B, D)`` flattened features ``A`` (equal to
    ``trace(A A^T) / lambda_max(A A^T)``); 0 for all-zero features."""
    flat = features.flatten(1).double()
    gram = flat @ flat.T
    top = torch.linalg.eigvalsh(gram)[-1]
    return torch.where(top > 0, gram.diagonal().sum() / top.clamp_min(1e-300), torch.zeros_like(top))


def default_layers(model: nn.Module) -> list[str]:
    """Every ``Conv2d`` and ``Linear`` of the model, in definition order."""
    return [n for n, m in model.named_modules() if isinstance(m, (nn.Conv2d, nn.Linear))]


def normaliser_diagnostics(
    model: nn.Module,
    images: Tensor,
    labels: Tensor | None = None,
    *,
    layers: Sequence[str] | None = None,
    train_mode: bool = True,
) -> list[LayerDiagnostics]:
    """Similarity, stable rank and gradient norm at each layer for one batch.

    Args:
        model: returns ``(B, classes)`` logits; its weights are not changed and its gradients
            are left as they were.
        images: ``(B, C, H, W)`` different inputs (``B >= 2``).
        labels: ``(B,)`` classes for the cross-entropy whose gradient is measured; default:
            ``arange(B) % classes`` (any fixed labels serve at initialisation).
        layers: module names whose outputs are measured; default :func:`default_layers`.
        train_mode: run with BatchNorm using batch statistics, as in training (the paper's
            setting); the model's own mode and its buffers (running statistics) are restored
            afterwards.

    Returns:
        One :class:`LayerDiagnostics` per layer, in the order given.
    """
    check_shape(images, "B C H W", "images")
    names = list(layers) if layers is not None else default_layers(model)
    if not names:
        raise InvalidArgumentError(f"no layers to measure (none given); e.g. {', '.join(default_layers(model)[:5])}")
    modules = dict(zip(names, check_module_names(model, names)))
    outputs: dict[str, Tensor] = {}
    handles = [modules[n].register_forward_hook(_store(outputs, n)) for n in names]
    was_training = model.training
    buffers = {name: buf.clone() for name, buf in model.named_buffers()}
    model.train(train_mode)
    weights = {n: modules[n].weight for n in names if isinstance(getattr(modules[n], "weight", None), nn.Parameter)}
    try:
        with torch.enable_grad():
            logits = model(images)
            if not isinstance(logits, Tensor) or logits.dim() != 2:
                raise ModelOutputError(f"diagnostics need (B, classes) logits; got {getattr(logits, 'shape', type(logits).__name__)}")
            target = labels if labels is not None else torch.arange(images.shape[0], device=logits.device) % logits.shape[1]
            loss = F.cross_entropy(logits.float(), target.long())
            grads = torch.autograd.grad(loss, list(weights.values()), allow_unused=True) if weights else []
    finally:
        for h in handles:
            h.remove()
        model.train(was_training)
        with torch.no_grad():
            for name, buf in model.named_buffers():
                buf.copy_(buffers[name])
    grad_of = {n: g for n, g in zip(weights, grads)}
    return [
        LayerDiagnostics(
            layer=n,
            cosine_similarity=float(mean_pairwise_cosine(outputs[n])),
            stable_rank=float(stable_rank(outputs[n])),
            grad_norm=float(grad_of[n].norm()) if grad_of.get(n) is not None else None,
        )
        for n in names
    ]


def _store(outputs: dict[str, Tensor], name: str):
    def hook(_m: nn.Module, _i: object, out: object) -> None:
        if isinstance(out, Tensor):
            outputs[name] = out.detach()

    return hook
