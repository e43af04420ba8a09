"""A short, self-checking tour of the style layers on random feature maps.

This is what ``stylebias demo`` runs until the built-in benchmark lands: every registered
layer is applied to the same random batch and the report shows what it did to the
per-instance statistics, next to what the method promises.
"""

from __future__ import annotations

import time
from typing import Any

import torch
from torch import nn

from .functional import instance_stats
from .layers import AdversarialStyle, create_style_layer, list_style_layers, perturb_style

__all__ = ["showcase_layers"]


def _stat_shift(x: torch.Tensor, y: torch.Tensor) -> dict[str, float]:
    mx, sx = instance_stats(x)
    my, sy = instance_stats(y)
    return {
        "mean_abs_change": float((y - x).abs().mean()),
        "mu_change": float((my - mx).abs().mean()),
        "sigma_change": float((sy - sx).abs().mean()),
    }


def showcase_layers(
    batch: int = 16, channels: int = 64, size: int = 32, seed: int = 0
) -> dict[str, Any]:
    """Apply every registered style layer (p = 1) to one random batch and report the effect.

    Samples get distinct "styles" (per-sample channel means and scales) so swapping or
    mixing statistics is visible. Returns ``{"input": {...}, "layers": [{"layer", ...}]}``
    with each layer's mean absolute change of the features and of the instance statistics,
    its forward+backward time in milliseconds, and whether it is the identity in eval mode.
    """
    gen = torch.Generator().manual_seed(seed)
    styles_mu = torch.randn(batch, channels, 1, 1, generator=gen) * 2
    styles_sigma = torch.rand(batch, channels, 1, 1, generator=gen) * 2 + 0.5
    x = torch.randn(batch, channels, size, size, generator=gen) * styles_sigma + styles_mu
    report: dict[str, Any] = {
        "input": {"shape": list(x.shape), "seed": seed},
        "layers": [],
    }
    for name in list_style_layers():
        layer = create_style_layer(name, p=1.0, generator=torch.Generator().manual_seed(seed))
        layer.train()
        xin = x.clone().requires_grad_(True)
        start = time.perf_counter()
        if isinstance(layer, AdversarialStyle):
            # a tiny classifier on top, so the inner maximisation has a loss to ascend
            head = nn.Sequential(layer, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(channels, 4))
            torch.nn.init.normal_(head[3].weight, generator=gen)
            targets = torch.randint(4, (batch,), generator=gen)
            loss_fn = nn.functional.cross_entropy
            with perturb_style(head, loss_fn, xin, targets):
                y = layer(xin)
        else:
            y = layer(xin)
        y.sum().backward()
        elapsed = (time.perf_counter() - start) * 1e3
        eval_identity = bool(torch.equal(layer.eval()(x), x))
        report["layers"].append(
            {"layer": name, **_stat_shift(x, y.detach()), "forward_backward_ms": elapsed,
             "identity_in_eval": eval_identity, "finite": bool(torch.isfinite(y).all())}
        )
    return report
