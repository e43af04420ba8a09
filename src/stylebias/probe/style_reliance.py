"""Where in a network the decision follows style statistics: swap them stage by stage.

For pairs of images (source, donor) the output of one stage of the model gets the source's
feature map with the donor's per-channel statistics: AdaIN's mean and standard deviation, or
with ``mode="efdm"`` the donor's whole sorted value distribution per channel. The rest of the
network runs unchanged. If the prediction then follows the donor, what that stage's statistics
carry decides; if it stays with the source, the spatial arrangement (shape) does. One stage at
a time, over all stages, this draws a profile of style reliance against depth.

Only pairs whose clean predictions differ can tell source from donor; the others are counted
apart (``agreeing_pairs``).

The pAdaIN paper (Nuriel et al., CVPR 2021) motivates its layer with such swaps at different
depths; the statistics move through the same functions the style layers use.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import torch
from torch import Tensor, nn

from .._checks import check_choice, check_module_names, check_shape
from ..errors import DataError, InvalidArgumentError, ModelOutputError, ShapeError
from ..functional import efdm, permuted_adain

__all__ = ["StageReliance", "StyleRelianceResult", "derangement", "style_reliance"]

SWAPS = ("adain", "efdm")


@dataclass
class StageReliance:
    """Counts at one stage over the pairs whose clean predictions differ.

    Attributes:
        stage: module name.
        follows_source, follows_donor, neither: number of such pairs.
        pairs: ``follows_source + follows_donor + neither``.
    """

    stage: str
    follows_source: int = 0
    follows_donor: int = 0
    neither: int = 0

    @property
    def pairs(self) -> int:
        return self.follows_source + self.follows_donor + self.neither

    def fractions(self) -> dict[str, float]:
        n = max(self.pairs, 1)
        return {"source": self.follows_source / n, "donor": self.follows_donor / n, "neither": self.neither / n}


@dataclass
class StyleRelianceResult:
    """Per-stage counts, in the order the stages were given, and the pairs left out."""

    mode: str
    stages: list[StageReliance]
    agreeing_pairs: int = 0
    images: int = 0
    meta: dict[str, object] = field(default_factory=dict)

    def to_dict(self) -> dict[str, object]:
        return {
            "mode": self.mode,
            "images": self.images,
            "agreeing_pairs": self.agreeing_pairs,
            "stages": [
                {"stage": s.stage, "pairs": s.pairs, "follows_source": s.follows_source,
                 "follows_donor": s.follows_donor, "neither": s.neither, **{f"fraction_{k}": v for k, v in s.fractions().items()}}
                for s in self.stages
            ],
            **self.meta,
        }


def derangement(n: int, generator: torch.Generator | None = None) -> Tensor:
    """A random permutation of ``0..n-1`` with no fixed point (every image gets another donor)."""
    if n < 2:
        raise InvalidArgumentError(f"pairing images needs at least 2 of them, got {n}")
    order = torch.randperm(n, generator=generator)
    perm = torch.empty(n, dtype=torch.long)
    perm[order] = order.roll(1)  # one cycle through a random order: never maps i to itself
    return perm


def _swap(features: Tensor, perm: Tensor, mode: str) -> Tensor:
    if features.dim() != 4:
        raise ShapeError(f"style statistics can be swapped on (B, C, h, w) feature maps only; got {tuple(features.shape)}")
    if mode == "adain":
        return permuted_adain(features, perm.to(features.device))
    return efdm(features, features[perm.to(features.device)])


def _predict(model: nn.Module, images: Tensor) -> Tensor:
    logits = model(images)
    if not isinstance(logits, Tensor) or logits.dim() != 2:
        got = tuple(logits.shape) if isinstance(logits, Tensor) else type(logits).__name__
        raise ModelOutputError(f"the probe needs (B, classes) logits; the model returned {got}")
    return logits.argmax(dim=1)


def style_reliance(
    model: nn.Module,
    batches: Iterable[Tensor | tuple | list],
    stages: Sequence[str],
    *,
    mode: str = "adain",
    generator: torch.Generator | None = None,
    device: torch.device | str | None = None,
) -> StyleRelianceResult:
    """Swap style statistics between image pairs at each stage, one stage at a time.

    Args:
        model: returns ``(B, classes)`` logits; run in eval mode, left in the mode it had.
        batches: ``(B, 3, H, W)`` tensors (or tuples whose first item is one), preprocessed
            for the model; pairs are formed within each batch (``B >= 2``).
        stages: module names whose outputs get the donor's statistics, shallow to deep.
        mode: ``"adain"`` (channel mean and std) or ``"efdm"`` (sorted values per channel).
        generator: draws the pairing (a derangement per batch); default: seed 0.
        device: where to run; default: the device of the model's first parameter.

    Returns:
        A :class:`StyleRelianceResult`.
    """
    check_choice(mode, SWAPS, "mode")
    if not stages:
        raise InvalidArgumentError("give at least one stage name")
    modules = check_module_names(model, stages, what="stage")
    generator = generator if generator is not None else torch.Generator().manual_seed(0)
    if device is None:
        param = next(iter(model.parameters()), None)
        device = param.device if param is not None else torch.device("cpu")
    result = StyleRelianceResult(mode=mode, stages=[StageReliance(s) for s in stages])
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            for batch in batches:
                images = (batch[0] if isinstance(batch, (tuple, list)) else batch).to(device)
                check_shape(images, "B C H W", "images")
                if images.shape[0] < 2:
                    continue
                _probe_batch(model, modules, images, derangement(images.shape[0], generator), mode, result)
    finally:
        model.train(was_training)
    if result.images == 0:
        raise DataError("the probe saw no batch of 2 or more images")
    return result


def _probe_batch(model: nn.Module, modules: list[nn.Module], images: Tensor, perm: Tensor,
                 mode: str, result: StyleRelianceResult) -> None:
    clean = _predict(model, images).cpu()
    donor = clean[perm]
    differ = clean != donor
    result.images += images.shape[0]
    result.agreeing_pairs += int((~differ).sum())
    for module, counts in zip(modules, result.stages):
        handle = module.register_forward_hook(lambda _m, _i, out: _swap(out, perm, mode))
        try:
            swapped = _predict(model, images).cpu()
        finally:
            handle.remove()
        source_hit = (swapped == clean) & differ
        donor_hit = (swapped == donor) & differ
        counts.follows_source += int(source_hit.sum())
        counts.follows_donor += int(donor_hit.sum())
        counts.neither += int((differ & ~source_hit & ~donor_hit).sum())
