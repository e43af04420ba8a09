"""Pure tensor functions: the numerical core of stylebias.

Nothing here keeps state or draws random numbers: permutations, mixing weights and noise are
arguments. The layers in :mod:`stylebias.layers` sample those and call one function each.
"""

from .contrastive import info_nce, nt_xent
from .efdm import efdm, match_sorted, sorted_values
from .layout import LAYOUTS, apply_in_layout, from_maps, to_maps
from .statistics import adain, instance_stats, restyle
from .style import adversarial_style, dsu, efdmix, mixstyle, permuted_adain

__all__ = [
    "instance_stats",
    "adain",
    "restyle",
    "permuted_adain",
    "mixstyle",
    "efdmix",
    "efdm",
    "sorted_values",
    "match_sorted",
    "dsu",
    "adversarial_style",
    "LAYOUTS",
    "to_maps",
    "from_maps",
    "apply_in_layout",
    "info_nce",
    "nt_xent",
]
