"""What every stylizer offers: the :class:`Stylizer` base, and padding to the networks' grid.

A stylizer maps ``(content, style, alpha)`` to an image of exactly the content's size.
``encode_style`` turns style images into a code that is computed once and reused;
``cat_codes`` stacks codes for one batch; ``stylize_many`` stylizes a batch of images of one
padded size. :class:`~stylebias.stylize.StyleAugment`, the folder runner
(:func:`~stylebias.stylize.stylize_dataset`) and training use only this interface, so AdaIN,
EFDM and the contrastive network are interchangeable there.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .._checks import check_choice, check_prob, check_shape
from ..errors import InvalidArgumentError, ShapeError

__all__ = ["Stylizer", "pad_to_multiple", "padded_size", "MIN_SIDE"]

MIN_SIDE = 16  # relu4_1 of a 16-px image is 2 x 2, the least the reflection padding accepts


def padded_size(
    height: int, width: int, multiple: int = 8, min_side: int = MIN_SIDE
) -> tuple[int, int]:
    """The size :func:`pad_to_multiple` pads an ``height x width`` image to."""
    return (
        max(-(-height // multiple) * multiple, min_side),
        max(-(-width // multiple) * multiple, min_side),
    )


def pad_to_multiple(x: Tensor, multiple: int = 8, min_side: int = MIN_SIDE) -> Tensor:
    """Pad ``(B, C, H, W)`` at the bottom and right to sides that are multiples of ``multiple``
    (at least ``min_side``): reflection where the image is large enough, else edge replication."""
    h, w = x.shape[-2:]
    ph, pw = (a - b for a, b in zip(padded_size(h, w, multiple, min_side), (h, w)))
    if ph == 0 and pw == 0:
        return x
    mode = "reflect" if ph < h and pw < w else "replicate"
    return F.pad(x, (0, pw, 0, ph), mode=mode)


class Stylizer(nn.Module):
    """Base of the style-transfer networks (:class:`~stylebias.stylize.AdaINStylizer`,
    :class:`~stylebias.stylize.ContrastiveStylizer`).

    Subclasses set :attr:`methods`, :attr:`pad_multiple` and :attr:`min_side` and implement
    :meth:`encode_style`, :meth:`cat_codes`, :meth:`_encode_content` and :meth:`_decode`; the
    shared :meth:`stylize_many` and the argument checks live here. Every subclass has a
    ``decoder`` module whose parameters give the network's device and dtype.

    Attributes:
        method: the default feature transform (one of :attr:`methods`).
        methods: the ``method`` names the subclass implements.
        pad_multiple: contents are padded to sides that are multiples of this inside.
        min_side: and to at least this many pixels.
    """

    methods: tuple[str, ...] = ()
    pad_multiple: int = 8
    min_side: int = MIN_SIDE
    method: str
    decoder: nn.Module

    # ------------------------------------------------------------------ interface
    def encode_style(self, style: Tensor, method: str | None = None) -> Any:
        """Code of style images ``(S, 3, H, W)`` in [0, 1], reusable across calls."""
        raise NotImplementedError

    def cat_codes(self, codes: Sequence[Any], size: tuple[int, int]) -> Any:
        """Stack single-style codes into the code of one batch of contents whose padded size
        (:func:`padded_size` with multiple 8) is ``size``."""
        raise NotImplementedError

    def _encode_content(self, padded: Tensor) -> Tensor:
        """Content features of padded images (what :meth:`_decode` takes)."""
        raise NotImplementedError

    def _decode(self, feats: Tensor, style: Any, alpha: Tensor, method: str) -> Tensor:
        """The stylized padded images of content features ``feats``."""
        raise NotImplementedError

    # ------------------------------------------------------------------ shared
    def stylize_many(
        self,
        images: Sequence[Tensor],
        style: Any,
        alpha: float | Tensor = 1.0,
        *,
        method: str | None = None,
    ) -> list[Tensor]:
        """Stylize images of different sizes in one batch; each comes back at its own size.

        Every image is padded to its own grid (as :meth:`forward` does for one image), so the
        result of an image does not depend on which others share its batch. All padded sizes
        must be equal: group images by :func:`padded_size` first. An image passed several
        times (the same tensor object, e.g. one content with several styles) is encoded once.

        Args:
            images: ``B`` RGB tensors ``(3, H_i, W_i)`` in [0, 1] whose padded sizes agree.
            style: a code of ``B`` or 1 styles (:meth:`encode_style`, :meth:`cat_codes`).
            alpha: float or ``(B,)`` tensor in [0, 1].
            method: one of :attr:`methods`; default the stylizer's.

        Returns:
            ``B`` tensors ``(3, H_i, W_i)`` clamped to [0, 1].

        Raises:
            ShapeError: the images' padded sizes differ.
        """
        method = check_choice(method or self.method, self.methods, "method")
        slot: dict[int, int] = {}  # the same tensor object is encoded once
        order = [slot.setdefault(id(x), len(slot)) for x in images]
        unique = list({id(x): x for x in images}.values())
        padded = [self._pad(self._prepare(x.unsqueeze(0), "image")) for x in unique]
        sizes = {tuple(p.shape[-2:]) for p in padded}
        if len(sizes) != 1:
            raise ShapeError(
                f"stylize_many needs images of one padded size; got padded sizes {sorted(sizes)}. "
                "Group the images by padded_size() first."
            )
        feats = self._encode_content(torch.cat(padded))
        if len(unique) < len(images):
            feats = feats[torch.tensor(order, device=feats.device)]
        out = self._decode(feats, style, self._alpha(alpha, len(images), feats.device), method)
        out = out.clamp(0, 1)
        return [o[:, : x.shape[-2], : x.shape[-1]] for o, x in zip(out, images)]

    def _pad(self, images: Tensor) -> Tensor:
        return pad_to_multiple(images, self.pad_multiple, self.min_side)

    def _device_dtype(self) -> tuple[torch.device, torch.dtype]:
        weight = next(self.decoder.parameters())
        return weight.device, weight.dtype

    def _prepare(self, images: Tensor, name: str) -> Tensor:
        check_shape(images, "B 3 H W", name)
        if not images.is_floating_point():
            raise TypeError(f"{name} must be a float tensor in [0, 1], got {images.dtype}")
        device, dtype = self._device_dtype()
        return images.to(device=device, dtype=dtype)

    @staticmethod
    def _alpha(alpha: float | Tensor, batch: int, device: torch.device) -> Tensor:
        if isinstance(alpha, Tensor):
            if alpha.numel() not in (1, batch) or alpha.dim() > 1:
                raise ShapeError(
                    f"alpha must be a float or a ({batch},) tensor, got {tuple(alpha.shape)}"
                )
            if bool(((alpha < 0) | (alpha > 1)).any()):
                raise InvalidArgumentError(f"alpha must lie in [0, 1], got {alpha.tolist()}")
            return alpha.to(device=device, dtype=torch.float32).reshape(-1).expand(batch)
        return torch.full((batch,), check_prob(alpha, "alpha"), device=device)
