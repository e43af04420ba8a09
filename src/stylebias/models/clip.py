"""open_clip image encoders as model specs: ``open_clip:ARCH/PRETRAINED`` (the one place that
talks to open_clip).

``open_clip:ViT-B-32/laion2b_s34b_b79k`` names an architecture of ``open_clip.list_models()``
and one of its pretrained tags (``open_clip.list_pretrained_tags_by_model(ARCH)``); without
``/PRETRAINED`` only random weights can be built. Through :func:`~stylebias.models.load_model`
(every measurement: shape bias, the model-vs-human benchmark, robustness, explain) the spec is a
zero-shot classifier of the 16 benchmark categories (:mod:`.zero_shot`: prompt ensembling, its
``encode_image`` gives the embedding); through :func:`~stylebias.models.build_classifier`
(training) it is the image encoder followed by a linear head (:class:`ImageEncoderClassifier`),
so the penultimate features are the image embedding. The whole CLIP model comes from
:func:`open_clip_model`.

open_clip is optional (``pip install 'stylebias[clip]'``) and imported only when such a spec
is loaded. Its encoders take images of the size they were built for (``Preprocess.crop``).
"""

from __future__ import annotations

import difflib
from typing import Any

from torch import Tensor, nn

from ..errors import InvalidArgumentError, MissingFileError, UnknownNameError
from .preprocess import Preprocess

__all__ = ["open_clip_model", "ImageEncoderClassifier", "load_open_clip_encoder", "open_clip_zero_shot",
           "parse_open_clip_name"]

_INSTALL = "pip install open_clip_torch  (or pip install 'stylebias[clip]')"


def import_open_clip(what: str) -> Any:
    """The ``open_clip`` module, or an error saying that ``what`` needs it and how to install it."""
    try:
        import open_clip
    except ImportError:
        raise InvalidArgumentError(f"{what} needs open_clip, which is not installed: {_INSTALL}") from None
    return open_clip


def parse_open_clip_name(name: str) -> tuple[str, str | None]:
    """``"ARCH/PRETRAINED"`` or ``"ARCH"`` -> ``(arch, pretrained tag or None)``.

    Raises:
        InvalidArgumentError: an empty architecture or tag (``"/openai"``, ``"RN50/"``).
    """
    arch, slash, tag = name.partition("/")
    if not arch or (slash and not tag) or "/" in tag:
        raise InvalidArgumentError(
            f"model spec 'open_clip:{name}' must read ARCH/PRETRAINED (e.g. open_clip:ViT-B-32/openai) or ARCH"
        )
    return arch, tag or None


def open_clip_model(arch: str, pretrained: str | None = None) -> tuple[nn.Module, Preprocess]:
    """A whole open_clip model (image and text towers) in eval mode, and its preprocessing.

    Args:
        arch: an architecture of ``open_clip.list_models()`` (e.g. ``"ViT-B-32"``, ``"RN50"``,
            or a config added with ``open_clip.add_model_config``).
        pretrained: a tag of ``open_clip.list_pretrained_tags_by_model(arch)`` (e.g.
            ``"openai"``), or None for random weights. open_clip fetches the weights from its
            hub (cached; loaded with ``weights_only=True``).

    Returns:
        ``(model, preprocess)``: ``model.visual`` is the image encoder; ``preprocess`` its
        resize/crop (CLIP resizes the shorter side to the input size, then centre-crops) and
        mean/std.

    Raises:
        InvalidArgumentError: open_clip is not installed.
        UnknownNameError: no such architecture, or no such pretrained tag for it.
        MissingFileError: the pretrained weights cannot be fetched.
    """
    open_clip = import_open_clip(f"open_clip:{arch}")
    available = open_clip.list_models()
    if arch not in available:
        close = difflib.get_close_matches(arch, available, n=3)
        hint = f" Did you mean {', '.join(close)}?" if close else ""
        raise UnknownNameError(f"open_clip has no model {arch!r}.{hint} See open_clip.list_models().")
    if pretrained is not None:
        tags = open_clip.list_pretrained_tags_by_model(arch)
        if pretrained not in tags:
            raise UnknownNameError(
                f"open_clip model {arch!r} has no pretrained weights {pretrained!r}; available: "
                f"{', '.join(tags) or 'none (build it with random weights)'}"
            )
    try:
        model = open_clip.create_model(arch, pretrained=pretrained, require_pretrained=pretrained is not None)
    except (OSError, RuntimeError) as err:
        if pretrained is None:
            raise
        raise MissingFileError(
            f"could not get the pretrained weights open_clip:{arch}/{pretrained} ({str(err)[:200]}); open_clip "
            f"fetches them from the Hugging Face Hub: set $HF_HOME to a cache that holds them, or use "
            f"pretrained=False"
        ) from err
    return model.eval(), _preprocess(model.visual)


def _preprocess(visual: nn.Module) -> Preprocess:
    cfg = dict(getattr(visual, "preprocess_cfg", {}) or {})
    size = cfg.get("size", 224)
    size = int(size[0] if isinstance(size, (tuple, list)) else size)
    interpolation = str(cfg.get("interpolation", "bicubic"))
    return Preprocess(
        resize=size, crop=size,
        mean=tuple(cfg.get("mean", Preprocess.mean)), std=tuple(cfg.get("std", Preprocess.std)),
        interpolation=interpolation if interpolation in ("bilinear", "bicubic", "nearest", "lanczos") else "bicubic",
    )


class ImageEncoderClassifier(nn.Module):
    """An image encoder followed by a linear head: ``head(encoder(x))``.

    The head's input is the encoder's embedding, so
    :func:`~stylebias.models.penultimate_features` returns the image embedding.

    Args:
        encoder: maps ``(B, 3, H, W)`` to ``(B, D)``.
        dim: ``D``.
        num_classes: outputs of the head.
    """

    def __init__(self, encoder: nn.Module, dim: int, num_classes: int) -> None:
        super().__init__()
        self.encoder = encoder
        self.head = nn.Linear(dim, num_classes)  # registered last: the network's last nn.Linear

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.encoder(x))


def _embedding_dim(visual: nn.Module, arch: str) -> int:
    dim = getattr(visual, "output_dim", None)
    if isinstance(dim, int):
        return dim
    raise InvalidArgumentError(f"cannot tell the embedding width of open_clip:{arch}'s image encoder (no output_dim)")


def _weights_tag(arch: str, tag: str | None, pretrained: bool) -> str | None:
    """The pretrained tag to load (None: random weights); ``pretrained`` needs the spec to name one."""
    if pretrained and tag is None:
        raise InvalidArgumentError(
            f"model spec open_clip:{arch} names no pretrained weights: write open_clip:{arch}/TAG "
            f"(open_clip.list_pretrained_tags_by_model({arch!r})), or use pretrained=False for random weights"
        )
    return tag if pretrained else None


def load_open_clip_encoder(arch: str, tag: str | None, pretrained: bool,
                           num_classes: int | None = None) -> tuple[nn.Module, Preprocess]:
    """The image encoder of spec ``open_clip:ARCH[/TAG]`` and its preprocessing.

    Args:
        arch, tag: the spec's architecture and pretrained tag (None when it names none).
        pretrained: load the tagged weights (the spec must name a tag); False: random weights.
        num_classes: None for the encoder alone (embeddings out); else an
            :class:`ImageEncoderClassifier` with that many outputs.

    Raises:
        InvalidArgumentError: open_clip missing, a malformed name, or ``pretrained`` without
            a tag.
        UnknownNameError, MissingFileError: as :func:`open_clip_model`.
    """
    model, preprocess = open_clip_model(arch, _weights_tag(arch, tag, pretrained))
    visual = model.visual
    if num_classes is None:
        return visual, preprocess
    return ImageEncoderClassifier(visual, _embedding_dim(visual, arch), num_classes), preprocess


def open_clip_zero_shot(arch: str, tag: str | None, pretrained: bool) -> tuple[nn.Module, Preprocess]:
    """Spec ``open_clip:ARCH[/TAG]`` as a zero-shot classifier of the 16 benchmark categories in
    :data:`~stylebias.shapebias.categories.CATEGORIES` order (CLIP's 80 prompts per category),
    its text weights cached under the stylebias cache; and its preprocessing."""
    from ..hub.download import cache_dir
    from .zero_shot import load_open_clip

    return load_open_clip(arch, _weights_tag(arch, tag, pretrained), templates="openai", cache_dir=cache_dir())
