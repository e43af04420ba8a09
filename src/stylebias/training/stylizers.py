"""The frozen stylizer of a stylizing method (``debiased``, ``style_augment``), from hparams.

Hyperparameters (defaults in :mod:`stylebias.training.hparams`):

* ``stylizer``: ``"adain"``, ``"efdm"`` (AdaIN's networks) or ``"contrastive"``
  (:func:`stylebias.stylize.load_stylizer`); in direct Python use also any
  :class:`~stylebias.stylize.Stylizer` object or callable ``(content, style) -> images``.
* ``stylizer_vgg``, ``stylizer_decoder``, ``stylizer_transformer``: weight files of a named
  stylizer; all None: the published weights from the cache (:mod:`stylebias.hub`).
"""

from __future__ import annotations

from typing import Any

from torch import nn

from .._checks import check_choice
from ..errors import InvalidArgumentError, MissingFileError
from ..stylize import STYLIZER_METHODS, load_stylizer
from ..stylize.pairs import StyleTransfer

__all__ = ["frozen_stylizer", "freeze", "WEIGHT_KEYS"]

#: hparams naming a stylizer's weight files, by ``load_stylizer`` argument.
WEIGHT_KEYS = {"vgg": "stylizer_vgg", "decoder": "stylizer_decoder", "transformer": "stylizer_transformer"}


def freeze(stylizer: Any) -> Any:
    """Put a module stylizer in eval mode with no trainable parameters; return it."""
    if isinstance(stylizer, nn.Module):
        stylizer.requires_grad_(False).eval()
    return stylizer


def frozen_stylizer(hparams: dict[str, Any], method: str) -> StyleTransfer:
    """The stylizer ``hparams`` name, loaded and frozen (eval, no gradients).

    Args:
        hparams: the method's resolved hyperparameters (``stylizer`` and the weight keys).
        method: the training method's name, for messages.

    Raises:
        InvalidArgumentError: an unknown stylizer name, an incomplete set of weight files,
            or weight files given with a stylizer object.
        MissingFileError: a weight file is missing; or, with no files named, the published
            weights are not in the cache and cannot be downloaded (the message says where
            to put them).
        DataError: a weight file does not have the stylizer's layout.
    """
    spec = hparams.get("stylizer")
    files = {arg: hparams.get(key) for arg, key in WEIGHT_KEYS.items()}
    if not isinstance(spec, str):
        if not callable(spec):
            raise InvalidArgumentError(
                f"hparams 'stylizer' of method {method!r} must be one of {', '.join(map(repr, STYLIZER_METHODS))}, "
                f"a Stylizer or a callable (content, style) -> images; got {spec!r}"
            )
        given = [WEIGHT_KEYS[arg] for arg, path in files.items() if path is not None]
        if given:
            raise InvalidArgumentError(
                f"hparams {', '.join(given)} of method {method!r} name weight files, which only a named "
                "stylizer ('adain', 'efdm', 'contrastive') loads; drop them or name the stylizer"
            )
        return freeze(spec)
    check_choice(spec, STYLIZER_METHODS, f"hparams 'stylizer' of method {method!r}")
    try:
        return freeze(load_stylizer(spec, **{arg: path for arg, path in files.items() if path is not None}))
    except InvalidArgumentError as err:  # an incomplete set of files: say which hparams hold them
        raise InvalidArgumentError(
            f"{err} (method {method!r} reads them from hparams {', '.join(map(repr, WEIGHT_KEYS.values()))})"
        ) from None
    except MissingFileError as err:
        if any(path is not None for path in files.values()):
            raise
        keys = ", ".join(repr(WEIGHT_KEYS[k]) for k in (("vgg", "decoder", "transformer") if spec == "contrastive"
                                                        else ("vgg", "decoder")))
        raise MissingFileError(
            f"method {method!r} uses the published {spec!r} stylizer weights: {err} "
            f"Or name weight files of that layout in hparams ({keys})."
        ) from None
