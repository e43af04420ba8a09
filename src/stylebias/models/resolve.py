"""``resolve_model``: a :class:`LoadedModel` from whatever a caller hands over.

Shape bias, robustness and explanations all accept a spec string, a ``LoadedModel`` or a plain
``nn.Module``; this is the one place that turns each of those into a ``LoadedModel``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from .preprocess import Normalized, Preprocess
from .spec import LoadedModel, ModelSpec, load_model

__all__ = ["resolve_model", "ModelLike"]

ModelLike = str | LoadedModel | nn.Module


def resolve_model(
    model: ModelLike,
    preprocess: Preprocess | Mapping[str, Any] | None = None,
    device: str | torch.device | None = None,
) -> LoadedModel:
    """A :class:`LoadedModel` from a spec string, a LoadedModel or a plain ``nn.Module``.

    A plain module is taken to expect ImageNet-normalised input (like torchvision's models) and
    is wrapped in :class:`~stylebias.models.Normalized` with ``preprocess``'s mean/std. The
    model is moved to ``device`` (when given) and put in eval mode.

    Raises:
        TypeError: ``model`` is none of the three.
    """
    if isinstance(model, str):
        return load_model(model, device=device, preprocess=preprocess)
    if isinstance(model, LoadedModel):
        loaded = model.with_preprocess(preprocess)
    elif isinstance(model, nn.Module):
        pre = Preprocess.coerce(preprocess, Preprocess())
        name = type(model).__name__
        loaded = LoadedModel(Normalized(model, pre.mean, pre.std), pre, ModelSpec("object", name, None, name))
    else:
        raise TypeError(f"model must be a spec string, a LoadedModel or an nn.Module, got {type(model).__name__}")
    if device is not None:
        loaded.model.to(device)
    loaded.model.eval()
    return loaded
