"""Probes of where in a network the reliance on style statistics lives.

>>> from stylebias.probe import style_reliance
>>> result = style_reliance(model, loader, ["layer1", "layer2", "layer3", "layer4"])  # doctest: +SKIP
>>> [s.fractions()["donor"] for s in result.stages]                                   # doctest: +SKIP
"""

from .normalisers import LayerDiagnostics, mean_pairwise_cosine, normaliser_diagnostics, stable_rank
from .report import default_stages, plot_against_depth, probe_normalisers, probe_style_reliance
from .style_reliance import StageReliance, StyleRelianceResult, derangement, style_reliance

__all__ = [
    "style_reliance", "StyleRelianceResult", "StageReliance", "derangement",
    "probe_style_reliance", "probe_normalisers", "default_stages", "plot_against_depth",
    "normaliser_diagnostics", "LayerDiagnostics", "mean_pairwise_cosine", "stable_rank",
]
