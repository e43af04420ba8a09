"""On-the-fly stylization as a method: Stylized-ImageNet training without the data on disk.

``style_augment`` replaces a ``style_fraction`` of every batch by its stylization with styles
drawn from a folder (:class:`~stylebias.stylize.StyleAugment`, any stylizer: AdaIN, EFDM, the
contrastive network), then takes an ERM step; with ``layer=...`` a style layer is attached
as for any method. The ``TrainConfig`` keys ``style_augment``/``style_augment_fraction``/
``stylizer_vgg``/``stylizer_decoder`` build the same stylization with
:func:`build_style_augment` and draw from the same generator, so
``--style-augment DIR`` with ``--method erm`` and ``--method style_augment --hparams
'{"styles": "DIR"}'`` train on identical batches; the config keys also leave the
fine-tuning steps (``finetune_steps``) unstylized, which the method does not know about.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from ..errors import DataError, InvalidArgumentError
from ..io import list_images
from ..stylize import Stylizer, StyleAugment
from .methods import ERM, METHODS
from .stylizers import frozen_stylizer

__all__ = ["StyleAugmentMethod", "build_style_augment"]


def _style_images(styles: Any, method: str) -> Any:
    """The style pool: a folder's image paths, or ``styles`` as given (paths, a tensor)."""
    if styles is None:
        raise InvalidArgumentError(
            f"method {method!r} needs a folder of style images in hparams 'styles', e.g. "
            "--hparams '{\"styles\": \"paintings/\"}'"
        )
    if not isinstance(styles, str):
        return styles
    try:
        return list_images(styles)
    except DataError as err:
        raise DataError(f"hparams 'styles' of method {method!r}: {err}") from None


def build_style_augment(hparams: dict[str, Any], method: str, generator: torch.Generator | None) -> StyleAugment:
    """The frozen :class:`~stylebias.stylize.StyleAugment` that ``hparams`` describe.

    Args:
        hparams: ``styles`` (a folder, a list of image files, or in Python a tensor
            ``(S, 3, H, W)``), ``style_fraction``, ``style_alpha`` (a float or ``[low, high]``),
            ``style_size`` and the stylizer's keys (:mod:`.stylizers`).
        method: the method's name, for messages.
        generator: the draws' generator (which images, which styles, which alpha).

    Raises:
        InvalidArgumentError: no styles, or a stylizer that is not a
            :class:`~stylebias.stylize.Stylizer` (a plain callable cannot encode styles).
        DataError: the style folder is missing or holds no image.
        MissingFileError: the stylizer's weights are missing (see :func:`.frozen_stylizer`).
    """
    styles = _style_images(hparams.get("styles"), method)
    stylizer = frozen_stylizer(hparams, method)
    if not isinstance(stylizer, Stylizer):
        raise InvalidArgumentError(
            f"method {method!r} needs a Stylizer (hparams 'stylizer': 'adain', 'efdm' or 'contrastive'), "
            f"which encodes each style once; got {type(stylizer).__name__}"
        )
    alpha = hparams["style_alpha"]
    alpha = tuple(alpha) if isinstance(alpha, (list, tuple)) else alpha
    return StyleAugment(stylizer, styles, fraction=hparams["style_fraction"], alpha=alpha,
                        style_size=int(hparams["style_size"]), generator=generator)


class StyleAugmentMethod(ERM):
    """ERM on batches partly stylized on the fly with styles from a folder (Stylized-ImageNet).

    A ``style_fraction`` of each batch is replaced by its stylization with random folder styles.

    Hyperparameters (defaults in :mod:`stylebias.training.hparams`): ``styles`` (required:
    a folder of style images), ``style_fraction`` (0.5), ``style_alpha`` (1.0, or
    ``[low, high]``), ``style_size`` (512, the styles' shorter side), ``stylizer``
    (``"adain"``; ``"efdm"``, ``"contrastive"`` or, in Python, any
    :class:`~stylebias.stylize.Stylizer`) and its weight files (:mod:`.stylizers`).

    The draws come from ``generator``; the stylizer stays in eval mode without gradients,
    and the stylization is skipped in eval mode (:class:`~stylebias.stylize.StyleAugment`).

    Reference:
        Geirhos et al., "ImageNet-trained CNNs are biased towards texture; increasing shape
        bias improves accuracy and robustness", ICLR 2019, arXiv:1811.12231.
    """

    def __init__(self, model: nn.Module, hparams: dict[str, Any], **options: Any) -> None:
        super().__init__(model, hparams, **options)  # the same constructor as every method
        self.augment = build_style_augment(self.hparams, "style_augment", self.generator)

    def train(self, mode: bool = True) -> StyleAugmentMethod:
        super().train(mode)  # the augmentation follows: it stylizes in training mode only
        self.augment.stylizer.eval()  # frozen: the stylizer itself never trains
        return self

    def update(self, batch: tuple[Tensor, ...]) -> dict[str, float]:
        return super().update((self.augment(batch[0]), *batch[1:]))


METHODS.register("style_augment", StyleAugmentMethod)
