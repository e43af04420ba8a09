"""The contrastive arbitrary style transfer network (IEContraAST) as a :class:`Stylizer`.

Layout of HalbertCH/IEContraAST (``net.py``, ``Eval.py``): the published normalised VGG-19
(``vgg_normalised.pth``, the AdaIN release's file) cut at relu4_1 and relu5_1, a
:class:`~stylebias.stylize.sanet.Transform` (SANets at both levels merged by a 3x3
convolution) and the AdaIN decoder layout. The released ``decoder_iter_*.pth`` and
``transformer_iter_*.pth`` load as they are.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from .._checks import check_choice
from ..errors import DataError, InvalidArgumentError, ShapeError
from .base import Stylizer, pad_to_multiple
from .network import VGGEncoder, build_decoder, build_vgg, vgg_width
from .sanet import TRANSFORM_KEYS, StyleKeys, Transform
from .stylizer import _load_into, load_state_file

__all__ = ["ContrastiveStylizer", "AttentionCode", "RELU5_1_SLICE"]

#: Module index range of the published VGG from relu4_1 to relu5_1 (``enc_5`` of net.py).
RELU5_1_SLICE = (31, 44)
_HINT = (
    "pass the reference's files as they are: vgg_normalised.pth (the AdaIN release's) and "
    "decoder_iter_*.pth / transformer_iter_*.pth of HalbertCH/IEContraAST (its README links "
    "the pretrained models), or leave the paths unset to use files placed in the cache "
    "(ContrastiveStylizer.pretrained(); `stylebias download contrastive-decoder` says where)"
)


@dataclass(frozen=True)
class AttentionCode:
    """Encoded style images for the contrastive stylizer: keys at relu4_1 and relu5_1.

    The code holds the style's VGG features (not yet projected by the SANets), so it stays
    valid while the transform is trained.
    """

    relu4_1: StyleKeys
    relu5_1: StyleKeys

    def __len__(self) -> int:
        return len(self.relu4_1)

    def to(self, device: torch.device | str) -> AttentionCode:
        """The same code on ``device``."""
        return AttentionCode(self.relu4_1.to(device), self.relu5_1.to(device))

    @staticmethod
    def cat(codes: Sequence[AttentionCode]) -> AttentionCode:
        """Stack codes; styles of different sizes are padded and masked (exact, not resampled)."""
        return AttentionCode(StyleKeys.cat([c.relu4_1 for c in codes]),
                             StyleKeys.cat([c.relu5_1 for c in codes]))  # fmt: skip

    def nbytes(self) -> int:
        """Memory the code takes, in bytes."""
        return self.relu4_1.nbytes() + self.relu5_1.nbytes()


class ContrastiveStylizer(Stylizer):
    """Arbitrary style transfer with style attention, trained with contrastive losses.

    ``stylizer(content, style, alpha)`` encodes both images to relu4_1 and relu5_1, lets every
    content position attend to the style's positions at both levels (SANet), merges the
    levels and decodes. The content is padded to a multiple of 16 (at least 32 px: relu5_1
    must be 2 x 2) inside and the result cropped back, so the output has exactly the
    content's size; for sides that are multiples of 16 the result is the reference's.

    ``alpha`` is not in the reference (``Eval.py`` always stylizes fully). Here it blends, in
    feature space before the decoder, the stylized features ``T(c, s)`` with the content's
    identity path ``T(c, c)``: ``T(c, c) + alpha * (T(c, s) - T(c, c))``. ``T(c, c)`` is what
    the network was trained to decode back to the content (its identity losses), so
    ``alpha=0`` reconstructs the content, as AdaIN's ``alpha=0`` does; blending with the raw
    relu4_1 features instead would feed the decoder inputs it never saw in training.

    Args:
        vgg: the full normalised VGG-19 (:func:`~stylebias.stylize.network.build_vgg`);
            default random weights. Only its first 44 modules (to relu5_1) are used.
        decoder: the decoder (:func:`~stylebias.stylize.network.build_decoder`); default random.
        transform: the :class:`~stylebias.stylize.sanet.Transform`; default random.
        method: ``"contrastive"`` (the only one; the argument exists for the common interface).

    Reference:
        Chen et al., "Artistic Style Transfer with Internal-external Learning and Contrastive
        Learning", NeurIPS 2021; Park & Lee, "Arbitrary Style Transfer with Style-Attentional
        Networks", CVPR 2019, arXiv:1812.02342.

    Example:
        >>> st = ContrastiveStylizer().eval()
        >>> st(torch.rand(2, 3, 30, 20), torch.rand(1, 3, 32, 32)).shape
        torch.Size([2, 3, 30, 20])
    """

    methods = ("contrastive",)
    pad_multiple = 16
    min_side = 32

    def __init__(
        self,
        vgg: nn.Sequential | None = None,
        decoder: nn.Sequential | None = None,
        transform: Transform | None = None,
        *,
        method: str = "contrastive",
    ) -> None:
        super().__init__()
        self.method = check_choice(method, self.methods, "method")
        vgg = vgg if vgg is not None else build_vgg()
        width = vgg[2].out_channels  # 64 published; the defaults below follow a narrower VGG
        self.encoder = VGGEncoder(vgg)
        self.enc_5 = nn.Sequential(*list(vgg.children())[slice(*RELU5_1_SLICE)])
        self.transform = transform if transform is not None else Transform(8 * width)
        self.decoder = decoder if decoder is not None else build_decoder(width)
        self.encoder.requires_grad_(False)
        self.enc_5.requires_grad_(False)
        self.to(memory_format=torch.channels_last)
        self.eval()

    @classmethod
    def from_files(
        cls,
        vgg: str | os.PathLike[str],
        decoder: str | os.PathLike[str],
        transformer: str | os.PathLike[str],
        *,
        method: str = "contrastive",
    ) -> ContrastiveStylizer:
        """Load ``vgg_normalised.pth``, ``decoder_iter_*.pth`` and ``transformer_iter_*.pth``
        as the reference saves them (state_dicts, read with ``weights_only=True``).

        Raises:
            MissingFileError: a file does not exist.
            DataError: a file is not a state_dict of the reference layout.
        """
        states = (load_state_file(vgg, "VGG encoder", _HINT),
                  load_state_file(decoder, "decoder", _HINT),
                  load_state_file(transformer, "transformer", _HINT))  # fmt: skip
        width = vgg_width(states[0])  # 64 for the published file
        with torch.device("meta"):  # no random init of weights that are overwritten
            net_vgg, net_dec, net_tf = build_vgg(width), build_decoder(width), Transform(8 * width)
        _load_into(net_vgg, states[0], "VGG encoder", vgg)
        _load_into(net_dec, states[1], "decoder", decoder)
        try:
            net_tf.load_state_dict(states[2], assign=True)
        except RuntimeError as err:
            raise DataError(
                f"transformer weights {transformer!s} do not fit the IEContraAST layout (keys "
                f"{', '.join(TRANSFORM_KEYS[:2])}, ..., {TRANSFORM_KEYS[-1]}): {err}"
            ) from None
        return cls(net_vgg, net_dec, net_tf, method=method)

    @classmethod
    def pretrained(
        cls,
        cache_dir: str | os.PathLike[str] | None = None,
        *,
        download: bool = True,
        method: str = "contrastive",
    ) -> ContrastiveStylizer:
        """The released IEContraAST weights from the cache.

        The encoder is the AdaIN release's ``vgg_normalised.pth`` (artifact ``"adain-vgg"``,
        downloaded and sha256-checked). The decoder and transformer are only published in a
        Google Drive archive, which cannot be fetched without a browser: artifacts
        ``"contrastive-decoder"`` and ``"contrastive-transformer"`` must be placed in the
        cache by hand; the error says where to get them and where to put them.

        Raises:
            MissingFileError: a file is not in the cache (or offline for the VGG).
            IntegrityError: the VGG file does not have the published sha256.
            DataError: a placed file is not a state_dict of the reference layout.
        """
        from ..hub import download as fetch  # imported here: the hub is only needed for this

        # the hand-placed files first: no 80 MB VGG download before saying they are missing
        decoder, transformer = (fetch(name, cache_dir=cache_dir, download=download) for name in
                                ("contrastive-decoder", "contrastive-transformer"))  # fmt: skip
        vgg = fetch("adain-vgg", cache_dir=cache_dir, download=download)
        return cls.from_files(vgg, decoder, transformer, method=method)

    # ------------------------------------------------------------------ encoding
    def features(self, images: Tensor) -> tuple[Tensor, Tensor]:
        """relu4_1 and relu5_1 features of RGB ``(B, 3, H, W)`` in [0, 1] (no padding)."""
        relu4_1 = self.encoder(images)
        return relu4_1, self.enc_5(relu4_1)

    def encode_style(self, style: Tensor, method: str | None = None) -> AttentionCode:
        """Encode style images ``(S, 3, H, W)`` in [0, 1] once, for any number of calls.

        Styles under 32 px on a side are padded to 32 (relu5_1 must be at least 2 x 2);
        others are encoded at their size, as the reference does.
        """
        check_choice(method or self.method, self.methods, "method")
        style = self._prepare(style, "style")
        h, w = style.shape[-2:]
        if h < self.min_side or w < self.min_side:
            style = pad_to_multiple(style, 1, self.min_side)
        with torch.no_grad():
            relu4_1, relu5_1 = self.features(style)
        return AttentionCode(StyleKeys.from_features(relu4_1), StyleKeys.from_features(relu5_1))

    def cat_codes(self, codes: Sequence[AttentionCode], size: tuple[int, int]) -> AttentionCode:
        """:meth:`AttentionCode.cat` (``size`` is not needed: attention takes any style size)."""
        return AttentionCode.cat(codes)

    def _encode_content(self, padded: Tensor) -> Tensor:
        return self.encoder(padded)

    # ------------------------------------------------------------------ transfer
    def forward(
        self,
        content: Tensor,
        style: Tensor | AttentionCode,
        alpha: float | Tensor = 1.0,
        *,
        method: str | None = None,
        clamp: bool = True,
    ) -> Tensor:
        """Stylize ``content`` with ``style``.

        Args:
            content: RGB ``(B, 3, H, W)`` in [0, 1], any size.
            style: RGB ``(B, 3, H', W')`` or ``(1, 3, H', W')`` in [0, 1] (any size), or an
                :class:`AttentionCode` of ``B`` or 1 styles from :meth:`encode_style`.
            alpha: degree of stylization in [0, 1] (see the class docstring); a float or a
                ``(B,)`` tensor.
            method: ``"contrastive"`` or None.
            clamp: clamp the output to [0, 1].

        Returns:
            ``(B, 3, H, W)``: exactly the content's size, on the stylizer's device.

        Raises:
            ShapeError: bad shapes or batch sizes.
            InvalidArgumentError: ``alpha`` outside [0, 1] or an unknown method.
        """
        method = check_choice(method or self.method, self.methods, "method")
        content = self._prepare(content, "content")
        batch, _, height, width = content.shape
        alpha_t = self._alpha(alpha, batch, content.device)
        if isinstance(style, Tensor) and style.dim() == 4 and style.shape[0] not in (1, batch):
            raise ShapeError(
                f"style must hold {batch} images (one per content image) or 1; got "
                f"{tuple(style.shape)} for content {tuple(content.shape)}"
            )
        out = self._decode(self._encode_content(self._pad(content)), style, alpha_t, method)
        out = out[..., :height, :width]
        return out.clamp(0, 1) if clamp else out

    def _decode(
        self, feats: Tensor, style: Tensor | AttentionCode, alpha: Tensor, method: str
    ) -> Tensor:
        if isinstance(style, Tensor):
            code = self.encode_style(style)
        elif isinstance(style, AttentionCode):
            code = style
        else:
            raise InvalidArgumentError(
                f"style must be images or an AttentionCode from this stylizer's encode_style(); "
                f"got {type(style).__name__}"
            )
        batch = feats.shape[0]
        if len(code) not in (1, batch):
            raise ShapeError(
                f"style must hold {batch} styles (one per content image) or 1; got {len(code)}"
            )
        code = code.to(feats.device)
        relu5_1 = self.enc_5(feats)
        target = self.transform(feats, code.relu4_1, relu5_1, code.relu5_1)
        if bool((alpha < 1).any()):
            identity = self.transform(feats, feats, relu5_1, relu5_1)
            target = identity + alpha.view(-1, 1, 1, 1).to(target.dtype) * (target - identity)
        return self.decoder(target.contiguous(memory_format=torch.channels_last)).contiguous()

