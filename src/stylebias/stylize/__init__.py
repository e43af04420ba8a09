"""Image-level stylization: AdaIN/EFDM style transfer, Stylized-dataset creation, augmentation.

- :class:`AdaINStylizer`: the AdaIN network (normalised VGG-19 encoder to relu4_1, mirrored
  decoder); loads the published weights as they are.
- :func:`stylize_dataset` / :class:`StylizeConfig`: stylize an image folder (``stylebias
  stylize``): batched, resumable, sharded under ``torchrun``, with a manifest.
- :class:`StyleAugment`: stylize a fraction of each training batch on the fly.
- :func:`coral`: colour preservation.
"""

from .augment import StyleAugment
from .color import coral
from .dataset import StylizeConfig, stylize_dataset
from .network import VGGEncoder, build_decoder, build_vgg
from .stylizer import METHODS, AdaINStylizer, StyleCode, padded_size

__all__ = [
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
