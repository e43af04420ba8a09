"""Per-sample information bottleneck attribution (IBA) at any named layer of any model.

Two steps, as in the paper: estimate the mean and standard deviation of every feature of the
layer over a set of images (:func:`estimate_feature_stats`), then, for each image to explain,
fit the bottleneck's ``alpha`` with Adam so that the model still predicts the target class
while as little information as possible flows (:func:`iba`). A batch of images is fitted at
once: each image has its own ``alpha`` and its own noise samples, and since the model runs in
eval mode the images do not interact, so the result per image is what the reference's
one-image loop computes.

Reference:
    Schulz et al., Restricting the Flow: Information Bottlenecks for Attribution, ICLR 2020;
    BioroboticsLab/IBA (``PerSampleBottleneck``/``IBA`` in ``IBA/pytorch.py``).

Example:
    >>> stats = estimate_feature_stats(model, "layer2", loader)            # doctest: +SKIP
    >>> result = iba(model, images, "layer2", stats, generator=torch.Generator().manual_seed(0))  # doctest: +SKIP
    >>> result.heatmaps.shape, result.heatmaps.sum((1, 2))  # (B, H, W) bits; total bits  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .._checks import check_module_names, check_shape
from ..errors import DataError, InvalidArgumentError, ModelOutputError, ShapeError
from .bottleneck import FeatureStats, capacity_heatmap, restrict_information, smooth_lambda

__all__ = ["IBAResult", "estimate_feature_stats", "iba", "resolve_layer"]


@dataclass
class IBAResult:
    """What :func:`iba` returns.

    Attributes:
        heatmaps: ``(B, H, W)`` bits per input pixel; each map sums to the image's total bits.
        capacity: ``(B, C, h, w)`` nats per feature at the layer.
        targets: ``(B,)`` the class explained for each image.
        losses: the total loss (summed over the batch) at each optimisation step.
    """

    heatmaps: Tensor
    capacity: Tensor
    targets: Tensor
    losses: list[float] = field(default_factory=list)


def resolve_layer(model: nn.Module, layer: str | nn.Module) -> nn.Module:
    """The module ``layer`` names in ``model`` (or ``layer`` itself)."""
    if isinstance(layer, nn.Module):
        return layer
    (module,) = check_module_names(model, [layer])
    return module


class _StopForward(Exception):
    """Raised by the estimation hook: nothing after the layer needs to run."""


def _feature_map(out: object, layer_name: str) -> Tensor:
    if not isinstance(out, Tensor) or out.dim() != 4:
        got = tuple(out.shape) if isinstance(out, Tensor) else type(out).__name__
        raise ShapeError(f"the bottleneck needs a (B, C, h, w) feature map at {layer_name!r}; it outputs {got}")
    return out


def estimate_feature_stats(
    model: nn.Module,
    layer: str | nn.Module,
    batches: Iterable[Tensor | tuple | list],
    *,
    max_samples: int = 10_000,
    device: torch.device | str | None = None,
) -> FeatureStats:
    """Mean, unbiased std and activity of every feature of ``layer``, over a stream of images.

    The batches are merged with Chan's parallel form of Welford's update in float64, so the
    result equals the reference's one-sample-at-a-time Welford loop (and ``torch.var`` over all
    samples) without its per-sample Python loop. The model stops right after ``layer``.

    Args:
        model: any module; it runs in eval mode and is left in the mode it had.
        layer: module or name in ``model.named_modules()``.
        batches: ``(B, 3, H, W)`` tensors, or tuples/lists whose first item is one (a
            DataLoader of ``(image, label)``), already preprocessed for the model.
        max_samples: stop once this many images were seen (the paper uses 10,000).
        device: where to run; default: the device of the model's first parameter.

    Raises:
        DataError: fewer than 2 images (no standard deviation can be estimated).
    """
    module = resolve_layer(model, layer)
    name = layer if isinstance(layer, str) else type(layer).__name__
    if device is None:
        param = next(iter(model.parameters()), None)
        device = param.device if param is not None else torch.device("cpu")
    count, mean, m2, nonzero = 0, None, None, None

    def hook(_module: nn.Module, _inp: object, out: object) -> None:
        nonlocal count, mean, m2, nonzero
        feats = _feature_map(out, name).detach().to(torch.float64)
        n_b = feats.shape[0]
        mean_b = feats.mean(dim=0)
        m2_b = ((feats - mean_b) ** 2).sum(dim=0)
        if mean is None:
            mean, m2, nonzero = mean_b, m2_b, (feats != 0).sum(dim=0)
        else:
            delta = mean_b - mean
            total = count + n_b
            mean = mean + delta * (n_b / total)
            m2 = m2 + m2_b + delta**2 * (count * n_b / total)
            nonzero = nonzero + (feats != 0).sum(dim=0)
        count += n_b
        raise _StopForward

    handle = module.register_forward_hook(hook)
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            for batch in batches:
                images = batch[0] if isinstance(batch, (tuple, list)) else batch
                if count >= max_samples:
                    break
                images = images[: max_samples - count].to(device)
                try:
                    model(images)
                except _StopForward:
                    continue
                raise ShapeError(f"layer {name!r} did not run in the model's forward pass")
    finally:
        handle.remove()
        model.train(was_training)
    if count < 2 or mean is None:
        raise DataError(f"estimating feature statistics needs at least 2 images, got {count}")
    std = (m2 / (count - 1)).sqrt()
    dtype = torch.float32
    return FeatureStats(mean.to(dtype), std.to(dtype), (nonzero.to(torch.float64) / count).to(dtype), count)


def _targets(model: nn.Module, images: Tensor, target: int | Tensor | None) -> Tensor:
    with torch.no_grad():
        logits = model(images)
    if not isinstance(logits, Tensor) or logits.dim() != 2:
        got = tuple(logits.shape) if isinstance(logits, Tensor) else type(logits).__name__
        raise ModelOutputError(f"IBA needs (B, classes) logits; the model returned {got}")
    b, classes = logits.shape
    if target is None:
        return logits.argmax(dim=1)
    chosen = target.to(images.device).long().view(b) if isinstance(target, Tensor) else torch.full(
        (b,), int(target), dtype=torch.long, device=images.device)
    if (chosen < 0).any() or (chosen >= classes).any():
        raise InvalidArgumentError(f"target class out of range 0..{classes - 1}: {chosen.tolist()}")
    return chosen


def _noise(
    shape: torch.Size, generator: torch.Generator | Sequence[torch.Generator], images: int,
    device: torch.device, dtype: torch.dtype,
) -> Tensor:
    """Standard normal noise for the ``images * samples`` copies: one draw, or one per image."""
    if isinstance(generator, torch.Generator):
        return torch.randn(shape, generator=generator, device=device, dtype=dtype)
    per_image = (shape[0] // images, *shape[1:])
    return torch.cat([torch.randn(per_image, generator=g, device=device, dtype=dtype) for g in generator])


def _check_options(steps: int, samples: int, beta: float, lr: float, min_std: float) -> None:
    if int(steps) < 1 or int(samples) < 1:
        raise InvalidArgumentError(f"steps and samples must be >= 1, got steps={steps}, samples={samples}")
    if beta < 0 or lr <= 0 or min_std <= 0:
        raise InvalidArgumentError(f"need beta >= 0, lr > 0 and min_std > 0; got beta={beta}, lr={lr}, min_std={min_std}")


def iba(
    model: nn.Module,
    images: Tensor,
    layer: str | nn.Module,
    stats: FeatureStats,
    *,
    target: int | Tensor | None = None,
    beta: float = 10.0,
    steps: int = 10,
    lr: float = 1.0,
    samples: int = 10,
    initial_alpha: float = 5.0,
    sigma: float | None = 1.0,
    min_std: float = 0.01,
    relu: bool = False,
    generator: torch.Generator | Sequence[torch.Generator] | None = None,
) -> IBAResult:
    """Information-bottleneck heatmaps (bits per pixel) for a batch of images.

    For each image, ``alpha`` starts at ``initial_alpha`` everywhere and takes ``steps`` Adam
    steps on ``cross_entropy(target) + beta * mean capacity``, each step on ``samples`` noisy
    copies of the image. As in the reference, the heatmap is the capacity of the last forward
    pass (before the last update).

    Args:
        model: takes ``images`` and returns ``(B, classes)`` logits; its parameters and mode are
            left as they were and get no gradients.
        images: ``(B, 3, H, W)``, preprocessed for the model.
        layer: module or name whose output passes through the bottleneck.
        stats: the layer's :class:`FeatureStats` (:func:`estimate_feature_stats`).
        target: class index, ``(B,)`` tensor, or ``None`` for each image's top class.
        beta, steps, lr, samples, initial_alpha, sigma: the paper's defaults (10, 10, 1, 10,
            5, 1); ``sigma`` smooths ``lambda`` in feature-map cells (``None``: no smoothing).
        min_std: lower bound on the feature standard deviations.
        relu: clamp the bottleneck's output at 0 (a post-ReLU layer).
        generator: the noise's random stream (on the images' device); default: seed 0. A
            sequence of ``B`` generators gives each image its own stream, so an image's map
            does not depend on which other images share its batch.

    Returns:
        An :class:`IBAResult`.
    """
    check_shape(images, "B C H W", "images")
    _check_options(steps, samples, beta, lr, min_std)
    module = resolve_layer(model, layer)
    name = layer if isinstance(layer, str) else type(layer).__name__
    device = images.device
    if generator is None:
        generator = torch.Generator(device).manual_seed(0)
    elif not isinstance(generator, torch.Generator) and len(generator) != images.shape[0]:
        raise InvalidArgumentError(f"give one generator or one per image ({images.shape[0]}), got {len(generator)}")
    stats = FeatureStats(stats.mean.to(device), stats.std.to(device).clamp_min(min_std), stats.active.to(device), stats.count)
    b = images.shape[0]
    was_training = model.training
    model.eval()
    state: dict[str, object] = {}
    alpha = torch.full((b, *stats.mean.shape), float(initial_alpha), device=device, requires_grad=True)

    def hook(_module: nn.Module, _inp: object, out: object) -> Tensor:
        feats = _feature_map(out, name)
        if feats.shape[1:] != stats.mean.shape:
            raise ShapeError(
                f"feature statistics have shape {tuple(stats.mean.shape)} but {name!r} outputs "
                f"{tuple(feats.shape[1:])}: estimate them at this layer with images of this size"
            )
        lam = smooth_lambda(alpha, sigma).repeat_interleave(samples, dim=0)
        noise = _noise(feats.shape, generator, b, device, feats.dtype)
        z, cap = restrict_information(feats, lam.to(feats.dtype), stats, noise, relu=relu)
        state["capacity"] = cap.view(b, samples, *cap.shape[1:])[:, 0]  # the same for every copy
        return z

    losses: list[float] = []
    try:
        targets = _targets(model, images, target)
        handle = module.register_forward_hook(hook)
        try:
            optimizer = torch.optim.Adam([alpha], lr=lr)
            batch = images.detach().repeat_interleave(samples, dim=0)
            labels = targets.repeat_interleave(samples)
            for _ in range(int(steps)):
                with torch.enable_grad():
                    logits = model(batch)
                    model_loss = F.cross_entropy(logits.float(), labels, reduction="none").view(b, samples).mean(1)
                    cap = state["capacity"]
                    assert isinstance(cap, Tensor)
                    info_loss = cap.flatten(1).float().mean(1)
                    loss = (model_loss + beta * info_loss).sum()  # images are independent: sum keeps each one's gradient
                    (grad,) = torch.autograd.grad(loss, alpha)
                alpha.grad = grad
                optimizer.step()
                losses.append(float(loss.detach()))
        finally:
            handle.remove()
    finally:
        model.train(was_training)
    cap = state["capacity"]
    assert isinstance(cap, Tensor)
    cap = cap.detach()
    return IBAResult(capacity_heatmap(cap, tuple(images.shape[-2:])), cap, targets.cpu(), losses)
