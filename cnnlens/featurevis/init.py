"""Start images for a render: random, mid-gray, the model's mean image, examples, multifaceted.

Multifaceted starts (Nguyen et al., Multifaceted Feature Visualization, 2016,
https://arxiv.org/abs/1602.03616) cluster a unit's top examples and start from each cluster's mean.
"""

from __future__ import annotations

import torch
from sklearn.cluster import KMeans

from cnnlens.core._inputs import check_images, check_unit
from cnnlens.core._legacy import legacy_calls
from cnnlens.core.capture import capture
from cnnlens.core.handle import _as_handle
from cnnlens.core.layers import ModelLike, resolve_layer
from cnnlens.data import shape_world_mean
from cnnlens.errors import CnnlensError


def gray(count: int, size: int) -> torch.Tensor:
    """Mid-gray images.

    Args:
        count: Number of images N.
        size: Side S in pixels.

    Returns:
        (N, 3, S, S) float tensor, all 0.5.
    """
    return torch.full((count, 3, size, size), 0.5)


@legacy_calls(order=("count", "size", "images"))
def mean_image(count: int, size: int, *, images: torch.Tensor | None = None) -> torch.Tensor:
    """`count` copies of the mean of `images` (default: 256 shape-world images of `size` px).

    Args:
        count: Number of copies N.
        size: Side S in pixels of the default shape-world images.
        images: (M, 3, H, W) float tensor in [0, 1] to average; None for the shape world.

    Returns:
        (N, 3, S, S) float tensor in [0, 1] ((N, 3, H, W) for given images).
    """
    mean = shape_world_mean(size) if images is None else check_images(images).mean(dim=0)
    return mean.expand(count, -1, -1, -1).clone()


def _model_mean_image(model: ModelLike, count: int, size: int) -> torch.Tensor:
    """`count` copies of the model's mean training image at `size` pixels.

    The handle's `mean_image` where it has one (the embedded model: the shape world's). Else, for
    a handle that declares a normalization, a flat image of its mean (the training pixels'
    per-channel mean: ImageNet's for a torchvision classifier); else mid-gray (`gray`).

    Args:
        model: The network: a `LoadedModel` or an `nn.Module`.
        count: Number of copies N.
        size: Side S in pixels.

    Returns:
        (N, 3, S, S) float tensor in [0, 1].
    """
    handle = _as_handle(model)
    if handle.mean_image is not None:
        mean = handle.mean_image(size)
    elif any(handle.mean):
        mean = torch.tensor(handle.mean).view(3, 1, 1).expand(3, size, size)
    else:
        return gray(count, size)
    return mean.expand(count, -1, -1, -1).clone()


def _channel_means(model: ModelLike, layer: str, images: torch.Tensor) -> torch.Tensor:
    """Each image's per-channel mean over positions at `layer`: (N, C)."""
    path = resolve_layer(model, layer)
    return capture(model, images, path)[path].flatten(2).mean(dim=2)


def _strongest(means: torch.Tensor, unit: int, k: int, layer: str) -> torch.Tensor:
    check_unit(unit, means.shape[1], layer)
    return means[:, unit].topk(min(k, len(means))).indices.cpu()


def _layer_second(args: tuple) -> bool:
    """0.x order (model, layer, unit, images, ...): a layer name where 1.0 takes the images."""
    return len(args) > 1 and isinstance(args[1], str)


@legacy_calls(
    order=("model", "layer", "unit", "images", "top"), renamed={"top": "k"}, old_order=_layer_second
)
def strongest_images(
    model: ModelLike, images: torch.Tensor, layer: str, unit: int, *, k: int
) -> torch.Tensor:
    """Indices of the `k` images on which a unit's mean activation is highest.

    Args:
        model: The network: a `LoadedModel` or an `nn.Module`.
        images: (N, 3, H, W) float tensor in [0, 1].
        layer: A layer name.
        unit: The unit (channel) of `layer`.
        k: Number of images to return.

    Returns:
        (min(k, N),) int64 tensor of indices into `images`, strongest first.

    Raises:
        CnnlensError: `unit` is out of range; `layer` is unknown; `images` are invalid.
    """
    return _strongest(_channel_means(model, layer, images), unit, k, layer)


@legacy_calls(
    order=("model", "layer", "unit", "images", "facets", "top", "seed"),
    renamed={"top": "k"},
    old_order=_layer_second,
)
def multifaceted(
    model: ModelLike,
    images: torch.Tensor,
    layer: str,
    unit: int,
    *,
    facets: int,
    k: int = 64,
    seed: int = 0,
) -> torch.Tensor:
    """One start image per facet: the mean of a cluster of the unit's top examples.

    Nguyen et al., Multifaceted Feature Visualization, 2016, https://arxiv.org/abs/1602.03616. The
    top examples are clustered by their layer features (each channel's mean over positions) with
    k-means. One forward pass gives both the ranking and the features.

    Args:
        model: The network: a `LoadedModel` or an `nn.Module`.
        images: (N, 3, H, W) float tensor in [0, 1]: the dataset to take top examples from.
        layer: A layer name.
        unit: The unit (channel) of `layer`.
        facets: Number of clusters (start images), 1 to the number of top examples.
        k: Number of top examples to cluster.
        seed: Seed of k-means.

    Returns:
        (facets, 3, H, W) float tensor in [0, 1].

    Raises:
        CnnlensError: `facets` is out of range; `unit` is out of range; `layer` is unknown; `images`
            are invalid.
    """
    means = _channel_means(model, layer, images)
    chosen = _strongest(means, unit, k, layer)
    if facets < 1 or facets > len(chosen):
        raise CnnlensError(f"facets must be between 1 and the {len(chosen)} top examples")
    examples = check_images(images)[chosen]
    labels = KMeans(facets, n_init=4, random_state=seed).fit_predict(means[chosen].cpu().numpy())
    labels = torch.as_tensor(labels)
    return torch.stack([examples[labels == facet].mean(dim=0) for facet in range(facets)])
