"""ShapeNet: the small VGG-style CNN cnnlens trains on the shape world and ships with weights."""

from __future__ import annotations

from collections import OrderedDict
from typing import overload

from torch import nn

# (name, in, out, kernel, pool after). conv1 is 5×5 so its filters are worth looking at. Widths
# are set by training speed on 2 CPU cores (full-resolution layers dominate): 24-48-96 trains
# 1.2x faster than 32-64-128 and the 128-wide conv4 layers keep enough units for dissection.
ARCHITECTURE = (
    ("1", 3, 24, 5, True),
    ("2", 24, 48, 3, True),
    ("3", 48, 96, 3, True),
    ("4_1", 96, 128, 3, False),
    ("4_2", 128, 128, 3, False),
)


class ShapeNet(nn.Sequential):
    """conv–BN–ReLU blocks with max-pooling, global average pooling and one linear head.

    Layers have flat friendly paths (`conv1`, `bn1`, `relu1`, `pool1`, ..., `relu4_2`, `gap`, `fc`)
    so lectures can name them directly; the GAP + linear head makes CAM exact. It takes RGB images
    in [0, 1] (no external normalization) and returns the logits of all heads concatenated.

    Args:
        num_outputs: Number of logits (18 for the shape, colour and texture heads).
    """

    def __init__(self, num_outputs: int) -> None:
        layers: OrderedDict[str, nn.Module] = OrderedDict()
        for name, c_in, c_out, kernel, pool in ARCHITECTURE:
            layers[f"conv{name}"] = nn.Conv2d(c_in, c_out, kernel, padding=kernel // 2, bias=False)
            layers[f"bn{name}"] = nn.BatchNorm2d(c_out)
            layers[f"relu{name}"] = nn.ReLU()
            if pool:
                layers[f"pool{name}"] = nn.MaxPool2d(2)
        layers["gap"] = nn.AdaptiveAvgPool2d(1)
        layers["flatten"] = nn.Flatten()
        layers["fc"] = nn.Linear(ARCHITECTURE[-1][2], num_outputs)
        super().__init__(layers)

    @overload
    def __getitem__(self, index: slice) -> nn.Sequential: ...
    @overload
    def __getitem__(self, index: int) -> nn.Module: ...
    def __getitem__(self, index: int | slice) -> nn.Module:
        """Layers by position; a slice (e.g. `net[:5]`, the first layers) is a plain Sequential."""
        if isinstance(index, slice):
            return nn.Sequential(OrderedDict(list(self._modules.items())[index]))
        return super().__getitem__(index)
