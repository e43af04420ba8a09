"""Training-only modules of the contrastive stylizer (IEContraAST ``net.py``): the MLP
projection heads of the contrastive losses and the multi-scale LSGAN discriminator.

Layouts and attribute names are the reference's, so its state_dicts load as they are:
heads are ``nn.Sequential(Linear, ReLU, Linear)`` (keys ``0.weight``, ``0.bias``, ``2.weight``,
``2.bias``), the discriminator holds ``models.disc_{0,1,2}.{0,3,6,9,11}.{weight,bias}``.
"""

from __future__ import annotations

from torch import Tensor, nn

from ..errors import InvalidArgumentError

__all__ = ["build_projection_style", "build_projection_content", "MultiDiscriminator"]


def build_projection_style(width: int = 64) -> nn.Sequential:
    """Style head: summed relu3_1 features (256) -> 128 -> 128 (``projection_style``).

    ``width``: the VGG's (see :func:`~stylebias.stylize.network.build_vgg`; 64 published),
    the head scales with it: ``4w -> 2w -> 2w``."""
    return nn.Sequential(nn.Linear(4 * width, 2 * width), nn.ReLU(), nn.Linear(2 * width, 2 * width))


def build_projection_content(width: int = 64) -> nn.Sequential:
    """Content head: summed relu4_1 features (512) -> 256 -> 128 (``projection_content``);
    ``8w -> 4w -> 2w`` for a VGG of ``width`` w."""
    return nn.Sequential(nn.Linear(8 * width, 4 * width), nn.ReLU(), nn.Linear(4 * width, 2 * width))


def _block(cin: int, cout: int, normalize: bool = True) -> list[nn.Module]:
    """4x4 stride-2 convolution, instance norm (no affine) except in the first block, LeakyReLU."""
    layers: list[nn.Module] = [nn.Conv2d(cin, cout, 4, stride=2, padding=1)]
    if normalize:
        layers.append(nn.InstanceNorm2d(cout))
    layers.append(nn.LeakyReLU(0.2, inplace=True))
    return layers


class MultiDiscriminator(nn.Module):
    """Three PatchGAN discriminators on the image at full, 1/2 and 1/4 resolution.

    Each is four downsampling blocks (64, 128, 256, 512 channels) and a 3x3 convolution to
    one channel. Between scales the image is average-pooled with stride 2, padding 1 and
    ``count_include_pad=False``; the reference passes ``in_channels`` as the kernel size, so
    the kernel is 3 x 3 for RGB, kept here so that outputs match.

    Args:
        in_channels: image channels (3).

    Shapes: ``(B, C, H, W)`` in; a list of three ``(B, 1, h_k, w_k)`` patch scores out, with
    ``h_0 = H / 16`` for ``H`` a multiple of 16.

    Reference:
        Chen et al., NeurIPS 2021 (HalbertCH/IEContraAST ``net.py``); loss:
        :func:`~stylebias.stylize.contrastive_losses.lsgan_loss`.
    """

    def __init__(self, in_channels: int = 3) -> None:
        super().__init__()
        if in_channels < 1:
            raise InvalidArgumentError(f"in_channels must be >= 1, got {in_channels}")
        self.models = nn.ModuleList()
        for i in range(3):
            self.models.add_module(
                f"disc_{i}",
                nn.Sequential(*_block(in_channels, 64, normalize=False), *_block(64, 128),
                              *_block(128, 256), *_block(256, 512),
                              nn.Conv2d(512, 1, 3, padding=1)),  # fmt: skip
            )
        self.downsample = nn.AvgPool2d(in_channels, stride=2, padding=[1, 1],
                                       count_include_pad=False)  # fmt: skip

    def forward(self, x: Tensor) -> list[Tensor]:
        """Patch scores at the three scales."""
        outputs = []
        for model in self.models:
            outputs.append(model(x))
            x = self.downsample(x)
        return outputs
