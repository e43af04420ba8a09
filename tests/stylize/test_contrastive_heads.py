"""Projection heads and the multi-scale discriminator against IEContraAST's net.py."""

from __future__ import annotations

import torch
from torch import nn

from stylebias.stylize.contrastive_heads import (
    MultiDiscriminator,
    build_projection_content,
    build_projection_style,
)
from stylebias.stylize.contrastive_losses import lsgan_loss


class RefMultiDiscriminator(nn.Module):  # net.py, re-expressed
    def __init__(self, in_channels=3):
        super().__init__()

        def discriminator_block(in_filters, out_filters, normalize=True):
            layers = [nn.Conv2d(in_filters, out_filters, 4, stride=2, padding=1)]
            if normalize:
                layers.append(nn.InstanceNorm2d(out_filters))
            layers.append(nn.LeakyReLU(0.2, inplace=True))
            return layers

        self.models = nn.ModuleList()
        for i in range(3):
            self.models.add_module(
                "disc_%d" % i,
                nn.Sequential(
                    *discriminator_block(in_channels, 64, normalize=False),
                    *discriminator_block(64, 128),
                    *discriminator_block(128, 256),
                    *discriminator_block(256, 512),
                    nn.Conv2d(512, 1, 3, padding=1),
                ),
            )
        self.downsample = nn.AvgPool2d(in_channels, stride=2, padding=[1, 1], count_include_pad=False)

    def compute_loss(self, x, gt):
        return sum([torch.mean((out - gt) ** 2) for out in self.forward(x)])

    def forward(self, x):
        outputs = []
        for m in self.models:
            outputs.append(m(x))
            x = self.downsample(x)
        return outputs


def test_heads_have_the_reference_layout():
    style = {k: tuple(v.shape) for k, v in build_projection_style().state_dict().items()}
    content = {k: tuple(v.shape) for k, v in build_projection_content().state_dict().items()}
    assert style == {"0.weight": (128, 256), "0.bias": (128,), "2.weight": (128, 128), "2.bias": (128,)}
    assert content == {"0.weight": (256, 512), "0.bias": (256,), "2.weight": (128, 256), "2.bias": (128,)}


@torch.no_grad()
def test_discriminator_loads_and_matches_the_reference():
    torch.manual_seed(0)
    ours = MultiDiscriminator().double()
    ref = RefMultiDiscriminator().double()
    ref.load_state_dict(ours.state_dict())  # strict: the same keys and shapes
    x = torch.rand(2, 3, 128, 112, dtype=torch.float64)
    outs, expected = ours(x), ref(x)
    assert [tuple(o.shape) for o in outs] == [(2, 1, 8, 7), (2, 1, 4, 3), (2, 1, 2, 1)]
    assert all(torch.allclose(a, b, atol=1e-12) for a, b in zip(outs, expected))
    for target in (0.0, 1.0):
        assert torch.allclose(lsgan_loss(outs, target), ref.compute_loss(x, target))
