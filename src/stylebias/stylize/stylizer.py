"""The AdaIN/EFDM style-transfer network as one module: ``stylizer(content, style, alpha)``."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor, nn

from .._checks import check_choice
from ..errors import DataError, InvalidArgumentError, MissingFileError, ShapeError
from ..functional import instance_stats, match_sorted, restyle
from ..functional.efdm import _resample_sorted
from ..hub import load_torch_file
from .base import MIN_SIDE, Stylizer, pad_to_multiple, padded_size
from .color import coral
from .network import VGGEncoder, build_decoder, build_vgg

__all__ = [
    "AdaINStylizer",
    "StyleCode",
    "METHODS",
    "pad_to_multiple",
    "padded_size",
    "feature_positions",
    "load_state_file",
]

METHODS = ("adain", "efdm")


@dataclass(frozen=True)
class StyleCode:
    """Encoded style images: what the stylizer needs of a style, computed once and reused.

    Attributes:
        mean: relu4_1 channel means ``(S, 512, 1, 1)``, float32.
        std: relu4_1 channel standard deviations ``(S, 512, 1, 1)`` (unbiased, ``sqrt(var+eps)``).
        values: relu4_1 values sorted per channel ``(S, 512, M)``, for ``method="efdm"``; None
            when encoded for AdaIN only.
    """

    mean: Tensor
    std: Tensor
    values: Tensor | None = None

    def __len__(self) -> int:
        return self.mean.shape[0]

    def to(self, device: torch.device | str) -> StyleCode:
        """The same code on ``device``."""
        vals = None if self.values is None else self.values.to(device)
        return StyleCode(self.mean.to(device), self.std.to(device), vals)

    def __getitem__(self, index: int | slice | Tensor) -> StyleCode:
        if isinstance(index, int):
            index = slice(index, index + 1)
        vals = None if self.values is None else self.values[index]
        return StyleCode(self.mean[index], self.std[index], vals)

    @staticmethod
    def cat(codes: Sequence[StyleCode], length: int | None = None) -> StyleCode:
        """Stack codes into one batch; sorted values are resampled to ``length`` quantiles when
        given (needed when the styles had different sizes)."""
        mean = torch.cat([c.mean for c in codes])
        std = torch.cat([c.std for c in codes])
        if any(c.values is None for c in codes):
            return StyleCode(mean, std)
        vals = [c.values if length is None else _resample_sorted(c.values, length) for c in codes]
        return StyleCode(mean, std, torch.cat(vals))

    def nbytes(self) -> int:
        """Memory the code takes, in bytes."""
        extra = 0 if self.values is None else self.values.numel() * self.values.element_size()
        return 2 * self.mean.numel() * self.mean.element_size() + extra


def feature_positions(height: int, width: int) -> int:
    """Number of relu4_1 positions of an ``height x width`` content (after padding)."""
    ph, pw = padded_size(height, width)
    return (ph // 8) * (pw // 8)


_ADAIN_HINT = (
    "pass the path of the published file (naoto0804/pytorch-AdaIN release v0.0.0), or leave "
    "both weight paths unset to use the published weights from the cache "
    "(AdaINStylizer.pretrained())"
)


def load_state_file(
    path: str | os.PathLike[str], what: str, hint: str = _ADAIN_HINT
) -> dict[str, Tensor]:
    """:func:`~stylebias.hub.load_torch_file` (``weights_only=True``) of a state_dict, with
    errors naming the file; ``hint`` says where the file comes from when it is missing."""
    path = Path(path)
    if not path.is_file():
        raise MissingFileError(f"{what} weights not found at {str(path)!r}; {hint}")
    state = load_torch_file(path, what=f"{what} weights")
    if not isinstance(state, dict):
        raise DataError(
            f"{what} weights {str(path)!r} must hold a state_dict, got {type(state).__name__}"
        )
    return state


def _load_into(module: nn.Module, state: dict[str, Tensor], what: str, path: object) -> None:
    try:
        module.load_state_dict(state, assign=True)
    except RuntimeError as err:
        raise DataError(
            f"{what} weights {path!s} do not fit the published AdaIN layout "
            f"({len(module)} modules, keys by module index such as '0.weight'): {err}"
        ) from None


class AdaINStylizer(Stylizer):
    """Arbitrary style transfer with AdaIN or EFDM: VGG-19 encoder, feature transform, decoder.

    ``stylizer(content, style, alpha)`` encodes both images to relu4_1, gives the content
    features the style's statistics (AdaIN: channel mean and std; EFDM: the whole sorted value
    distribution), blends with the content features by ``alpha`` and decodes. The output has
    exactly the content's height and width: the content is padded to a multiple of 8 inside
    and the result cropped back.

    Args:
        vgg: the full normalised VGG-19 (:func:`~stylebias.stylize.network.build_vgg`); default:
            random weights.
        decoder: the decoder (:func:`~stylebias.stylize.network.build_decoder`); default: random.
        method: default feature transform, ``"adain"`` or ``"efdm"``.

    Reference:
        Huang & Belongie, "Arbitrary Style Transfer in Real-time with Adaptive Instance
        Normalization", ICCV 2017, arXiv:1703.06868; Zhang et al., "Exact Feature Distribution
        Matching for Arbitrary Style Transfer and Domain Generalization", CVPR 2022.

    Example:
        >>> st = AdaINStylizer().eval()
        >>> st(torch.rand(2, 3, 30, 20), torch.rand(1, 3, 32, 32)).shape
        torch.Size([2, 3, 30, 20])
    """

    methods = METHODS

    def __init__(
        self,
        vgg: nn.Sequential | None = None,
        decoder: nn.Sequential | None = None,
        *,
        method: str = "adain",
    ) -> None:
        super().__init__()
        self.method = check_choice(method, self.methods, "method")
        self.encoder = VGGEncoder(vgg if vgg is not None else build_vgg())
        self.decoder = decoder if decoder is not None else build_decoder()
        self.encoder.requires_grad_(False)
        self.to(memory_format=torch.channels_last)  # channels_last convs: ~1.35x on the CPU (oneDNN)
        self.eval()

    @classmethod
    def from_files(
        cls, vgg: str | os.PathLike[str], decoder: str | os.PathLike[str], *, method: str = "adain"
    ) -> AdaINStylizer:
        """Load the published ``vgg_normalised.pth`` and ``decoder.pth`` (or files in their layout).

        Raises:
            MissingFileError: a file does not exist.
            DataError: a file is not a state_dict of the published layout.
        """
        states = load_state_file(vgg, "VGG encoder"), load_state_file(decoder, "decoder")
        with torch.device("meta"):  # no random init of 20M parameters that are overwritten
            net_vgg, net_dec = build_vgg(), build_decoder()
        _load_into(net_vgg, states[0], "VGG encoder", vgg)
        _load_into(net_dec, states[1], "decoder", decoder)
        return cls(net_vgg, net_dec, method=method)

    @classmethod
    def pretrained(
        cls,
        cache_dir: str | os.PathLike[str] | None = None,
        *,
        download: bool = True,
        method: str = "adain",
    ) -> AdaINStylizer:
        """The published AdaIN weights, downloaded into the cache on first use and verified.

        Files: ``vgg_normalised.pth`` (80,102,481 bytes) and ``decoder.pth`` (14,023,458 bytes)
        of naoto0804/pytorch-AdaIN release v0.0.0, checked by sha256 (artifacts
        ``"adain-vgg"`` and ``"adain-decoder"`` of :mod:`stylebias.hub`).

        Raises:
            MissingFileError: offline (or ``download=False``) and a file is not in the cache;
                the message says where to put it.
            IntegrityError: a file does not have the published sha256.
        """
        from ..hub import download as fetch  # imported here: the hub is only needed for this

        paths = [fetch(name, cache_dir=cache_dir, download=download) for name in
                 ("adain-vgg", "adain-decoder")]  # fmt: skip
        return cls.from_files(paths[0], paths[1], method=method)

    # ------------------------------------------------------------------ encoding
    def encode(self, images: Tensor) -> Tensor:
        """relu4_1 features of RGB images ``(B, 3, H, W)`` in [0, 1] (padded to at least 16 px)."""
        images = self._prepare(images, "images")
        h, w = images.shape[-2:]
        if h < MIN_SIDE or w < MIN_SIDE:
            images = pad_to_multiple(images, 1)
        return self.encoder(images)

    def encode_style(self, style: Tensor, method: str | None = None) -> StyleCode:
        """Encode style images once, for reuse in any number of calls.

        Args:
            style: RGB ``(S, 3, H, W)`` in [0, 1].
            method: ``"adain"`` keeps channel mean/std only; ``"efdm"`` also the sorted values.
                Default: the stylizer's method.

        Returns:
            A :class:`StyleCode` of ``S`` styles.
        """
        method = check_choice(method or self.method, self.methods, "method")
        with torch.no_grad():
            return self._code(self.encode(style), method)

    def cat_codes(self, codes: Sequence[StyleCode], size: tuple[int, int]) -> StyleCode:
        """:meth:`StyleCode.cat` of the codes; EFDM's sorted values are resampled to the
        relu4_1 positions of contents of padded size ``size``."""
        return StyleCode.cat(codes, length=feature_positions(*size))

    def _encode_content(self, padded: Tensor) -> Tensor:
        return self.encoder(padded)

    @staticmethod
    def _code(feats: Tensor, method: str) -> StyleCode:
        mean, std = instance_stats(feats)
        values = torch.sort(feats.flatten(2), dim=-1).values if method == "efdm" else None
        return StyleCode(mean, std, values)

    # ------------------------------------------------------------------ transfer
    def forward(
        self,
        content: Tensor,
        style: Tensor | StyleCode,
        alpha: float | Tensor = 1.0,
        *,
        interpolation_weights: Sequence[float] | Tensor | None = None,
        preserve_color: bool = False,
        method: str | None = None,
        clamp: bool = True,
    ) -> Tensor:
        """Stylize ``content`` with ``style``.

        Args:
            content: RGB ``(B, 3, H, W)`` in [0, 1].
            style: RGB ``(B, 3, H', W')`` or ``(1, 3, H', W')`` in [0, 1] (any size), or a
                :class:`StyleCode` of ``B`` or 1 styles from :meth:`encode_style`. With
                ``interpolation_weights`` it holds ``K`` styles that are blended.
            alpha: degree of stylization in [0, 1] (0: the content reconstructed, 1: full
                style); a float or a ``(B,)`` tensor.
            interpolation_weights: ``K`` non-negative weights (normalised to sum 1) blending
                the ``K`` styles; every content image gets the same blend.
            preserve_color: re-colour each style image like its content image first (CORAL),
                so the output keeps the content's colours. Needs style images, not a code.
            method: ``"adain"`` or ``"efdm"``; default the stylizer's.
            clamp: clamp the output to [0, 1].

        Returns:
            ``(B, 3, H, W)``: exactly the content's size, on the stylizer's device.

        Raises:
            ShapeError: bad shapes or batch sizes.
            InvalidArgumentError: ``alpha`` outside [0, 1], bad weights, or
                ``preserve_color`` with a pre-encoded style.
        """
        method = check_choice(method or self.method, self.methods, "method")
        content = self._prepare(content, "content")
        batch, _, height, width = content.shape
        alpha_t = self._alpha(alpha, batch, content.device)
        weights = self._weights(interpolation_weights, style, content.device)
        if not isinstance(style, StyleCode):
            style = self._prepare(style, "style")
            if weights is None and style.shape[0] not in (1, batch):
                raise ShapeError(
                    f"style must hold {batch} images (one per content image) or 1; got "
                    f"{tuple(style.shape)} for content {tuple(content.shape)}"
                )
            if preserve_color:
                if weights is not None:
                    style = torch.cat([coral(s.expand(batch, -1, -1, -1), content)
                                       for s in style.split(1)])  # fmt: skip
                else:
                    style = coral(style.expand(batch, -1, -1, -1), content)
        elif preserve_color:
            raise InvalidArgumentError(
                "preserve_color=True needs the style images (they are re-coloured per content "
                "image), not a pre-encoded StyleCode"
            )
        per_content = preserve_color and weights is not None
        feats = self.encoder(self._pad(content))
        out = self._decode(feats, style, alpha_t, method, weights, per_content)
        out = out[..., :height, :width]
        return out.clamp(0, 1) if clamp else out

    def _decode(
        self,
        feats: Tensor,
        style: Tensor | StyleCode,
        alpha: Tensor,
        method: str,
        weights: Tensor | None = None,
        per_content: bool = False,
    ) -> Tensor:
        target = self._transfer(feats, style, method, weights, per_content)
        blended = feats + alpha.view(-1, 1, 1, 1).to(feats.dtype) * (target - feats)
        return self.decoder(blended.contiguous(memory_format=torch.channels_last)).contiguous()

    def _transfer(
        self,
        feats: Tensor,
        style: Tensor | StyleCode,
        method: str,
        weights: Tensor | None,
        per_content_styles: bool,
    ) -> Tensor:
        batch = feats.shape[0]
        if not isinstance(style, StyleCode):
            code = self._code(self.encode(style), method)
        elif method == "efdm" and style.values is None:
            raise InvalidArgumentError(
                "method='efdm' needs a StyleCode encoded with method='efdm' (sorted values); "
                "this one holds mean and std only"
            )
        else:
            code = style
        code = code.to(feats.device)
        n = feats.shape[-2] * feats.shape[-1]
        if weights is not None:  # blend K styles: linear in the statistics, as in test.py
            k = weights.numel()
            groups = batch if per_content_styles else 1  # colour-preserved: K*B codes, k-major

            def blend(t: Tensor) -> Tensor:
                t = t.reshape(k, groups, *t.shape[1:])
                return (t * weights.view(k, *([1] * (t.dim() - 1)))).sum(0)

            vals = None if method != "efdm" else blend(_resample_sorted(code.values, n))
            code = StyleCode(blend(code.mean), blend(code.std), vals)
        if len(code) not in (1, batch):
            raise ShapeError(f"the style code holds {len(code)} styles; expected {batch} or 1")
        if method == "efdm":
            return match_sorted(feats, code.values)
        c_mean, c_std = instance_stats(feats)
        scale = code.std / c_std
        return restyle(feats, scale, code.mean - c_mean * scale)

    @staticmethod
    def _weights(
        weights: Sequence[float] | Tensor | None, style: Tensor | StyleCode, device: torch.device
    ) -> Tensor | None:
        if weights is None:
            return None
        w = torch.as_tensor(weights, dtype=torch.float32).flatten()
        k = len(style) if isinstance(style, StyleCode) else style.shape[0]
        if w.numel() != k or bool((w < 0).any()) or float(w.sum()) <= 0:
            raise InvalidArgumentError(
                f"interpolation_weights must be {k} non-negative numbers (one per style) with a "
                f"positive sum; got {w.tolist()}"
            )
        return (w / w.sum()).to(device)
