"""On-the-fly style augmentation: Stylized-ImageNet training without the stylized copy on disk."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from .._checks import check_choice, check_prob, check_shape
from ..errors import DataError, InvalidArgumentError
from ..io import list_images
from .base import Stylizer, padded_size
from .dataset import DEFAULT_MAX_PIXELS, load_resized
from .stylizer import AdaINStylizer  # noqa: F401 - the docstring example uses it

__all__ = ["StyleAugment", "sample_fraction"]


def sample_fraction(batch: int, fraction: float, generator: torch.Generator | None = None) -> Tensor:
    """Indices of ``fraction * batch`` samples of a batch, drawn without replacement.

    The count is ``floor(fraction * batch)`` plus one with probability equal to the
    fractional part (one Bernoulli draw, only when there is a fractional part), so the
    expected count is exact; then one ``randperm`` picks which.

    Args:
        batch: the batch size ``B``.
        fraction: share of the batch, in [0, 1] (a fraction, not percent).
        generator: CPU generator for both draws.

    Returns:
        ``(k,)`` sorted int64 indices on the CPU.
    """
    exact = check_prob(fraction, "fraction") * batch
    k = int(exact)
    if exact - k > 0 and bool(torch.rand((), generator=generator) < exact - k):
        k += 1
    return torch.randperm(batch, generator=generator)[:k].sort().values


class StyleAugment(nn.Module):
    """Stylize a random fraction of each batch with random styles, on the batch's device.

    Each call picks ``fraction * B`` samples (the fractional part by one Bernoulli draw, so the
    expected fraction is exact), draws a style image for each from the pool, and replaces
    them with their stylization. Style images are decoded and encoded once, on first use, and
    their codes cached on the stylizer's device. Runs without gradients; identity in
    ``eval()`` mode or when ``fraction == 0``.

    Args:
        stylizer: any :class:`~stylebias.stylize.base.Stylizer`: an :class:`AdaINStylizer`
            (e.g. ``AdaINStylizer.pretrained().cuda()``) or a ``ContrastiveStylizer``.
        styles: a folder of style images, a list of image paths, or a tensor of style images
            ``(S, 3, H, W)`` in [0, 1].
        fraction: share of each batch to stylize, in [0, 1].
        alpha: degree of stylization: a float in [0, 1], or ``(low, high)`` to draw one
            uniformly per stylized sample.
        style_size: shorter side the style files are resized to (0: keep).
        method: one of the stylizer's ``methods`` (AdaIN's: ``"adain"``, ``"efdm"``); default
            the stylizer's.
        extensions: file suffixes when ``styles`` is a folder.
        max_pixels: style files with more pixels are downscaled while decoding, which bounds
            the encoder's memory (see :data:`~stylebias.stylize.dataset.DEFAULT_MAX_PIXELS`).
        generator: ``torch.Generator`` for the draws (CPU).

    Example:
        >>> aug = StyleAugment(AdaINStylizer(), torch.rand(4, 3, 32, 32), fraction=0.5)
        >>> aug(torch.rand(8, 3, 32, 32)).shape
        torch.Size([8, 3, 32, 32])
    """

    def __init__(
        self,
        stylizer: Stylizer,
        styles: str | os.PathLike[str] | Sequence[str | os.PathLike[str]] | Tensor,
        fraction: float = 0.5,
        alpha: float | tuple[float, float] = 1.0,
        *,
        style_size: int = 512,
        method: str | None = None,
        extensions: Sequence[str] | None = None,
        max_pixels: int = DEFAULT_MAX_PIXELS,
        generator: torch.Generator | None = None,
    ) -> None:
        super().__init__()
        if not isinstance(stylizer, Stylizer):
            raise TypeError(
                f"stylizer must be a Stylizer (AdaINStylizer, ContrastiveStylizer), got "
                f"{type(stylizer).__name__}"
            )
        self.stylizer = stylizer
        self.fraction = check_prob(fraction, "fraction")
        self.alpha = self._check_alpha(alpha)
        self.style_size, self.max_pixels = int(style_size), int(max_pixels)
        self.method = check_choice(method or stylizer.method, stylizer.methods, "method")
        self.generator = generator
        self._codes: dict[int, Any] = {}
        if isinstance(styles, Tensor):
            check_shape(styles, "S 3 H W", "styles")
            self._images: Tensor | None = styles
            self._paths: list[Path] = []
        else:
            self._images = None
            if isinstance(styles, (str, os.PathLike)):
                self._paths = list_images(styles, extensions)
            else:
                self._paths = [Path(p) for p in styles]
            if not self._paths:
                raise DataError("styles must name at least one style image")

    @staticmethod
    def _check_alpha(alpha: Any) -> tuple[float, float]:
        if isinstance(alpha, (tuple, list)):
            if len(alpha) != 2:
                raise InvalidArgumentError(f"alpha must be a float or (low, high); got {alpha!r}")
            low, high = check_prob(alpha[0], "alpha[0]"), check_prob(alpha[1], "alpha[1]")
            if low > high:
                raise InvalidArgumentError(f"alpha range must have low <= high; got {alpha!r}")
            return low, high
        a = check_prob(alpha, "alpha")
        return a, a

    def __len__(self) -> int:
        """Number of style images in the pool."""
        return len(self._paths) if self._images is None else self._images.shape[0]

    def sample_params(
        self, x: Tensor, generator: torch.Generator | None = None
    ) -> dict[str, Tensor]:
        """Draw which samples are stylized, with which style and alpha.

        Returns:
            ``{"index": (k,), "style": (k,), "alpha": (k,)}`` on the CPU.
        """
        gen = generator if generator is not None else self.generator
        index = sample_fraction(x.shape[0], self.fraction, gen)
        k = index.numel()
        style = torch.randint(len(self), (k,), generator=gen)
        low, high = self.alpha
        alpha = low + (high - low) * torch.rand(k, generator=gen)
        return {"index": index, "style": style, "alpha": alpha}

    def _code(self, i: int) -> Any:
        code = self._codes.get(i)
        if code is None:
            if self._images is not None:
                image = self._images[i : i + 1].float()
            else:
                image = load_resized(self._paths[i], self.style_size, 0, self.max_pixels)
                image = image.unsqueeze(0).float().div_(255)
            code = self.stylizer.encode_style(image, self.method)
            self._codes[i] = code
        return code

    def forward(self, x: Tensor, params: dict[str, Tensor] | None = None) -> Tensor:
        """``x`` ``(B, 3, H, W)`` in [0, 1] with ``fraction`` of its samples stylized.

        Returns a new tensor of ``x``'s dtype and device; the other samples are unchanged.
        """
        check_shape(x, "B 3 H W", "x")
        if not self.training or self.fraction == 0.0:
            return x
        params = params if params is not None else self.sample_params(x)
        index = params["index"]
        if index.numel() == 0:
            return x
        size = padded_size(x.shape[-2], x.shape[-1])
        code = self.stylizer.cat_codes([self._code(int(s)) for s in params["style"]], size)
        with torch.no_grad():
            styled = self.stylizer(x[index.to(x.device)], code, params["alpha"], method=self.method)
        out = x.detach().clone()
        out[index.to(x.device)] = styled.to(dtype=x.dtype, device=x.device)
        return out

    def extra_repr(self) -> str:
        return (f"styles={len(self)}, fraction={self.fraction}, alpha={self.alpha}, "
                f"method={self.method!r}")  # fmt: skip
