"""A classifier's embedding: the input of its classification head (penultimate features).

One rule names the head for every source, the one :func:`~stylebias.models.resize_head`
resizes: a timm model's ``get_classifier()``, otherwise the last ``nn.Linear`` in module order
(torchvision's ``fc``/``classifier[-1]``, the registered benchmark networks' ``fc``, an
``open_clip:`` classifier's ``head``, whose input is the CLIP image embedding).
"""

from __future__ import annotations

from torch import Tensor, nn

from ..errors import InvalidArgumentError, ModelOutputError
from ..runtime import unwrap
from .classifier import _last_linear

__all__ = ["classifier_head", "penultimate_features"]


def classifier_head(model: nn.Module) -> nn.Module:
    """The classification head of ``model`` (inside any DDP wrapper): timm's
    ``get_classifier()``, else the last ``nn.Linear``.

    Raises:
        InvalidArgumentError: the model has neither.
    """
    net = unwrap(model)
    if hasattr(net, "reset_classifier") and callable(getattr(net, "get_classifier", None)):
        head = net.get_classifier()
        if isinstance(head, nn.Module):
            return head
    last = _last_linear(net)
    if last is None:
        raise InvalidArgumentError(
            f"{type(net).__name__} has no classifier head (no nn.Linear): its embedding is the input "
            "of the head, so give it a linear head (build it with stylebias.models.build_classifier)"
        )
    return last[1]


def penultimate_features(model: nn.Module, x: Tensor, head: nn.Module | None = None) -> tuple[Tensor, Tensor]:
    """One forward pass of ``model`` on ``x``: the input of its head and its output.

    The head's input is caught by a forward pre-hook, registered for this call alone, so the
    pass runs through ``model`` as it is (a DDP wrapper synchronises gradients as usual; the
    features keep their graph).

    Args:
        model: a classifier (or its DDP wrapper) taking ``x``.
        x: its input, e.g. ``(B, 3, H, W)`` RGB in [0, 1].
        head: the module whose input is the embedding; default :func:`classifier_head`.

    Returns:
        ``(features, output)``: the head's input flattened to ``(B, D)``, and the model's
        output (the logits).

    Raises:
        InvalidArgumentError: no head (see :func:`classifier_head`).
        ModelOutputError: the head did not run exactly once in the pass.

    Example:
        >>> net = torchvision.models.resnet18(num_classes=3)  # doctest: +SKIP
        >>> feats, logits = penultimate_features(net, torch.rand(2, 3, 64, 64))  # doctest: +SKIP
        >>> feats.shape, logits.shape  # doctest: +SKIP
        (torch.Size([2, 512]), torch.Size([2, 3]))
    """
    head = classifier_head(model) if head is None else head
    caught: list[Tensor] = []
    handle = head.register_forward_pre_hook(lambda module, args: caught.append(args[0]))
    try:
        out = model(x)
    finally:
        handle.remove()
    if len(caught) != 1:
        raise ModelOutputError(
            f"the classifier head {type(head).__name__} ran {len(caught)} times in one forward pass; "
            "the embedding is the input of a head that runs once"
        )
    return caught[0].flatten(1), out
