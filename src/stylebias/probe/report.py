"""Probe runs of several models, written as JSON and one figure against depth."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import torch
from torch import Tensor, nn

from ..errors import InvalidArgumentError
from ..io import write_json
from ..plotting import figure_format, pyplot, save_figure
from .normalisers import LayerDiagnostics, normaliser_diagnostics
from .style_reliance import StyleRelianceResult, style_reliance

__all__ = ["default_stages", "probe_style_reliance", "probe_normalisers", "plot_against_depth"]

def default_stages(model: nn.Module) -> list[str]:
    """The stage outputs of a ResNet-like model (``conv1``, ``layer1`` ... ``layer4``, also
    inside a wrapper such as ``model.layer1``), else every ``Conv2d``."""
    names = dict(model.named_modules())
    first = next((n for n in names if n == "layer1" or n.endswith(".layer1")), None)
    if first is not None:
        prefix = first[: -len("layer1")]
        return [prefix + s for s in ("conv1", "layer1", "layer2", "layer3", "layer4") if prefix + s in names]
    convs = [name for name, m in model.named_modules() if isinstance(m, nn.Conv2d)]
    if not convs:
        raise InvalidArgumentError("the model has no ResNet stages and no Conv2d: name the stages to probe")
    return convs


def probe_style_reliance(
    models: Mapping[str, nn.Module],
    batches: Iterable[Tensor] | Sequence[Tensor],
    output_dir: str | os.PathLike[str],
    *,
    stages: Mapping[str, Sequence[str]] | None = None,
    mode: str = "adain",
    seed: int = 0,
) -> dict[str, StyleRelianceResult]:
    """:func:`style_reliance` for each model on the same batches and pairings; writes
    ``style_reliance.json`` and ``style_reliance.png`` (share of pairs following the donor's
    statistics against relative depth, one line per model)."""
    batches = list(batches)
    results = {}
    for name, model in models.items():
        chosen = list(stages[name]) if stages and name in stages else default_stages(model)
        results[name] = style_reliance(model, batches, chosen, mode=mode, generator=torch.Generator().manual_seed(seed))
    out = Path(output_dir)
    write_json({name: r.to_dict() for name, r in results.items()}, out / "style_reliance.json")
    curves = {name: [s.fractions()["donor"] for s in r.stages] for name, r in results.items()}
    plot_against_depth({"follows the donor's statistics": curves}, out / "style_reliance.png",
                       title=f"style reliance by depth ({mode} swap)")
    return results


def probe_normalisers(
    models: Mapping[str, nn.Module],
    images: Tensor,
    output_dir: str | os.PathLike[str],
    *,
    layers: Mapping[str, Sequence[str]] | None = None,
) -> dict[str, list[LayerDiagnostics]]:
    """:func:`normaliser_diagnostics` for each model on one batch; writes ``normalisers.json``
    and ``normalisers.png`` (similarity, stable rank and gradient norm against depth)."""
    results = {name: normaliser_diagnostics(model, images, layers=(layers or {}).get(name)) for name, model in models.items()}
    out = Path(output_dir)
    write_json({name: [d.__dict__ for d in diags] for name, diags in results.items()}, out / "normalisers.json")
    panels: dict[str, dict[str, list[float]]] = {
        "mean pairwise cosine similarity": {n: [d.cosine_similarity for d in ds] for n, ds in results.items()},
        "stable rank": {n: [d.stable_rank for d in ds] for n, ds in results.items()},
        "gradient norm": {n: [d.grad_norm or 0.0 for d in ds] for n, ds in results.items()},
    }
    plot_against_depth(panels, out / "normalisers.png", title="normaliser diagnostics")
    return results


def plot_against_depth(panels: Mapping[str, Mapping[str, Sequence[float]]], path: str | os.PathLike[str],
                       *, title: str | None = None) -> Path:
    """One panel per metric, one line per model, x = relative depth (0 first layer, 1 last),
    so models with different numbers of layers share an axis. PNG, PDF or SVG, written atomically."""
    figure_format(path)  # refuse a bad suffix before drawing
    plt = pyplot()
    fig, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels), 3.4), squeeze=False)
    for ax, (metric, curves) in zip(axes[0], panels.items()):
        for name, values in curves.items():
            xs = [i / max(1, len(values) - 1) for i in range(len(values))]
            ax.plot(xs, values, marker="o", markersize=3, label=name)
        ax.set_xlabel("relative depth")
        ax.set_title(metric, fontsize=10)
        ax.grid(alpha=0.3)
    axes[0][0].legend(fontsize=7)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return save_figure(fig, path, dpi=130)
