"""Zero-shot image-text models (CLIP, SigLIP through ``open_clip``) as classifiers of any label set.

An image-text model classifies by comparing its image embedding with text embeddings of the
class names: each class's weight is the normalised mean of the normalised embeddings of its
prompts ("a photo of a {}.", ... : prompt ensembling, Radford et al. 2021), and the logits are
``logit_scale * normalise(image embedding) @ weights.T`` (plus SigLIP's ``logit_bias``). With the
16 categories of the shape-bias and model-vs-human benchmarks as the class names (the default),
the model is a 16-way classifier in :data:`~stylebias.shapebias.categories.CATEGORIES` order,
which every measurement of stylebias takes as it is.

The text side is computed once per (model, weights, class names, prompts) and cached on disk
(``<cache>/zero_shot/<key>.pt``, read with ``weights_only=True`` and used only when its stored
key equals the one asked for), so a later run does not need the text tower's compute.

open_clip is optional (``pip install 'stylebias[clip]'``). Its pretrained weights are fetched by
open_clip itself (OpenAI's files with their published sha256 in the URL checked on download;
Hugging Face Hub files by the hub's content hash) into its cache; offline, the error names the
cache to fill.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from ..errors import InvalidArgumentError
from .clip import import_open_clip, open_clip_model
from .preprocess import Preprocess

__all__ = ["ZeroShotClassifier", "prompt_templates", "text_weights", "load_open_clip"]

log = logging.getLogger(__name__)

# the single prompt of the CLIP paper's simplest setting; "openai" is its 80-prompt ensemble
_SINGLE = ("a photo of a {}.",)


def prompt_templates(name: str | Sequence[str]) -> tuple[str, ...]:
    """Prompt templates by name: ``"openai"`` (CLIP's 80 ImageNet prompts), ``"simple"``
    (open_clip's short list), ``"single"`` ("a photo of a {}."), or the templates themselves
    (each with one ``{}``)."""
    if not isinstance(name, str):
        templates = tuple(name)
    elif name == "single":
        templates = _SINGLE
    elif name in ("openai", "simple"):
        meta = import_open_clip("prompt templates").zero_shot_metadata
        templates = tuple(meta.OPENAI_IMAGENET_TEMPLATES if name == "openai" else meta.SIMPLE_IMAGENET_TEMPLATES)
        if templates and not isinstance(templates[0], str):  # open_clip stores some as lambdas
            templates = tuple(t("{}") for t in templates)
    else:
        raise InvalidArgumentError(f"prompt templates must be 'openai', 'simple', 'single' or a list of strings with "
                                   f"one '{{}}'; got {name!r}")
    bad = [t for t in templates if not isinstance(t, str) or t.count("{}") != 1]
    if not templates or bad:
        raise InvalidArgumentError(f"every prompt template needs exactly one '{{}}' for the class name; got {bad or templates}")
    return templates


@torch.no_grad()
def text_weights(model: nn.Module, tokenizer: Any, classnames: Sequence[str], templates: Sequence[str],
                 device: torch.device | str = "cpu", batch_size: int = 256) -> Tensor:
    """``(C, D)`` class weights: per class the normalised mean of its prompts' normalised text
    embeddings (prompt ensembling)."""
    rows = []
    for name in classnames:
        texts = [t.format(name) for t in templates]
        parts = [model.encode_text(tokenizer(texts[i:i + batch_size]).to(device)).float()
                 for i in range(0, len(texts), batch_size)]
        emb = torch.cat(parts)
        emb = emb / emb.norm(dim=-1, keepdim=True)
        mean = emb.mean(dim=0)
        rows.append(mean / mean.norm())
    return torch.stack(rows)


class ZeroShotClassifier(nn.Module):
    """``forward(x) -> (B, C)`` logits of an image-text model over fixed class names.

    Args:
        model: an open_clip model (``encode_image``; ``logit_scale`` and optionally ``logit_bias``).
        weights: ``(C, D)`` class weights from :func:`text_weights`.
        classnames: the C class names, in output order.

    ``encode_image(x)`` gives the normalised image embedding (for distillation or probes).
    """

    def __init__(self, model: nn.Module, weights: Tensor, classnames: Sequence[str]) -> None:
        super().__init__()
        if weights.dim() != 2 or weights.shape[0] != len(classnames):
            raise InvalidArgumentError(f"weights must be (classes, dim) with {len(classnames)} classes, got {tuple(weights.shape)}")
        self.model = model
        self.classnames = tuple(classnames)
        self.register_buffer("weights", weights.float())

    def encode_image(self, x: Tensor) -> Tensor:
        emb = self.model.encode_image(x).float()
        return emb / emb.norm(dim=-1, keepdim=True)

    def forward(self, x: Tensor) -> Tensor:
        logits = self.encode_image(x) @ self.weights.to(x.device).T
        scale = getattr(self.model, "logit_scale", None)
        if scale is not None:
            logits = logits * scale.exp().float()
        bias = getattr(self.model, "logit_bias", None)
        if bias is not None:
            logits = logits + bias.float()
        return logits


def _cache_key(arch: str, pretrained: str | None, classnames: Sequence[str], templates: Sequence[str]) -> dict[str, Any]:
    version = getattr(import_open_clip("zero-shot weights"), "__version__", "?")
    return {"arch": arch, "pretrained": pretrained, "classnames": list(classnames), "templates": list(templates),
            "open_clip": version}


def _cached_weights(path: Path, key: dict[str, Any]) -> Tensor | None:
    """The stored weights when ``path`` holds them for exactly ``key``, else None (logged)."""
    if not path.is_file():
        return None
    from ..hub import load_torch_file

    try:
        stored = load_torch_file(path)
    except Exception as err:  # a torn or foreign file is recomputed, not trusted
        log.warning("zero-shot cache %s unreadable (%s); recomputing", path, err)
        return None
    if not isinstance(stored, dict) or stored.get("key") != key or not isinstance(stored.get("weights"), Tensor):
        log.warning("zero-shot cache %s was made for other settings; recomputing", path)
        return None
    return stored["weights"]


def _weights_for(model: nn.Module, tokenizer: Any, key: dict[str, Any], cache_dir: Path | None,
                 device: torch.device) -> Tensor:
    path = None
    if cache_dir is not None:
        digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]
        path = Path(cache_dir) / "zero_shot" / f"{key['arch']}-{digest}.pt"
        cached = _cached_weights(path, key)
        if cached is not None:
            return cached
    weights = text_weights(model, tokenizer, key["classnames"], key["templates"], device).cpu()
    if path is not None:
        from ..io import atomic_write

        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_write(path) as tmp:
            torch.save({"key": key, "weights": weights}, tmp)
    return weights


def load_open_clip(
    arch: str,
    pretrained: str | None,
    *,
    classnames: Sequence[str] | None = None,
    templates: str | Sequence[str] = "openai",
    cache_dir: str | Path | None = None,
    device: torch.device | str = "cpu",
) -> tuple[ZeroShotClassifier, Preprocess]:
    """``open_clip:ARCH/PRETRAINED`` as a zero-shot classifier and its preprocessing.

    Args:
        arch, pretrained: open_clip's model name and weight tag (``"ViT-B-32"``,
            ``"laion2b_s34b_b79k"``); ``pretrained=None`` builds random weights. Created by
            :func:`stylebias.models.clip.open_clip_model` (unknown names and offline
            weights raise there, naming the fix).
        classnames: the class names, in output order (default: the 16 benchmark categories).
        templates: see :func:`prompt_templates`.
        cache_dir: where the text weights are cached (None: not cached).
    """
    from ..shapebias.categories import CATEGORIES


    names = tuple(classnames) if classnames is not None else tuple(CATEGORIES)
    prompts = prompt_templates(templates)
    model, preprocess = open_clip_model(arch, pretrained)
    model = model.to(device).eval()
    tokenizer = import_open_clip(f"open_clip:{arch}").get_tokenizer(arch)
    key = _cache_key(arch, pretrained, names, prompts)
    weights = _weights_for(model, tokenizer, key, Path(cache_dir) if cache_dir is not None and pretrained else None,
                           torch.device(device))
    return ZeroShotClassifier(model, weights, names).to(device).eval(), preprocess
