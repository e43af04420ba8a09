"""Image-level stylization: AdaIN/EFDM style transfer, Stylized-dataset creation, augmentation.

- :class:`AdaINStylizer`: the AdaIN network (normalised VGG-19 encoder to relu4_1, mirrored
  decoder); loads the published weights as they are.
- :func:`coral`: colour preservation.
"""

from .color import coral
from .network import VGGEncoder, build_decoder, build_vgg
from .stylizer import METHODS, AdaINStylizer, StyleCode, padded_size

__all__ = [
    "AdaINStylizer",
    "StyleCode",
    "padded_size",
    "METHODS",
    "coral",
    "build_vgg",
    "build_decoder",
    "VGGEncoder",
]
