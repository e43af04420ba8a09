"""The AdaIN networks: normalised VGG-19 encoder and its mirrored decoder.

The module lists are those of naoto0804/pytorch-AdaIN (``net.py``), so the published
``vgg_normalised.pth`` (the full 53-module VGG-19 ``nn.Sequential``) and ``decoder.pth``
(29 modules) load as they are: their state_dict keys are module indices (``"0.weight"``,
``"2.weight"``, ...).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

__all__ = [
    "build_vgg",
    "build_decoder",
    "VGGEncoder",
    "ENCODER_SLICES",
    "ENCODER_LAYERS",
    "VGG_MODULES",
    "DECODER_MODULES",
    "VGG_WIDTH",
    "vgg_width",
]

# VGG-19 convolutions; "M" is a 2x2 max-pool (ceil mode, as in the Torch7 original).
_VGG19 = (64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M",
          512, 512, 512, 512)  # fmt: skip
# Decoder: mirror of the encoder up to relu4_1; "U" is a 2x nearest upsampling.
_DECODER = (256, "U", 256, 256, 256, 128, "U", 128, 64, "U", 64, 3)

#: Module index ranges of the published VGG giving relu1_1, relu2_1, relu3_1 and relu4_1.
ENCODER_SLICES = ((0, 4), (4, 11), (11, 18), (18, 31))
#: Names of the features :meth:`VGGEncoder.features` returns.
ENCODER_LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1")
VGG_MODULES = 53
DECODER_MODULES = 29
#: Channels of the first VGG block in the published network (relu4_1 has 8x as many).
VGG_WIDTH = 64


def vgg_width(state: dict[str, Tensor]) -> int:
    """The first block's channels of a VGG state_dict in the published layout (64 for the
    published file; narrower copies of the layout serve fast tests)."""
    weight = state.get("2.weight")
    return int(weight.shape[0]) if isinstance(weight, Tensor) and weight.dim() == 4 else VGG_WIDTH


def _conv(cin: int, cout: int, relu: bool = True) -> list[nn.Module]:
    layers: list[nn.Module] = [nn.ReflectionPad2d((1, 1, 1, 1)), nn.Conv2d(cin, cout, (3, 3))]
    return [*layers, nn.ReLU()] if relu else layers


def build_vgg(width: int = VGG_WIDTH) -> nn.Sequential:
    """The full normalised VGG-19 of the AdaIN release: 53 modules, a 1x1 colour conv first.

    The input is RGB in [0, 1]; the first 1x1 convolution of the published weights turns it
    into the BGR, mean-subtracted, 0-255 input the Caffe VGG was trained on. ``width``
    scales every block's channels (``width * (1, 2, 4, 8, 8)``; 64 is the published network).
    """
    layers: list[nn.Module] = [nn.Conv2d(3, 3, (1, 1))]
    cin = 3
    for item in _VGG19:
        if item == "M":
            layers.append(nn.MaxPool2d((2, 2), (2, 2), (0, 0), ceil_mode=True))
        else:
            cout = int(item) * width // VGG_WIDTH
            layers += _conv(cin, cout)
            cin = cout
    return nn.Sequential(*layers)


def build_decoder(width: int = VGG_WIDTH) -> nn.Sequential:
    """The AdaIN decoder: 29 modules mapping relu4_1 features (512 channels) back to RGB.

    Reflection padding, 3x3 convolutions with ReLU, three 2x nearest upsamplings, and a last
    convolution to 3 channels without activation. A feature map of ``h x w`` decodes to an
    image of ``8h x 8w``. ``width``: that of the :func:`build_vgg` it inverts (relu4_1 has
    ``8 * width`` channels).
    """
    layers: list[nn.Module] = []
    cin = 8 * width
    for i, item in enumerate(_DECODER):
        if item == "U":
            layers.append(nn.Upsample(scale_factor=2, mode="nearest"))
        else:
            last = i == len(_DECODER) - 1
            cout = int(item) if last else int(item) * width // VGG_WIDTH
            layers += _conv(cin, cout, relu=not last)
            cin = cout
    return nn.Sequential(*layers)


class VGGEncoder(nn.Module):
    """The published VGG cut after relu4_1, in four stages (relu1_1 ... relu4_1).

    Args:
        vgg: a :func:`build_vgg` network (53 modules; only the first 31 are kept).

    Shapes: input ``(B, 3, H, W)`` RGB in [0, 1]; relu4_1 is ``(B, 512, ceil(H/8), ceil(W/8))``.
    """

    def __init__(self, vgg: nn.Sequential) -> None:
        super().__init__()
        modules = list(vgg.children())
        self.stages = nn.ModuleList(nn.Sequential(*modules[a:b]) for a, b in ENCODER_SLICES)

    def forward(self, x: Tensor) -> Tensor:
        """relu4_1 features ``(B, 512, ceil(H/8), ceil(W/8))``."""
        x = x.contiguous(memory_format=torch.channels_last)  # about 1.35x faster convs on the CPU
        for stage in self.stages:
            x = stage(x)
        return x

    def features(self, x: Tensor) -> list[Tensor]:
        """relu1_1, relu2_1, relu3_1 and relu4_1 features (64, 128, 256, 512 channels)."""
        out = []
        x = x.contiguous(memory_format=torch.channels_last)
        for stage in self.stages:
            x = stage(x)
            out.append(x)
        return out
