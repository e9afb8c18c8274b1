"""A loaded model plus what a lecture needs to use it: preprocessing, class and concept names."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import torch
from torch import nn


@dataclass(frozen=True)
class LoadedModel:
    """A network and its metadata; every cnnlens method accepts this or a plain `nn.Module`.

    `net` takes images normalized with `mean`/`std`; cnnlens methods take RGB images in [0, 1] and
    normalize them with `normalize`, so a lecture never handles ImageNet statistics by hand.
    """

    net: nn.Module
    name: str
    input_size: int
    class_names: tuple[str, ...]
    mean: tuple[float, float, float] = (0.0, 0.0, 0.0)
    std: tuple[float, float, float] = (1.0, 1.0, 1.0)
    heads: Mapping[str, slice] = field(default_factory=dict)
    concepts: tuple[str, ...] = ()
    pretrained: bool = False

    def normalize(self, images: torch.Tensor) -> torch.Tensor:
        """Map [0, 1] RGB images (N, 3, H, W) to the network's input space."""
        if self.mean == (0.0, 0.0, 0.0) and self.std == (1.0, 1.0, 1.0):
            return images
        mean = images.new_tensor(self.mean).view(1, 3, 1, 1)
        std = images.new_tensor(self.std).view(1, 3, 1, 1)
        return (images - mean) / std

    def head_of(self, class_index: int) -> str:
        """Name of the output head a class index belongs to ("class" for single-head models)."""
        for head, span in self.heads.items():
            if span.start <= class_index < span.stop:
                return head
        return "class"

    def __repr__(self) -> str:
        weights = "trained" if self.pretrained else "random"
        return (
            f"LoadedModel({self.name!r}, {weights} weights, input {self.input_size}px, "
            f"{len(self.class_names)} classes)"
        )
