"""Image-level stylization: AdaIN/EFDM/contrastive style transfer, Stylized datasets, augmentation.

- :class:`Stylizer`: the interface every stylizer has (``encode_style``, ``forward(content,
  style, alpha)``, ``stylize_many``); :func:`load_stylizer` picks one by method name.
- :class:`AdaINStylizer`: the AdaIN network (normalised VGG-19 encoder to relu4_1, mirrored
  decoder), methods ``"adain"`` and ``"efdm"``; loads the published weights as they are.
- :class:`ContrastiveStylizer`: SANet attention at relu4_1/relu5_1 (IEContraAST, NeurIPS
  2021), method ``"contrastive"``; loads the reference's released files as they are.
- :func:`stylize_dataset` / :class:`StylizeConfig`: stylize an image folder (``stylebias
  stylize``): batched, resumable, sharded under ``torchrun``, with a manifest.
- :class:`StyleAugment`: stylize a fraction of each training batch on the fly.
- :func:`coral`: colour preservation.
"""

from .augment import StyleAugment
from .color import coral
from .dataset import StylizeConfig, stylize_dataset
from .base import Stylizer
from .contrastive import AttentionCode, ContrastiveStylizer
from .factory import STYLIZER_METHODS, load_stylizer
from .network import VGGEncoder, build_decoder, build_vgg
from .stylizer import METHODS, AdaINStylizer, StyleCode, padded_size

__all__ = [
    "Stylizer",
    "load_stylizer",
    "STYLIZER_METHODS",
    "ContrastiveStylizer",
    "AttentionCode",
    "AdaINStylizer",
    "StyleAugment",
    "StylizeConfig",
    "stylize_dataset",
    "StyleCode",
    "padded_size",
    "METHODS",
    "coral",
    "build_vgg",
    "build_decoder",
    "VGGEncoder",
]
