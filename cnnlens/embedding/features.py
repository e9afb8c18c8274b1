"""Features of a whole dataset at one layer: the points of lecture 7's feature space."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from cnnlens.core._cache import ResultStore
from cnnlens.core._legacy import legacy_calls, warn_once
from cnnlens.core.capture import _forward_pass, _images_for
from cnnlens.core.layers import ModelLike, as_net, resolve_layer
from cnnlens.core.progress import Progress, _steps
from cnnlens.data._batches import Images, dataset_key, image_batches, image_count
from cnnlens.errors import CnnlensError

POOLS = ("flatten", "mean")


@dataclass(frozen=True)
class Features:
    """Feature vectors of a dataset at one layer, with the images' labels if it has any.

    Attributes:
        layer: The layer whose outputs these are, or "<last linear layer> (input)" (e.g. "fc
            (input)") for the default, the input of the last linear layer.
        values: (N, D) float tensor: one feature vector per image.
        labels: (N,) int64 tensor of class labels, or None.
        source: Which dataset the features come from.
    """

    layer: str
    values: torch.Tensor
    labels: torch.Tensor | None
    source: str


def last_linear_layer(model: ModelLike) -> str:
    """The network's last linear layer: its input is the "last feature layer".

    The input of ShapeNet's `fc` is its GAP vector; ResNet's is the pooled 512-d vector, VGG's and
    AlexNet's is fc7.

    Args:
        model: The network: a `LoadedModel` or an `nn.Module`.

    Returns:
        The layer's path, e.g. "fc" or "classifier.6".

    Raises:
        CnnlensError: The model has no linear layer.
    """
    linears = [name for name, m in as_net(model).named_modules() if isinstance(m, nn.Linear)]
    if not linears:
        raise CnnlensError("the model has no linear layer; name a layer for its features")
    return linears[-1]


def last_feature_layer(model: ModelLike) -> str:
    """Deprecated (0.x): "<last linear layer>:input"; 1.0's default `layer=None` means it.

    Args:
        model: The network: a `LoadedModel` or an `nn.Module`.

    Returns:
        The 0.x name, e.g. "fc:input".

    Raises:
        CnnlensError: The model has no linear layer.
    """
    warn_once(
        "last_feature_layer",
        "call",
        "last_feature_layer() is 0.x; in cnnlens 1.0 a layer name means the layer's output, the "
        "default layer=None of dataset_features is the input of last_linear_layer(model)",
    )
    return f"{last_linear_layer(model)}:input"


@legacy_calls(order=("model", "images", "layer", "pool", "batch_size", "progress"))
def dataset_features(
    model: ModelLike,
    images: Images,
    *,
    layer: str | None = None,
    pool: str = "flatten",
    batch_size: int = 128,
    progress: Progress | None = None,
) -> Features:
    """Features of every image at `layer`'s output, by default at the last linear layer's input.

    The default is the "last feature layer": the vector the classifier reads (`last_linear_layer`).
    Shape-world results are cached by model weights and preprocessing, layer, pooling and dataset.

    Args:
        model: The network: a `LoadedModel` (its normalization is applied) or an `nn.Module`.
        images: A `ShapeWorld`, a dataset of images, or an (N, 3, H, W) float tensor in [0, 1].
        layer: A layer name ("relu3"), whose output is read; None for the input of the last linear
            layer.
        pool: "flatten" keeps spatial maps whole (D = C·H·W); "mean" averages them over positions (D
            = C).
        batch_size: Images per forward pass.
        progress: Optional callback `progress(done, total)` counting images; may raise `Cancelled`.

    Returns:
        The `Features`: values (N, D).

    Raises:
        CnnlensError: `pool` is not "flatten" or "mean"; `layer` is not a string or is unknown; the
            model has no linear layer (when `layer` is None); `images` are invalid.
        Cancelled: `progress` cancelled the pass.
    """
    if pool not in POOLS:
        raise CnnlensError(f"pool must be one of {POOLS}, got {pool!r}")
    path, at_input = _where(model, layer)
    name = _label(path, at_input)
    key = dataset_key(images)
    compute = lambda: _features(model, images, path, at_input, pool, batch_size, progress, name)  # noqa: E731
    if key is None:
        return compute()
    return _STORE.get(model, (name, pool, key), compute, persist=True)


def feature_layer_label(model: ModelLike, *, layer: str | None = None) -> str:
    """The name `dataset_features` gives the features at `layer` (`Features.layer`).

    Args:
        model: The network: a `LoadedModel` or an `nn.Module`.
        layer: A layer name; None for the default, the input of the last linear layer.

    Returns:
        The layer's path ("relu3", "features.3"), or "<last linear layer> (input)" for the
        default, e.g. "fc (input)": a label to show, not a layer name.

    Raises:
        CnnlensError: `layer` is not a string or is unknown; the model has no linear layer (when
            `layer` is None).
    """
    return _label(*_where(model, layer))


def _where(model: ModelLike, layer: str | None) -> tuple[str, bool]:
    """The path to read, and whether its input (rather than its output) is read."""
    if layer is not None and not isinstance(layer, str):
        raise CnnlensError(f"layer names are strings like 'relu3', got {type(layer).__name__}")
    if layer is not None and layer.endswith(":input"):  # 0.x: "fc:input", a layer's input
        warn_once(
            "dataset_features",
            ":input",
            f"dataset_features(layer={layer!r}) is 0.x; in cnnlens 1.0 a layer name means the "
            "layer's output, and layer=None the input of the last linear layer",
        )
    at_input = layer is None or layer.endswith(":input")
    name = last_linear_layer(model) if layer is None else layer.removesuffix(":input")
    return resolve_layer(model, name), at_input


def _label(path: str, at_input: bool) -> str:
    return f"{path} (input)" if at_input else path


_STORE = ResultStore(Features)


def _features(
    model: ModelLike,
    images: Images,
    path: str,
    at_input: bool,
    pool: str,
    batch_size: int,
    progress: Progress | None,
    name: str,
) -> Features:
    chunks, labels = [], []
    batches = image_batches(images, batch_size)
    with _forward_pass(model, [path], at_input=at_input) as forward:
        for x, y in _steps(batches, -(-image_count(images) // batch_size), progress):
            forward(_images_for(model, x))
            value = forward.recorded[path].float()
            if value.dim() == 4 and pool == "mean":
                value = value.mean(dim=(2, 3))
            chunks.append(value.flatten(1).cpu())
            if y is not None:
                labels.append(y)
    return Features(
        layer=name,
        values=torch.cat(chunks),
        labels=torch.cat(labels) if len(labels) == len(chunks) else None,
        source=dataset_key(images) or type(images).__name__,
    )
