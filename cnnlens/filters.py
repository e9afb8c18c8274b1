"""Lecture 1, direct views of weights: first-layer filters as RGB, deeper ones as slices."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from cnnlens.core._inputs import check_unit
from cnnlens.core.layers import ModelLike, as_net, resolve_layer
from cnnlens.errors import CnnlensError

__all__ = ["filter_slices", "filters_rgb", "layer_filters"]


def layer_filters(model: ModelLike, layer: str) -> torch.Tensor:
    """A copy of a conv layer's weights, on the CPU.

    Args:
        model: A `LoadedModel` or an `nn.Module`.
        layer: A Conv2d layer's name or alias.

    Returns:
        (out_channels, in_channels, kh, kw) float tensor.

    Raises:
        CnnlensError: `layer` is unknown or not a Conv2d.
    """
    net = as_net(model)
    path = resolve_layer(net, layer)
    module = net.get_submodule(path)
    if not isinstance(module, nn.Conv2d):
        raise CnnlensError(
            f"layer {path!r} is a {type(module).__name__}, not a Conv2d: "
            "only convolutions have filters"
        )
    return module.weight.detach().to("cpu", torch.float32).clone()


def filters_rgb(weights: torch.Tensor) -> np.ndarray:
    """First-layer filters as RGB images, each min-max normalized on its own.

    Per-filter normalization shows every filter's pattern; it hides their relative strengths.

    Args:
        weights: (out, 3, kh, kw) filters of a first layer, from `layer_filters`.

    Returns:
        (out, kh, kw, 3) float array in [0, 1].

    Raises:
        CnnlensError: The filters do not have 3 input channels.
    """
    if weights.dim() != 4 or weights.shape[1] != 3:
        raise CnnlensError(
            "RGB filter view needs 3 input channels (a first layer), "
            f"got weights {tuple(weights.shape)}"
        )
    w = weights.permute(0, 2, 3, 1).numpy()
    low = w.min(axis=(1, 2, 3), keepdims=True)
    span = w.max(axis=(1, 2, 3), keepdims=True) - low
    return (w - low) / np.where(span > 0, span, 1.0)


def filter_slices(weights: torch.Tensor, unit: int) -> np.ndarray:
    """One unit's filter as grayscale slices, one per input channel.

    Scaled symmetrically so that 0 is mid-gray: bright is excitatory, dark inhibitory; one scale for
    all slices keeps the channels' relative weights comparable.

    Args:
        weights: (out, in_channels, kh, kw) filters, from `layer_filters`.
        unit: The output channel.

    Returns:
        (in_channels, kh, kw) float array in [0, 1].

    Raises:
        CnnlensError: `unit` is out of range.
    """
    unit = check_unit(unit, weights.shape[0], "layer")
    w = weights[unit].numpy()
    scale = np.abs(w).max()
    return 0.5 + 0.5 * w / (scale if scale > 0 else 1.0)
