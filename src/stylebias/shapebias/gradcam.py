"""Grad-CAM: where in the image a classifier's decision comes from.

``cam = ReLU(sum_k w_k A_k)`` with ``w_k`` the spatial mean of ``d score / d A_k`` over the
activations ``A`` of one convolutional layer, upsampled to the image and scaled to [0, 1].

Reference:
    Selvaraju et al., Grad-CAM: Visual Explanations from Deep Networks via Gradient-based
    Localization, ICCV 2017 (arXiv:1610.02391).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .._checks import check_module_names, check_shape
from ..errors import InvalidArgumentError, ModelOutputError
from .categories import CATEGORIES, aggregation_matrix

__all__ = ["grad_cam", "find_target_layer", "colorize", "overlay"]


def find_target_layer(model: nn.Module, input_size: int = 224) -> str:
    """Name of the module Grad-CAM uses by default: the last one (in execution order) whose
    output is a ``(B, C, h, w)`` map with ``h * w > 1``.

    For torchvision ResNets that is ``layer4``, for EfficientNet/MobileNet/VGG ``features``: the
    last convolutional stage, the usual Grad-CAM choice.

    Raises:
        InvalidArgumentError: the model has no module with a spatial 4-D output.
    """
    seen: list[str] = []
    names = {m: n for n, m in model.named_modules() if n}

    def hook(module: nn.Module, _inp: object, out: object) -> None:
        if isinstance(out, Tensor) and out.dim() == 4 and out.shape[2] * out.shape[3] > 1:
            seen.append(names[module])

    handles = [m.register_forward_hook(hook) for m in names]
    param = next(iter(model.parameters()), None)
    x = torch.zeros(1, 3, input_size, input_size,
                    device=param.device if param is not None else "cpu",
                    dtype=param.dtype if param is not None else torch.float32)
    try:
        with torch.no_grad():
            model(x)
    finally:
        for h in handles:
            h.remove()
    if not seen:
        raise InvalidArgumentError("the model has no layer with a spatial (B, C, h, w) output for Grad-CAM")
    return seen[-1]


def grad_cam(
    model: nn.Module,
    images: Tensor,
    *,
    layer: str | nn.Module | None = None,
    target: int | str | Tensor | None = None,
) -> tuple[Tensor, Tensor]:
    """Grad-CAM heatmaps for a batch.

    Args:
        model: takes ``images`` and returns ``(B, 1000)`` logits (e.g. ``LoadedModel.model``);
            its parameters are not changed and get no gradients.
        images: ``(B, 3, H, W)`` RGB in [0, 1].
        layer: module (or its name in ``model.named_modules()``) whose activations are used;
            default :func:`find_target_layer`.
        target: what to explain: an ImageNet class index, one of the 16 category names (its
            mean softmax probability is explained), a ``(B,)`` tensor of class indices, or
            ``None`` for each image's top ImageNet class.

    Returns:
        ``(heatmaps, targets)``: ``(B, H, W)`` in [0, 1] (each map divided by its maximum; all
        zeros where the gradient gives no positive evidence) and the ``(B,)`` class indices
        explained (``-1`` for a category target).

    Raises:
        ModelOutputError: the model's output is not ``(B, K)``.
        InvalidArgumentError: unknown layer name or category.
    """
    check_shape(images, "B 3 H W", "images")
    if layer is None:
        layer = find_target_layer(model, images.shape[-1])
    if isinstance(layer, str):
        (layer,) = check_module_names(model, [layer])
    captured: list[Tensor] = []
    handle = layer.register_forward_hook(lambda _m, _i, out: captured.append(out))
    was_training = model.training
    model.eval()
    try:
        with torch.enable_grad():
            x = images.detach().requires_grad_(True)  # makes the activations part of a graph
            logits = model(x)
            if not isinstance(logits, Tensor) or logits.dim() != 2:
                got = tuple(logits.shape) if isinstance(logits, Tensor) else type(logits).__name__
                raise ModelOutputError(f"Grad-CAM needs (B, classes) logits; the model returned {got}")
            score, chosen = _score(logits, target)
            acts = captured[-1]
            (grads,) = torch.autograd.grad(score, acts)
    finally:
        handle.remove()
        model.train(was_training)
    weights = grads.float().mean(dim=(2, 3), keepdim=True)
    cam = F.relu((weights * acts.detach().float()).sum(dim=1, keepdim=True))
    cam = F.interpolate(cam, size=images.shape[-2:], mode="bilinear", align_corners=False)[:, 0]
    peak = cam.flatten(1).amax(dim=1).clamp_min(1e-12).view(-1, 1, 1)
    return (cam / peak).clamp_(0, 1), chosen


def _score(logits: Tensor, target: int | str | Tensor | None) -> tuple[Tensor, Tensor]:
    b = logits.shape[0]
    if isinstance(target, str):
        if target not in CATEGORIES:
            raise InvalidArgumentError(f"target category must be one of {', '.join(CATEGORIES)}; got {target!r}")
        col = CATEGORIES.index(target)
        if logits.shape[1] == len(CATEGORIES):  # a 16-way classifier: the category's own logit
            return logits[:, col].sum(), torch.full((b,), -1, dtype=torch.long)
        if logits.shape[1] != 1000:
            raise ModelOutputError(f"a category target needs 1000 ImageNet logits or 16 category logits, got {logits.shape[1]}")
        probs = torch.softmax(logits.float(), dim=1) @ aggregation_matrix(torch.float32, logits.device)
        return probs[:, col].sum(), torch.full((b,), -1, dtype=torch.long)
    if target is None:
        chosen = logits.argmax(dim=1)
    elif isinstance(target, Tensor):
        chosen = target.to(logits.device).long().view(b)
    else:
        chosen = torch.full((b,), int(target), dtype=torch.long, device=logits.device)
    if (chosen < 0).any() or (chosen >= logits.shape[1]).any():
        raise InvalidArgumentError(f"target class out of range 0..{logits.shape[1] - 1}: {chosen.tolist()}")
    return logits.gather(1, chosen.view(b, 1)).sum(), chosen.cpu()


def colorize(heatmap: Tensor) -> Tensor:
    """A ``(H, W)`` map in [0, 1] as a ``(3, H, W)`` 'jet' colour image (blue low, red high)."""
    h = heatmap.clamp(0, 1).unsqueeze(0)
    r = (1.5 - (4 * h - 3).abs()).clamp(0, 1)
    g = (1.5 - (4 * h - 2).abs()).clamp(0, 1)
    b = (1.5 - (4 * h - 1).abs()).clamp(0, 1)
    return torch.cat([r, g, b], dim=0)


def overlay(image: Tensor, heatmap: Tensor, alpha: float = 0.5) -> Tensor:
    """Blend a ``(3, H, W)`` image in [0, 1] with the colourised ``(H, W)`` heatmap."""
    return ((1 - alpha) * image.float() + alpha * colorize(heatmap)).clamp(0, 1)
