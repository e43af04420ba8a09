"""The benchmark networks registered by name: ``small_resnet`` and the CIFAR ResNets.

They have no published weights; they take RGB in [0, 1] as they are (no resize, crop or
normalisation) and are built with any number of classes by
:func:`~stylebias.models.build_classifier` (``load_model`` gives their default width).
"""

from __future__ import annotations

from functools import partial

from torch import nn

from ..errors import MissingFileError
from .classifier import IDENTITY_PREPROCESS
from .spec import register_model

__all__: list[str] = []


def _no_weights(name: str, pretrained: bool) -> None:
    if pretrained:
        raise MissingFileError(
            f"model {name!r} has no published weights; build it untrained "
            "(pretrained=False, or leave out --pretrained) and train it"
        )


def _small_resnet(pretrained: bool, num_classes: int = 10, width: int = 32) -> nn.Module:
    from ..training.nets import small_resnet

    _no_weights("small_resnet", pretrained)
    return small_resnet(num_classes, width)


def _cifar_resnet(depth: int, pretrained: bool, num_classes: int = 100) -> nn.Module:
    from ..training.nets import cifar_resnet

    _no_weights(f"cifar_resnet{depth}", pretrained)
    return cifar_resnet(depth, num_classes)


register_model("small_resnet", _small_resnet, preprocess=IDENTITY_PREPROCESS,
               description="3-stage ResNet for 32-64 px images (about 0.3 M parameters at width 32); option: width")
for _depth in (18, 34, 50):
    register_model(
        f"cifar_resnet{_depth}", partial(_cifar_resnet, _depth), preprocess=IDENTITY_PREPROCESS,
        aliases=("cifar_resnet",) if _depth == 18 else (),
        description=f"torchvision ResNet-{_depth} with the CIFAR stem (3x3 stride-1 conv, no max-pool)",
    )
