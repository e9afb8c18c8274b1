"""The memory format a network takes its inputs in: channels-last where it runs them.

oneDNN's convolutions and max-pooling are faster on channels-last tensors on CPU, so loops that run
a network many times (occlusion, dissection, the render) give it channels-last inputs where it
accepts them. A network that refuses them (a `x.view(x.size(0), -1)` flatten) gets the default
contiguous format users give. Read once per network and input shape, by one forward of one image
on a probing view (no user hooks).
"""

from __future__ import annotations

import torch
from torch import nn

from cnnlens.core._view import PerNetwork, probing_view

_LAYOUTS: PerNetwork[torch.memory_format] = PerNetwork()


def input_layout(net: nn.Module, example: torch.Tensor) -> torch.memory_format:
    """The memory format to give `net` inputs like `example` in.

    Args:
        net: The user's network (only read).
        example: A normalized input batch, (N, 3, H, W); its first image is run.

    Returns:
        `torch.channels_last` where the network runs a channels-last input, else
        `torch.contiguous_format`.
    """
    one = example[:1]

    def read() -> torch.memory_format:
        channels_last = runs(probing_view(net), one.contiguous(memory_format=torch.channels_last))
        return torch.channels_last if channels_last else torch.contiguous_format

    return _LAYOUTS.get(net, one.shape, read)


def runs(view: nn.Module, x: torch.Tensor) -> bool:
    """Whether the forward of `view` (a probing view) runs on `x` without raising."""
    try:
        with torch.no_grad():
            view(x)
    except Exception:
        return False
    return True
