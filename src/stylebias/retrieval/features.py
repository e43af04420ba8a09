"""Feature extraction for retrieval, with optional test-time flip fusion.

Flip fusion adds the model's features of an image and of its horizontal mirror and then
L2-normalises the sum (the test-time trick of the common re-id baselines, e.g.
layumi/Person_reID_baseline_pytorch ``test.py``). torchreid's own ``Engine`` extracts features
without flipping and normalises only when asked, which is ``flip=False``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from .._checks import check_shape, check_tensor
from ..errors import DataError, ModelOutputError
from ..runtime import model_placement

__all__ = ["extract_features", "embed_batch"]


def _images_of(batch: Any) -> torch.Tensor:
    """The image tensor of a loader batch: the batch itself, ``batch[0]`` or ``batch["img"]``."""
    if isinstance(batch, dict):
        for key in ("img", "image", "images"):
            if key in batch:
                return batch[key]
        raise DataError(
            f"a dict batch must hold the images under 'img', 'image' or 'images'; "
            f"got keys {sorted(batch)}"
        )
    if isinstance(batch, (tuple, list)):
        if not batch:
            raise DataError("the loader yielded an empty tuple; expected (images, ...)")
        return batch[0]
    return batch


def _features(model: nn.Module, images: torch.Tensor) -> torch.Tensor:
    out = model(images)
    if not isinstance(out, torch.Tensor) or out.dim() != 2 or out.shape[0] != images.shape[0]:
        got = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        raise ModelOutputError(
            f"the model must return features of shape (B, D) = ({images.shape[0]}, D) for a "
            f"batch of {images.shape[0]} images; got {got}. Wrap it so that forward returns "
            "the embedding (e.g. flatten pooled features, or drop extra outputs)."
        )
    return out


@torch.no_grad()
def embed_batch(
    model: nn.Module, images: torch.Tensor, *, flip: bool = False, normalize: bool | None = None
) -> torch.Tensor:
    """Features of one batch: ``f(x)`` or ``f(x) + f(flip(x))``, optionally L2-normalised.

    The model is called as it is (no mode switch); :func:`extract_features` sets eval mode.

    Args:
        model: maps images ``(B, 3, H, W)`` to features ``(B, D)``.
        images: batch, shape ``(B, C, H, W)``, as the model expects (RGB in [0, 1] for
            stylebias models).
        flip: also embed the horizontally flipped images and add the two features.
        normalize: L2-normalise each feature row; ``None`` means "only when ``flip``".

    Returns:
        Features, shape ``(B, D)``, float, on the model's output device.

    Raises:
        ShapeError: ``images`` is not 4-D.
        ModelOutputError: the model does not return a ``(B, D)`` tensor.
    """
    check_shape(images, "B C H W", "images")
    feats = _features(model, images)
    if flip:
        feats = feats + _features(model, torch.flip(images, dims=[3]))
    if flip if normalize is None else normalize:
        feats = F.normalize(feats, p=2, dim=1)
    return feats


def extract_features(
    model: nn.Module,
    loader: Iterable[Any],
    *,
    flip: bool = False,
    normalize: bool | None = None,
    device: torch.device | str | None = None,
) -> torch.Tensor:
    """Embed every image a loader yields, batch by batch, in eval mode and without gradients.

    Every module's ``training`` flag is put back as it was afterwards.

    Args:
        model: maps images ``(B, 3, H, W)`` to features ``(B, D)`` (a classifier's logits work).
        loader: iterable of batches: an image tensor ``(B, 3, H, W)``, a tuple/list whose first
            item is one (e.g. ``(images, pids, camids)``), or a dict with key ``"img"``.
        flip: test-time flip fusion, ``f(x) + f(flip(x))``.
        normalize: L2-normalise the features; ``None`` (default) normalises when ``flip``.
        device: where the images are sent (the model must already be there); default the
            device of the model's first parameter (CPU if it has none).

    Returns:
        Features in loader order, shape ``(N, D)``, float, on CPU.

    Raises:
        DataError: the loader yields nothing or a batch without images.
        ModelOutputError: the model does not return ``(B, D)`` features.

    Example:
        >>> net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(3 * 4 * 2, 5))
        >>> batches = [torch.rand(2, 3, 4, 2), torch.rand(1, 3, 4, 2)]
        >>> extract_features(net, batches, flip=True).shape
        torch.Size([3, 5])
    """
    target = model_placement(model)[0] if device is None else torch.device(device)
    modes = [(m, m.training) for m in model.modules()]
    model.eval()
    chunks = []
    try:
        for batch in loader:
            images = _images_of(batch)
            check_tensor(images, "images")
            chunks.append(embed_batch(model, images.to(target), flip=flip, normalize=normalize).cpu())
    finally:
        for module, training in modes:
            module.training = training
    if not chunks:
        raise DataError("the loader yielded no batch; there is nothing to embed")
    return torch.cat(chunks, 0)
