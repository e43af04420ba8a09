"""Style layers: thin ``nn.Module`` wrappers that sample randomness and call one function."""

from .adversarial import AdversarialStyle, perturb_style
from .base import StyleLayer, layer_hyperparameters, style_layers
from .create import STYLE_LAYERS, create_style_layer, layer_name, list_style_layers
from .dsu import DSU
from .efdmix import EFDMix
from .mixing import MixingLayer
from .mixstyle import MixStyle
from .padain import PermutedAdaIN

__all__ = [
    "StyleLayer",
    "MixingLayer",
    "layer_hyperparameters",
    "PermutedAdaIN",
    "MixStyle",
    "EFDMix",
    "DSU",
    "AdversarialStyle",
    "perturb_style",
    "style_layers",
    "STYLE_LAYERS",
    "create_style_layer",
    "list_style_layers",
    "layer_name",
]
