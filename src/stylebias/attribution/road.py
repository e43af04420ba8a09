"""ROAD: remove and debias, the faithfulness score that does not leak the removed shape.

Deletion curves replace pixels by a constant, and the replaced region's outline itself tells the
model where the salient object was. ROAD (Rong et al.) instead fills the removed pixels by noisy
linear imputation (each removed pixel the weighted mean of its eight neighbours, solved as one
sparse linear system, plus a little Gaussian noise), then measures how the explained class's
score changes. For a percentile ``p``:

* MoRF (most relevant first) removes the pixels whose map value is at least the map's ``p``-th
  percentile; a faithful map makes the score drop (negative change);
* LeRF (least relevant first) removes those whose ``1 - value`` is at least the ``p``-th
  percentile of ``1 - map``; a faithful map keeps the score (change near 0).

The combined score, as the grad-cam library's ``ROADCombined``, is the mean over percentiles
10, 20, ..., 90 of ``(LeRF change - MoRF change) / 2``: higher is more faithful. Scores are the
explained class's logit (the library's ``ClassifierOutputTarget``).

The masks and the forward passes are batched; the sparse solves run one image at a time through
the library's ``NoisyLinearImputer`` (the ``cam`` extra), with its noise drawn here from an
explicit generator instead of torch's global one. A map that keeps no pixel at some percentile
(constant maps, or ties at the threshold covering the whole image) leaves nothing to impute from:
that point is NaN and the combined score averages the others.

Reference:
    Rong, Leemann, Borisov, Kasneci, Kasneci. A Consistent and Efficient Evaluation Strategy for
    Attribution Methods. ICML 2022 (arXiv:2202.00449); tleemann/road_evaluation, as packaged in
    jacobgil/pytorch-grad-cam ``pytorch_grad_cam/metrics/road.py``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from .._checks import check_shape
from ..errors import InvalidArgumentError
from .cam import require_grad_cam

__all__ = ["ROAD_PERCENTILES", "ROADScores", "road_keep_mask", "noisy_linear_impute", "road"]

log = logging.getLogger(__name__)

ROAD_PERCENTILES = (10, 20, 30, 40, 50, 60, 70, 80, 90)
ROAD_NOISE = 0.01  # the imputer's default noise scale (absolute, on the model's input values)


@dataclass
class ROADScores:
    """ROAD of a batch: ``combined`` (B,), and the score changes ``morf`` and ``lerf`` (P, B) at
    ``percentiles`` (NaN where a map kept no pixel)."""

    combined: Tensor
    morf: Tensor
    lerf: Tensor
    percentiles: tuple[int, ...]


def road_keep_mask(saliency: Tensor, percentile: float, most_relevant_first: bool = True) -> Tensor:
    """``(B, H, W)`` bool: the pixels ROAD keeps at ``percentile`` (the others are imputed).

    MoRF keeps ``map < percentile(map, p)``; LeRF keeps ``1 - map < percentile(1 - map, p)``,
    with numpy's linear percentile per image, exactly as the library's ``RemoveMostRelevantFirst``.
    """
    check_shape(saliency, "B H W", "saliency")
    if not 0 <= percentile <= 100:
        raise InvalidArgumentError(f"percentile must be in [0, 100], got {percentile}")
    values = saliency.detach().float().flatten(1)
    if not most_relevant_first:
        values = 1 - values
    threshold = torch.quantile(values, percentile / 100, dim=1, keepdim=True)
    return (values < threshold).view_as(saliency)


def noisy_linear_impute(images: Tensor, keep: Tensor, *, noise: float = ROAD_NOISE,
                        generator: torch.Generator | None = None) -> Tensor:
    """``images`` (B, C, H, W) with the pixels where ``keep`` (B, H, W) is False filled by noisy
    linear imputation; an image that keeps no pixel comes back as NaN (nothing to impute from)."""
    check_shape(images, "B C H W", "images")
    if keep.shape != (images.shape[0], *images.shape[-2:]):
        raise InvalidArgumentError(f"keep must be (B, H, W) = {(images.shape[0], *images.shape[-2:])}, got {tuple(keep.shape)}")
    require_grad_cam()
    from pytorch_grad_cam.metrics.road import NoisyLinearImputer

    imputer = NoisyLinearImputer(noise=0.0)  # its own noise would draw from torch's global generator
    out = []
    for image, kept in zip(images.detach().cpu().float(), keep.cpu()):
        if not kept.any():
            out.append(torch.full_like(image, float("nan")))
            continue
        filled = imputer(image, kept.float()) if not kept.all() else image.clone()
        if noise:
            jitter = noise * torch.randn(filled.shape, generator=generator)
            filled = torch.where(kept, filled, filled + jitter)
        out.append(filled)
    return torch.stack(out).to(images.device, images.dtype)


@torch.no_grad()
def _target_scores(model: nn.Module, images: Tensor, targets: Tensor) -> Tensor:
    logits = model(images)
    return logits.float().gather(1, targets.view(-1, 1).to(logits.device))[:, 0].cpu()


def road(
    model: nn.Module,
    images: Tensor,
    saliency: Tensor,
    targets: Tensor,
    *,
    percentiles: Sequence[int] = ROAD_PERCENTILES,
    noise: float = ROAD_NOISE,
    generator: torch.Generator | None = None,
) -> ROADScores:
    """ROAD scores of the maps ``saliency`` (B, H, W) for ``model`` on ``images`` (B, 3, H, W),
    explaining class ``targets`` (B,); see the module docstring. The model is run in eval mode."""
    check_shape(images, "B 3 H W", "images")
    if saliency.shape != (images.shape[0], *images.shape[-2:]):
        raise InvalidArgumentError(f"saliency must be (B, H, W) = {(images.shape[0], *images.shape[-2:])}, "
                                   f"got {tuple(saliency.shape)}")
    was_training = model.training
    model.eval()
    try:
        before = _target_scores(model, images, targets)
        changes = {True: [], False: []}
        for p in percentiles:
            for morf in (True, False):
                filled = noisy_linear_impute(images, road_keep_mask(saliency, p, morf), noise=noise, generator=generator)
                undefined = torch.isnan(filled).flatten(1).any(dim=1).cpu()
                after = _target_scores(model, torch.nan_to_num(filled), targets)
                changes[morf].append(torch.where(undefined, torch.nan, after - before))
    finally:
        model.train(was_training)
    morf_t, lerf_t = torch.stack(changes[True]), torch.stack(changes[False])
    combined = ((lerf_t - morf_t) / 2).nanmean(dim=0)
    missing = int(torch.isnan(lerf_t - morf_t).sum())
    if missing:
        log.warning("ROAD: %d of %d (map, percentile) points kept no pixel (constant map or ties at the "
                    "threshold) and were left out", missing, lerf_t.numel())
    return ROADScores(combined, morf_t, lerf_t, tuple(int(p) for p in percentiles))
