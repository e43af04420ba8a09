"""Style-attentional networks (SANet) and the two-level transform of the contrastive stylizer.

The modules and their attribute names are those of HalbertCH/IEContraAST (``net.py``, itself
built on SANet's code), so the released ``transformer_iter_*.pth`` loads as it is: its keys are
``sanet4_1.{f,g,h,out_conv}.{weight,bias}``, ``sanet5_1.…`` and ``merge_conv.{weight,bias}``.

A style enters the attention as :class:`StyleKeys`: its flattened features with their channel
statistics, so styles of different sizes can share a batch (shorter ones are padded and the
padding is masked out of the softmax) and a style is encoded once for any number of contents.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..functional import instance_stats

__all__ = ["SANet", "Transform", "StyleKeys", "mean_variance_norm", "TRANSFORM_KEYS"]

#: The state_dict keys of the released ``transformer_iter_*.pth``.
TRANSFORM_KEYS = tuple(
    f"{level}.{conv}.{p}" for level in ("sanet4_1", "sanet5_1")
    for conv in ("f", "g", "h", "out_conv") for p in ("weight", "bias")
) + ("merge_conv.weight", "merge_conv.bias")  # fmt: skip


def mean_variance_norm(feat: Tensor, eps: float = 1e-5) -> Tensor:
    """``(feat - mean) / sqrt(var + eps)`` per sample and channel (unbiased variance), as the
    reference's ``mean_variance_norm``; ``(B, C, H, W)`` in, same shape and dtype out."""
    mean, std = instance_stats(feat, eps)
    return ((feat - mean) / std).to(feat.dtype)


def _tokens(x: Tensor) -> Tensor:
    """``(B, C, H, W)`` -> ``(B, H*W, C)``; a view for channels_last input."""
    return x.permute(0, 2, 3, 1).reshape(x.shape[0], -1, x.shape[1])


def _pointwise(conv: nn.Conv2d, tokens: Tensor) -> Tensor:
    """A 1x1 convolution applied to ``(B, N, C)`` tokens (the same arithmetic as the conv)."""
    return F.linear(tokens, conv.weight.flatten(1), conv.bias)


@dataclass(frozen=True)
class StyleKeys:
    """Style features at one VGG level, ready for attention.

    Attributes:
        tokens: features ``(S, M, C)`` (position-major), in the network's dtype.
        mean: channel means ``(S, 1, C)``, float32.
        std: channel standard deviations ``(S, 1, C)`` (unbiased, ``sqrt(var + 1e-5)``), float32.
        mask: ``(S, M)`` bool, True at real positions; None when no style is padded.
    """

    tokens: Tensor
    mean: Tensor
    std: Tensor
    mask: Tensor | None = None

    @staticmethod
    def from_features(feat: Tensor) -> StyleKeys:
        """Keys of style features ``(S, C, H, W)``."""
        mean, std = instance_stats(feat)
        return StyleKeys(_tokens(feat), mean.flatten(1).unsqueeze(1), std.flatten(1).unsqueeze(1))

    def __len__(self) -> int:
        return self.tokens.shape[0]

    def to(self, device: torch.device | str) -> StyleKeys:
        """The same keys on ``device``."""
        mask = None if self.mask is None else self.mask.to(device)
        return StyleKeys(self.tokens.to(device), self.mean.to(device), self.std.to(device), mask)

    def valid(self) -> Tensor:
        """The mask, or all True when nothing is padded: ``(S, M)``."""
        if self.mask is not None:
            return self.mask
        return torch.ones(self.tokens.shape[:2], dtype=torch.bool, device=self.tokens.device)

    @staticmethod
    def cat(keys: Sequence[StyleKeys]) -> StyleKeys:
        """Stack keys of several styles; shorter ones are zero-padded and masked."""
        longest = max(k.tokens.shape[1] for k in keys)
        mean = torch.cat([k.mean for k in keys])
        std = torch.cat([k.std for k in keys])
        if all(k.tokens.shape[1] == longest and k.mask is None for k in keys):
            return StyleKeys(torch.cat([k.tokens for k in keys]), mean, std)
        tokens = torch.cat([F.pad(k.tokens, (0, 0, 0, longest - k.tokens.shape[1])) for k in keys])
        mask = torch.cat([F.pad(k.valid(), (0, longest - k.tokens.shape[1])) for k in keys])
        return StyleKeys(tokens, mean, std, mask)

    def nbytes(self) -> int:
        """Memory the keys take, in bytes."""
        extra = 0 if self.mask is None else self.mask.numel()
        stats = 2 * self.mean.numel() * self.mean.element_size()
        return self.tokens.numel() * self.tokens.element_size() + stats + extra


class SANet(nn.Module):
    """Style-attentional block: each content position takes a softmax-weighted sum of style
    features, weighted by the similarity of the normalised content and style features.

    ``out = content + out_conv(h(s) · softmax(f(mvn(c))ᵀ g(mvn(s))))`` with 1x1 convolutions
    ``f, g, h, out_conv`` (``C -> C``) and ``mvn`` the mean-variance normalisation.

    Args:
        in_planes: channels ``C`` (512 at relu4_1 and relu5_1).

    Reference:
        Park & Lee, "Arbitrary Style Transfer with Style-Attentional Networks", CVPR 2019,
        arXiv:1812.02342.
    """

    def __init__(self, in_planes: int = 512) -> None:
        super().__init__()
        self.f = nn.Conv2d(in_planes, in_planes, (1, 1))
        self.g = nn.Conv2d(in_planes, in_planes, (1, 1))
        self.h = nn.Conv2d(in_planes, in_planes, (1, 1))
        self.out_conv = nn.Conv2d(in_planes, in_planes, (1, 1))

    def forward(self, content: Tensor, style: Tensor | StyleKeys) -> Tensor:
        """``content`` ``(B, C, H, W)``, ``style`` ``(B, C, H', W')`` or :class:`StyleKeys` of
        ``B`` or 1 styles -> ``(B, C, H, W)``, channels_last."""
        keys = style if isinstance(style, StyleKeys) else StyleKeys.from_features(style)
        batch, channels, height, width = content.shape
        query = _pointwise(self.f, _tokens(mean_variance_norm(content)))
        tokens = keys.tokens.to(content.dtype)  # a code may come from before a dtype change
        normed = ((tokens.to(keys.mean.dtype) - keys.mean) / keys.std).to(content.dtype)
        key = _pointwise(self.g, normed)
        value = _pointwise(self.h, tokens)
        mask = None if keys.mask is None else keys.mask[:, None, :]
        if len(keys) != batch:  # one style for every content image
            key, value = key.expand(batch, -1, -1), value.expand(batch, -1, -1)
            mask = None if mask is None else mask.expand(batch, -1, -1)
        # softmax(q kᵀ) v without a 1/sqrt(C) scale, as the reference; fused, float32 softmax
        out = F.scaled_dot_product_attention(query, key, value, attn_mask=mask, scale=1.0)
        out = _pointwise(self.out_conv, out) + _tokens(content)
        return out.view(batch, height, width, channels).permute(0, 3, 1, 2)


class Transform(nn.Module):
    """Two SANets, at relu4_1 and relu5_1; the relu5_1 result is upsampled (nearest) to the
    relu4_1 size, added, and merged by a reflection-padded 3x3 convolution.

    Args:
        in_planes: channels of both levels (512).
    """

    def __init__(self, in_planes: int = 512) -> None:
        super().__init__()
        self.sanet4_1 = SANet(in_planes)
        self.sanet5_1 = SANet(in_planes)
        self.merge_conv_pad = nn.ReflectionPad2d((1, 1, 1, 1))
        self.merge_conv = nn.Conv2d(in_planes, in_planes, (3, 3))

    def forward(
        self,
        content4_1: Tensor,
        style4_1: Tensor | StyleKeys,
        content5_1: Tensor,
        style5_1: Tensor | StyleKeys,
    ) -> Tensor:
        """Content features at both levels ``(B, C, H4, W4)``, ``(B, C, H5, W5)`` and the
        style's (tensors or :class:`StyleKeys`) -> ``(B, C, H4, W4)``."""
        up = F.interpolate(self.sanet5_1(content5_1, style5_1), size=content4_1.shape[-2:],
                           mode="nearest")  # fmt: skip
        merged = self.sanet4_1(content4_1, style4_1) + up
        return self.merge_conv(self.merge_conv_pad(merged))
