"""Small backbones for CPU-sized experiments (the built-in benchmark, tests, the demo)."""

from __future__ import annotations

from torch import Tensor, nn

__all__ = ["SmallResNet", "small_resnet"]


class _Block(nn.Module):
    """A ResNet basic block (two 3x3 convs, BN, ReLU, projection shortcut when needed)."""

    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = (
            nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))
            if stride != 1 or cin != cout
            else None
        )

    def forward(self, x: Tensor) -> Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        return self.relu(self.bn2(self.conv2(out)) + identity)


class SmallResNet(nn.Module):
    """A three-stage ResNet (about 0.3 M parameters at width 32) for 32-64 px images.

    Module names follow torchvision's ResNet (``conv1``, ``bn1``, ``layer1``..``layer3``,
    ``fc``), so the ``"resnet3"`` attachment preset and Grad-CAM targets work on it.

    Args:
        num_classes: size of the output.
        width: channels of the first stage; stages have width, 2x and 4x.
    """

    def __init__(self, num_classes: int = 10, width: int = 32) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, width, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.relu = nn.ReLU(inplace=True)
        self.layer1 = _Block(width, width, 1)
        self.layer2 = _Block(width, 2 * width, 2)
        self.layer3 = _Block(2 * width, 4 * width, 2)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(4 * width, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x: Tensor) -> Tensor:
        x = self.relu(self.bn1(self.conv1(x)))
        x = self.layer3(self.layer2(self.layer1(x)))
        return self.fc(self.avgpool(x).flatten(1))


def small_resnet(num_classes: int = 10, width: int = 32) -> SmallResNet:
    """Build a :class:`SmallResNet` (the benchmark's default model)."""
    return SmallResNet(num_classes, width)
