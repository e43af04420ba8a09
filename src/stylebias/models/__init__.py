"""Any classifier by name: ``load_model("torchvision:resnet50")`` and friends.

Every loaded model takes RGB images ``(B, 3, H, W)`` in [0, 1] and normalises inside; its
:class:`Preprocess` gives the resize/crop that produces that input from a PIL image.

``open_clip:ARCH/PRETRAINED`` names an open_clip image encoder (:mod:`.clip`, optional
package); :func:`penultimate_features` gives any classifier's embedding (its head's input).

Training builds the bare network with any number of classes from the same specs through
:func:`build_classifier` (one head-resizing rule, :func:`resize_head`).

>>> from stylebias.models import load_model
>>> lm = load_model("torchvision:resnet18", pretrained=False)
>>> lm.model(lm.preprocess.transform(img)[None])  # doctest: +SKIP
"""

from . import registered as _registered  # noqa: F401  (registers small_resnet, cifar_resnet*)
from .checks import check_num_outputs, output_width
from .classifier import build_classifier, builder_options, head_width, resize_head
from .clip import open_clip_model
from .embedding import classifier_head, penultimate_features
from .preprocess import IMAGENET_MEAN, IMAGENET_STD, Normalized, Preprocess, resize_and_crop
from .resolve import ModelLike, resolve_model
from .spec import (
    MODELS,
    PREFIXES,
    LoadedModel,
    ModelEntry,
    ModelSpec,
    load_model,
    parse_spec,
    register_model,
)

__all__ = [
    "load_model",
    "build_classifier",
    "builder_options",
    "resize_head",
    "head_width",
    "classifier_head",
    "penultimate_features",
    "open_clip_model",
    "resolve_model",
    "ModelLike",
    "resize_and_crop",
    "parse_spec",
    "register_model",
    "check_num_outputs",
    "output_width",
    "LoadedModel",
    "ModelSpec",
    "ModelEntry",
    "MODELS",
    "PREFIXES",
    "Preprocess",
    "Normalized",
    "IMAGENET_MEAN",
    "IMAGENET_STD",
]
