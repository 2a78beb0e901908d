"""``torchvision.models.resnet18``: torchvision's ResNet-18 (BasicBlocks, BatchNorm, its
initialisation) built from ``torch.nn`` of whichever library ``import torch`` gives; no
pretrained weights."""

from __future__ import annotations

from typing import Any


def _nn() -> Any:
    import torch.nn as nn

    return nn


def _block(inplanes: int, planes: int, stride: int) -> Any:
    """A BasicBlock: two 3x3 convolutions and the shortcut (1x1 where the shape changes)."""
    nn = _nn()

    class BasicBlock(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv1 = nn.Conv2d(inplanes, planes, 3, stride, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(planes)
            self.relu = nn.ReLU(inplace=True)
            self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
            self.bn2 = nn.BatchNorm2d(planes)
            self.downsample = None
            if stride != 1 or inplanes != planes:
                self.downsample = nn.Sequential(
                    nn.Conv2d(inplanes, planes, 1, stride, bias=False), nn.BatchNorm2d(planes)
                )

        def forward(self, x: Any) -> Any:
            identity = x if self.downsample is None else self.downsample(x)
            out = self.relu(self.bn1(self.conv1(x)))
            out = self.bn2(self.conv2(out))
            return self.relu(out + identity)

    return BasicBlock()


def resnet18(weights: Any = None, num_classes: int = 1000, **kwargs: Any) -> Any:
    """ResNet-18 with torchvision's layer names, so state_dicts line up."""
    nn = _nn()
    if weights is not None:
        raise ValueError("resnet18: the stand-in has no pretrained weights")

    class ResNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
            self.bn1 = nn.BatchNorm2d(64)
            self.relu = nn.ReLU(inplace=True)
            self.maxpool = nn.MaxPool2d(3, 2, 1)
            planes = [(64, 64, 1), (64, 128, 2), (128, 256, 2), (256, 512, 2)]
            for i, (inp, out, stride) in enumerate(planes, 1):
                layer = nn.Sequential(_block(inp, out, stride), _block(out, out, 1))
                setattr(self, f"layer{i}", layer)
            self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
            self.fc = nn.Linear(512, num_classes)
            for m in self.modules():
                if isinstance(m, nn.Conv2d):
                    nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                elif isinstance(m, nn.BatchNorm2d):
                    nn.init.constant_(m.weight, 1)
                    nn.init.constant_(m.bias, 0)

        def forward(self, x: Any) -> Any:
            import torch

            x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
            x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
            return self.fc(torch.flatten(self.avgpool(x), 1))

    return ResNet()
