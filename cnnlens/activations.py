"""Lecture 1, direct views of activations: the feature maps of an image at any layer."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from cnnlens.core._inputs import check_unit
from cnnlens.core.capture import capture
from cnnlens.core.layers import ModelLike, resolve_layer
from cnnlens.errors import CnnlensError

__all__ = ["FeatureMaps", "feature_maps"]


@dataclass(frozen=True)
class FeatureMaps:
    """One image's maps at one layer, with the layer's pre/post-ReLU note.

    Attributes:
        layer: The layer's canonical path.
        maps: (channels, H, W) float tensor on the CPU.
        note: Whether the maps are pre- or post-ReLU.
    """

    layer: str
    maps: torch.Tensor
    note: str

    def unit(self, unit: int) -> torch.Tensor:
        """The (H, W) map of one unit.

        Raises:
            CnnlensError: `unit` is out of range.
        """
        return self.maps[check_unit(unit, self.maps.shape[0], self.layer)]


def feature_maps(model: ModelLike, image: torch.Tensor, layer: str) -> FeatureMaps:
    """Feature maps of one [0, 1] RGB image at `layer`, from the real (truncated) forward pass.

    Args:
        model: The network: a `LoadedModel` (its normalization is applied) or an `nn.Module`.
        image: One image, (3, H, W) or (1, 3, H, W) float tensor in [0, 1].
        layer: A layer name or alias with (C, H, W) maps.

    Returns:
        The `FeatureMaps`.

    Raises:
        CnnlensError: A batch of more than one image; `layer` is unknown or has no (C, H, W) maps;
            `image` is invalid.
    """
    if isinstance(image, torch.Tensor) and image.dim() == 4 and image.shape[0] != 1:
        raise CnnlensError(f"feature_maps takes one image, got a batch of {image.shape[0]}")
    path = resolve_layer(model, layer)
    acts = capture(model, image, path)
    maps = acts[path][0]
    if maps.dim() != 3:
        raise CnnlensError(f"layer {path!r} outputs shape {tuple(maps.shape)}, not (C, H, W) maps")
    return FeatureMaps(layer=path, maps=maps.cpu(), note=acts.notes[path])
