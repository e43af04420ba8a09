"""stylebias: measure and reduce the texture/style bias of image classifiers.

Quick tour::

    import stylebias
    handle = stylebias.attach(model, "mixstyle", preset="resnet")   # feature-level style layers
    with stylebias.disabled(model): ...                              # switch them off

Subpackages: :mod:`stylebias.functional` (pure tensor functions), :mod:`stylebias.layers`
(modules over them).
"""

from . import functional, layers
from ._version import __version__
from .attach import AttachHandle, attach, disabled, list_presets, mixing_domains
from .errors import StyleBiasError
from .layers import (
    DSU,
    AdversarialStyle,
    EFDMix,
    MixStyle,
    PermutedAdaIN,
    StyleLayer,
    create_style_layer,
    list_style_layers,
    perturb_style,
    style_layers,
)

__all__ = [
    "__version__",
    "functional",
    "layers",
    "attach",
    "AttachHandle",
    "disabled",
    "mixing_domains",
    "list_presets",
    "perturb_style",
    "style_layers",
    "StyleLayer",
    "PermutedAdaIN",
    "MixStyle",
    "EFDMix",
    "DSU",
    "AdversarialStyle",
    "create_style_layer",
    "list_style_layers",
    "StyleBiasError",
]
