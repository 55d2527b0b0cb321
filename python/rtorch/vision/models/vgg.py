"""VGG (Simonyan & Zisserman, 2014) with torchvision's module names, init and weights enums."""

from __future__ import annotations

from typing import Any

import rtorch
from rtorch import Tensor, nn

from ._api import WeightsEnum, _build, _imagenet, register_model

__all__ = [
    "VGG",
    "VGG11_BN_Weights",
    "VGG11_Weights",
    "VGG16_BN_Weights",
    "VGG16_Weights",
    "vgg11",
    "vgg11_bn",
    "vgg16",
    "vgg16_bn",
]


class VGG(nn.Module):
    """VGG: a convolutional ``features`` stack, 7x7 adaptive pooling, a 3-layer classifier.

    Args:
        features: the convolutional part (see :func:`make_layers`).
        num_classes: outputs of the last linear layer.
        init_weights: torchvision's init (kaiming-normal convs, N(0, 0.01) linears).
        dropout: dropout probability in the classifier.

    Shape:
        input (N, 3, H, W) with H, W >= 32 -> output (N, num_classes).
    """

    def __init__(
        self,
        features: nn.Module,
        num_classes: int = 1000,
        init_weights: bool = True,
        dropout: float = 0.5,
    ) -> None:
        super().__init__()
        self.features = features
        self.avgpool = nn.AdaptiveAvgPool2d((7, 7))
        self.classifier = nn.Sequential(
            nn.Linear(512 * 7 * 7, 4096),
            nn.ReLU(True),
            nn.Dropout(p=dropout),
            nn.Linear(4096, 4096),
            nn.ReLU(True),
            nn.Dropout(p=dropout),
            nn.Linear(4096, num_classes),
        )
        if init_weights:
            for m in self.modules():
                if isinstance(m, nn.Conv2d):
                    nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                    if m.bias is not None:
                        nn.init.constant_(m.bias, 0)
                elif isinstance(m, nn.BatchNorm2d):
                    nn.init.constant_(m.weight, 1)
                    nn.init.constant_(m.bias, 0)
                elif isinstance(m, nn.Linear):
                    nn.init.normal_(m.weight, 0, 0.01)
                    nn.init.constant_(m.bias, 0)

    def forward(self, x: Tensor) -> Tensor:
        x = rtorch.flatten(self.avgpool(self.features(x)), 1)
        return self.classifier(x)


# Channel counts per conv layer, "M" for a 2x2 max-pool (configurations A and D of the paper).
cfgs: dict[str, list[str | int]] = {
    "A": [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "D": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"],
}


def make_layers(cfg: list[str | int], batch_norm: bool = False) -> nn.Sequential:
    """The ``features`` stack: 3x3 convs (+ BatchNorm) + ReLU, and max-pools at "M"."""
    layers: list[nn.Module] = []
    in_channels = 3
    for v in cfg:
        if v == "M":
            layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
            continue
        conv = nn.Conv2d(in_channels, int(v), kernel_size=3, padding=1)
        if batch_norm:
            layers += [conv, nn.BatchNorm2d(int(v)), nn.ReLU(inplace=True)]
        else:
            layers += [conv, nn.ReLU(inplace=True)]
        in_channels = int(v)
    return nn.Sequential(*layers)


class VGG11_Weights(WeightsEnum):
    IMAGENET1K_V1 = _imagenet("https://download.pytorch.org/models/vgg11-8a719046.pth", 132863336)
    DEFAULT = IMAGENET1K_V1


class VGG11_BN_Weights(WeightsEnum):
    IMAGENET1K_V1 = _imagenet(
        "https://download.pytorch.org/models/vgg11_bn-6002323d.pth", 132868840
    )
    DEFAULT = IMAGENET1K_V1


class VGG16_Weights(WeightsEnum):
    IMAGENET1K_V1 = _imagenet("https://download.pytorch.org/models/vgg16-397923af.pth", 138357544)
    DEFAULT = IMAGENET1K_V1


class VGG16_BN_Weights(WeightsEnum):
    IMAGENET1K_V1 = _imagenet(
        "https://download.pytorch.org/models/vgg16_bn-6c64b313.pth", 138365992
    )
    DEFAULT = IMAGENET1K_V1


def _vgg(
    cfg: str, batch_norm: bool, enum: type[WeightsEnum], weights: Any, progress: bool, kwargs
) -> VGG:
    if weights is not None:
        kwargs["init_weights"] = False  # the checkpoint overwrites everything anyway

    def builder(**kw: Any) -> VGG:
        return VGG(make_layers(cfgs[cfg], batch_norm=batch_norm), **kw)

    return _build(builder, enum, weights, progress, kwargs)


@register_model(VGG11_Weights)
def vgg11(*, weights: Any = None, progress: bool = True, **kwargs: Any) -> VGG:
    """VGG-11 (configuration A)."""
    return _vgg("A", False, VGG11_Weights, weights, progress, kwargs)


@register_model(VGG11_BN_Weights)
def vgg11_bn(*, weights: Any = None, progress: bool = True, **kwargs: Any) -> VGG:
    """VGG-11 with BatchNorm."""
    return _vgg("A", True, VGG11_BN_Weights, weights, progress, kwargs)


@register_model(VGG16_Weights)
def vgg16(*, weights: Any = None, progress: bool = True, **kwargs: Any) -> VGG:
    """VGG-16 (configuration D)."""
    return _vgg("D", False, VGG16_Weights, weights, progress, kwargs)


@register_model(VGG16_BN_Weights)
def vgg16_bn(*, weights: Any = None, progress: bool = True, **kwargs: Any) -> VGG:
    """VGG-16 with BatchNorm."""
    return _vgg("D", True, VGG16_BN_Weights, weights, progress, kwargs)
