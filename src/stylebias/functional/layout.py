"""Feature layouts: run the ``(B, C, H, W)`` style functions on token and channels-last features.

Every function in :mod:`stylebias.functional.style` works on ``(B, C, H, W)`` maps, with
statistics over H x W per sample and channel. Transformers and some modern CNNs hand over
other layouts:

* ``"nchw"``: ``(B, C, H, W)`` maps (ResNets, the stage outputs of ConvNeXt);
* ``"nhwc"``: ``(B, H, W, C)`` channels-last maps (Swin stage outputs in timm and torchvision,
  the inside of a timm ConvNeXt block with ``conv_mlp=False``);
* ``"tokens"``: ``(B, N, C)`` token sequences (ViT, DeiT, the original Swin code), whose first
  ``prefix_tokens`` tokens (class token, DeiT's distillation token, register tokens) are no
  image positions: they take no part in the statistics and pass through unchanged.

:func:`to_maps` views such features as ``(B, C, H, W)`` (no copy; tokens become an N x 1 map,
so the statistics run over the tokens of each channel) and :func:`from_maps` puts a result
back. :func:`apply_in_layout` wraps one function call between the two; the style layers
do the same in :meth:`stylebias.layers.StyleLayer.forward`, so no operation exists twice.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from .._checks import check_choice, check_tensor
from ..errors import InvalidArgumentError, ShapeError

__all__ = ["LAYOUTS", "check_layout", "to_maps", "from_maps", "apply_in_layout"]

LAYOUTS = ("nchw", "nhwc", "tokens")

_SHAPES = {"nchw": "(B, C, H, W)", "nhwc": "(B, H, W, C)", "tokens": "(B, N, C)"}

# what to pass instead, by the number of dimensions that arrived
_HINTS = {
    2: "it has no spatial or token axis left (pooled features?); attach the layer before the pooling",
    3: "for transformer tokens (B, N, C) use layout='tokens' (class/distillation tokens stay "
    "untouched: prefix_tokens, read from the model by stylebias.attach), e.g. preset='vit'",
    4: "for (B, C, H, W) maps use layout='nchw', for channels-last (B, H, W, C) maps (Swin "
    "stages, inside ConvNeXt blocks) layout='nhwc'",
}


def check_layout(x: Tensor, layout: str, name: str = "x", prefix_tokens: int | None = 0) -> None:
    """Check that ``x`` can be in ``layout``; the message names the layout to use instead.

    Args:
        x: the features.
        layout: one of :data:`LAYOUTS`.
        name: how the message refers to ``x`` (e.g. ``"MixStyle attached after 'blocks.2'"``).
        prefix_tokens: leading non-image tokens of a ``"tokens"`` input; None means unknown,
            which is an error for that layout.

    Raises:
        TypeError: ``x`` is not a tensor.
        InvalidArgumentError: unknown ``layout``; ``prefix_tokens`` unknown or negative for
            ``"tokens"``.
        ShapeError: ``x`` has the wrong number of dimensions for ``layout``, or no image
            token after the prefix.
    """
    check_tensor(x, name)
    check_choice(layout, LAYOUTS, "layout")
    want = 3 if layout == "tokens" else 4
    if x.dim() != want:
        hint = _HINTS.get(x.dim(), "pass a feature map or token sequence")
        raise ShapeError(
            f"{name} got a {x.dim()}-D tensor of shape {tuple(x.shape)}, but its layout is "
            f"{layout!r}, which expects {_SHAPES[layout]}; {hint}"
        )
    if layout != "tokens":
        return
    if prefix_tokens is None:
        raise InvalidArgumentError(
            f"{name} has layout='tokens' but does not know how many class/distillation tokens "
            "lead the sequence; pass prefix_tokens=1 (ViT class token), 2 (DeiT with "
            "distillation token) or 0 (none), or attach the layer with stylebias.attach, "
            "which reads it from the model (timm's num_prefix_tokens, torchvision's class token)"
        )
    if isinstance(prefix_tokens, bool) or not isinstance(prefix_tokens, int) or prefix_tokens < 0:
        raise InvalidArgumentError(f"prefix_tokens must be an int >= 0, got {prefix_tokens!r}")
    if x.shape[1] <= prefix_tokens:
        raise ShapeError(
            f"{name} got {x.shape[1]} tokens (shape {tuple(x.shape)}) but prefix_tokens="
            f"{prefix_tokens}: no image token is left to take statistics over; check prefix_tokens"
        )


def to_maps(x: Tensor, layout: str, prefix_tokens: int | None = 0, name: str = "x") -> Tensor:
    """View ``x`` as ``(B, C, H, W)`` maps, without copying.

    Args:
        x: ``(B, C, H, W)``, ``(B, H, W, C)`` or ``(B, N, C)``, as ``layout`` says.
        layout: one of :data:`LAYOUTS`.
        prefix_tokens: for ``"tokens"``, the leading tokens to leave out (class token, ...).
        name: how error messages refer to ``x``.

    Returns:
        ``(B, C, H, W)``; for tokens ``(B, C, N - prefix_tokens, 1)``. A permuted view of ``x``
        (channels-last strides for ``"nhwc"``), which the style functions keep.

    Raises:
        ShapeError, InvalidArgumentError: see :func:`check_layout`.

    Example:
        >>> to_maps(torch.randn(2, 5, 8), "tokens", prefix_tokens=1).shape
        torch.Size([2, 8, 4, 1])
    """
    check_layout(x, layout, name, prefix_tokens)
    if layout == "nhwc":
        return x.permute(0, 3, 1, 2)
    if layout == "tokens":
        return x[:, prefix_tokens:].transpose(1, 2).unsqueeze(-1)
    return x


def from_maps(maps: Tensor, x: Tensor, layout: str, prefix_tokens: int | None = 0) -> Tensor:
    """Put ``maps`` (the result of an op on ``to_maps(x, ...)``) back into ``x``'s layout.

    Args:
        maps: ``(B, C, H, W)`` (``(B, C, N - prefix_tokens, 1)`` for tokens).
        x: the original features; for ``"tokens"`` its prefix tokens are copied unchanged
            (their gradient flows straight through).
        layout: the layout ``maps`` was made from.
        prefix_tokens: as given to :func:`to_maps`.

    Returns:
        A tensor of ``x``'s shape.
    """
    if layout == "nhwc":
        return maps.permute(0, 2, 3, 1)
    if layout == "tokens":
        tokens = maps.squeeze(-1).transpose(1, 2)
        return torch.cat([x[:, :prefix_tokens], tokens], dim=1) if prefix_tokens else tokens
    return maps


def apply_in_layout(
    fn: Callable[[Tensor], Tensor], x: Tensor, layout: str, prefix_tokens: int | None = 0
) -> Tensor:
    """``fn`` (a function of ``(B, C, H, W)`` maps) applied to features in ``layout``.

    Args:
        fn: e.g. ``lambda m: mixstyle(m, perm, lam)``.
        x: features in ``layout``.
        layout: one of :data:`LAYOUTS`.
        prefix_tokens: for ``"tokens"``, leading tokens left unchanged.

    Returns:
        ``fn``'s result in ``x``'s layout and shape.

    Example:
        >>> from stylebias.functional import mixstyle
        >>> tokens = torch.randn(4, 17, 32)  # class token + 16 patches, 32 channels
        >>> perm, lam = torch.tensor([1, 0, 3, 2]), torch.full((4,), 0.5)
        >>> out = apply_in_layout(lambda m: mixstyle(m, perm, lam), tokens, "tokens", 1)
        >>> torch.equal(out[:, 0], tokens[:, 0])
        True
    """
    if not callable(fn):
        raise InvalidArgumentError(f"fn must be a function of (B, C, H, W) maps, got {type(fn).__name__}")
    maps = to_maps(x, layout, prefix_tokens)
    return from_maps(fn(maps), x, layout, prefix_tokens)
