"""Pixel statistics of the shape world, which a model trained on it carries in its handle.

The embedded model's loader puts them on its `LoadedModel` (`color_covariance`, `mean_image`), and
feature visualization reads them from there: decorrelated colour and the "mean" start image.
"""

from __future__ import annotations

import functools

import torch

from cnnlens.core._legacy import legacy_calls
from cnnlens.data.shapeworld import ShapeWorld


@functools.lru_cache(maxsize=2)
@legacy_calls(order=("count", "seed"))
def shape_world_covariance(*, count: int = 256, seed: int = 0) -> torch.Tensor:
    """The RGB covariance of the pixels of `count` shape-world images.

    Args:
        count: Number of images.
        seed: Seed of the shape world.

    Returns:
        (3, 3) float tensor.
    """
    images = ShapeWorld(length=count, seed=seed).batch(0, count).images
    return torch.cov(images.permute(1, 0, 2, 3).reshape(3, -1).double()).float()


@functools.lru_cache(maxsize=4)
def shape_world_mean(size: int, *, count: int = 256, seed: int = 0) -> torch.Tensor:
    """The mean of `count` shape-world images drawn at `size` pixels.

    Args:
        size: Side S in pixels.
        count: Number of images.
        seed: Seed of the shape world.

    Returns:
        (3, S, S) float tensor in [0, 1].
    """
    return ShapeWorld(length=count, seed=seed, size=size).batch(0, count).images.mean(dim=0)
