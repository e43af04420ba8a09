"""Pick the stylizer of a method name: ``"adain"``, ``"efdm"`` or ``"contrastive"``."""

from __future__ import annotations

import os

from .._checks import check_choice
from ..errors import InvalidArgumentError
from .base import Stylizer
from .contrastive import ContrastiveStylizer
from .stylizer import AdaINStylizer

__all__ = ["STYLIZER_METHODS", "stylizer_class", "load_stylizer", "check_weight_files"]

_CLASSES: dict[str, type[Stylizer]] = {
    "adain": AdaINStylizer,
    "efdm": AdaINStylizer,
    "contrastive": ContrastiveStylizer,
}
#: Every method a stylizer implements.
STYLIZER_METHODS = tuple(_CLASSES)

PathLike = str | os.PathLike[str]


def stylizer_class(method: str) -> type[Stylizer]:
    """The :class:`Stylizer` subclass implementing ``method``."""
    return _CLASSES[check_choice(method, STYLIZER_METHODS, "method")]


def load_stylizer(
    method: str = "adain",
    *,
    vgg: PathLike | None = None,
    decoder: PathLike | None = None,
    transformer: PathLike | None = None,
    cache_dir: PathLike | None = None,
    download: bool = True,
) -> Stylizer:
    """The stylizer of ``method`` from weight files, or from the cache when none is given.

    Args:
        method: ``"adain"``, ``"efdm"`` (AdaIN's networks) or ``"contrastive"``.
        vgg: ``vgg_normalised.pth``.
        decoder: the decoder: AdaIN's ``decoder.pth`` or IEContraAST's ``decoder_iter_*.pth``.
        transformer: IEContraAST's ``transformer_iter_*.pth`` (``"contrastive"`` only).
        cache_dir, download: for the cached weights (:mod:`stylebias.hub`).

    Raises:
        InvalidArgumentError: an unknown method, some but not all files of the method, or a
            transformer for a method without one.
        MissingFileError, DataError, IntegrityError: from loading the files.
    """
    cls = stylizer_class(method)
    files = check_weight_files(method, vgg=vgg, decoder=decoder, transformer=transformer)
    if files:
        return cls.from_files(*files, method=method)  # type: ignore[attr-defined]
    return cls.pretrained(cache_dir, download=download, method=method)  # type: ignore[attr-defined]


def check_weight_files(
    method: str,
    *,
    vgg: PathLike | None = None,
    decoder: PathLike | None = None,
    transformer: PathLike | None = None,
) -> list[PathLike]:
    """The weight files ``method`` loads, in ``from_files`` order; ``[]`` when none is given
    (then the cached weights are used). Checks names only, reads nothing.

    Raises:
        InvalidArgumentError: some but not all of the method's files, or a transformer for a
            method without one.
    """
    cls = stylizer_class(method)
    given = {"vgg": vgg, "decoder": decoder, "transformer": transformer}
    needed = ("vgg", "decoder", "transformer") if cls is ContrastiveStylizer else ("vgg", "decoder")
    if transformer is not None and "transformer" not in needed:
        raise InvalidArgumentError(
            f"a transformer file is only used by method 'contrastive', not {method!r}; drop it"
        )
    present = [n for n in needed if given[n] is not None]
    if present and len(present) < len(needed):
        missing = [n for n in needed if given[n] is None]
        raise InvalidArgumentError(
            f"method {method!r} needs the weight files {', '.join(needed)}; missing "
            f"{', '.join(missing)} (give all of them, or none to use the cached weights)"
        )
    return [given[n] for n in needed] if present else []  # type: ignore[misc]
