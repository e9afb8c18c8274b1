"""Lecture 1, direct views of activations: the feature maps of an image at any layer."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from cnnlens.core.capture import capture
from cnnlens.core.inputs import check_unit
from cnnlens.core.layers import ModelLike, resolve_layer
from cnnlens.errors import CnnlensError

__all__ = ["FeatureMaps", "feature_maps"]


@dataclass(frozen=True)
class FeatureMaps:
    """One image's maps at one layer: (channels, H, W), with the layer's pre/post-ReLU note."""

    layer: str
    maps: torch.Tensor
    note: str

    def unit(self, unit: int) -> torch.Tensor:
        """The (H, W) map of one unit, with a range check."""
        return self.maps[check_unit(unit, self.maps.shape[0], self.layer)]


def feature_maps(model: ModelLike, image: torch.Tensor, layer: str) -> FeatureMaps:
    """Feature maps of one [0, 1] RGB image at `layer`, from the real (truncated) forward pass."""
    if isinstance(image, torch.Tensor) and image.dim() == 4 and image.shape[0] != 1:
        raise CnnlensError(f"feature_maps takes one image, got a batch of {image.shape[0]}")
    path = resolve_layer(model, layer)
    acts = capture(model, image, path)
    maps = acts[path][0]
    if maps.dim() != 3:
        raise CnnlensError(f"layer {path!r} outputs shape {tuple(maps.shape)}, not (C, H, W) maps")
    return FeatureMaps(layer=path, maps=maps.cpu(), note=acts.notes[path])
