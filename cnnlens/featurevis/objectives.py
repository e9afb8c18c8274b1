"""What activation maximization maximizes: a score per image from some layers' values.

Objectives are small objects that compose — `a + b`, `2 * a`, `a - b`, `-a` — and say which layers
they read, so the render engine runs the forward only as far as the deepest one (Lucid's objectives,
https://github.com/tensorflow/lucid). A unit may be one index for the whole batch or one per image
("many units in one batch"). The string "layer:unit" is short for `channel(layer, unit)`.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable, Mapping
from dataclasses import KW_ONLY, dataclass
from typing import Any

import torch

from cnnlens.core._legacy import legacy_calls, legacy_fields
from cnnlens.core.handle import ModelLike
from cnnlens.core.targets import Classes, Target, _per_image, _select
from cnnlens.errors import CnnlensError

OUTPUT = "<output>"  # the key under which an objective reads the model's output (logits)

Values = Mapping[str, torch.Tensor]
Score = Callable[[Values, ModelLike | None], torch.Tensor]  # the model: None if not given


def _batch_of(units: Classes) -> int | None:
    return len(units) if _per_image(units) else None


def _merge_batch(a: int | None, b: int | None) -> int | None:
    if a is not None and b is not None and a != b:
        raise CnnlensError(f"objectives ask for different batch sizes ({a} and {b} images)")
    return a if a is not None else b


def _unit_set(layer: str, units: Classes) -> tuple[tuple[str, frozenset[int]], ...]:
    """((layer, units),) for a score that reads only those units.

    () when they are not integers (the score reports that in one line when it runs).
    """
    try:
        listed: Iterable[Any] = units if _per_image(units) else [units]  # integers or not
        return ((layer, frozenset(operator.index(u) for u in listed)),)
    except TypeError:
        return ()


def _merge_channels(a: Objective, b: Objective) -> tuple[tuple[str, frozenset[int]], ...]:
    """Per layer, the union of the channels both read; a layer either reads whole stays whole."""
    merged = []
    for layer in sorted(a.layers | b.layers):
        reads = [o.channels_read(layer) for o in (a, b) if layer in o.layers]
        subsets = [read for read in reads if read is not None]
        if len(subsets) == len(reads):
            merged.append((layer, frozenset[int]().union(*subsets)))
    return tuple(merged)


@legacy_fields(("score", "layers", "batch", "name", "channels"))
@dataclass(frozen=True)
class Objective:
    """A score per image to maximize, from the values of some layers.

    Objectives compose: `a + b`, `a + 1.0`, `2 * a`, `a - b`, `-a`.

    Args:
        score: Function `score(values, model)` from {layer: tensor} (OUTPUT = the model's output) to
            an (N,) float tensor.
        layers: The layers the score reads (OUTPUT for the output).
        batch: The number of images the objective implies (one per listed unit), or None.
        name: A readable description.
        channels: (layer, channels) for layers of which the score reads only those channels (the
            render then computes no others there); a layer not listed is read whole.
    """

    score: Score
    layers: frozenset[str]
    _: KW_ONLY
    batch: int | None = None
    name: str = "objective"
    channels: tuple[tuple[str, frozenset[int]], ...] = ()

    def channels_read(self, layer: str) -> frozenset[int] | None:
        """The only channels of `layer` the score reads, or None for all of them."""
        return dict(self.channels).get(layer)

    def __call__(self, values: Values, model: ModelLike | None = None) -> torch.Tensor:
        """The score of each image.

        Args:
            values: {layer: tensor} of the layers the objective reads (OUTPUT: the logits).
            model: The model, for objectives that need it (a class probability needs its heads).

        Returns:
            (N,) float tensor.
        """
        return self.score(values, model)

    def __add__(self, other: Objective | float) -> Objective:
        if not isinstance(other, Objective):
            return self if other == 0 else NotImplemented
        return Objective(
            lambda v, m: self(v, m) + other(v, m),
            self.layers | other.layers,
            batch=_merge_batch(self.batch, other.batch),
            name=f"{self.name} + {other.name}",
            channels=_merge_channels(self, other),
        )

    __radd__ = __add__  # sum([...]) starts from 0

    def __mul__(self, factor: float) -> Objective:
        if not isinstance(factor, (int, float)):
            return NotImplemented
        return Objective(
            lambda v, m: factor * self(v, m),
            self.layers,
            batch=self.batch,
            name=f"{factor:g}·({self.name})",
            channels=self.channels,
        )

    __rmul__ = __mul__

    def __neg__(self) -> Objective:
        return -1 * self

    def __sub__(self, other: Objective) -> Objective:
        return self + (-other)

    def __repr__(self) -> str:
        return f"Objective({self.name})"


def _mean_map(values: torch.Tensor) -> torch.Tensor:
    """Per-image mean over every position (and channel) of a layer's values: (N,)."""
    return values.flatten(1).mean(dim=1)


def channel(layer: str, unit: Classes) -> Objective:
    """A channel's mean over positions.

    Args:
        layer: A layer name.
        unit: The channel, or one channel per image (a list, 1-d array or tensor).

    Returns:
        The `Objective` (batch = the number of units given per image, else None).
    """
    return Objective(
        lambda v, m: _select(m, v[layer], Target(unit=unit, layer=layer)),
        frozenset({layer}),
        batch=_batch_of(unit),
        name=f"channel {layer}:{unit}",
        channels=_unit_set(layer, unit),
    )


@legacy_calls(order=("layer", "unit", "y", "x"))
def neuron(layer: str, unit: Classes, *, y: int | None = None, x: int | None = None) -> Objective:
    """One unit at one position, the map's centre by default: shows its receptive field.

    Args:
        layer: A layer name with a spatial map.
        unit: The channel, or one per image.
        y: Row in the layer's map; None for the centre.
        x: Column in the layer's map; None for the centre.

    Returns:
        The `Objective`.
    """

    def score(values: Values, model: ModelLike | None) -> torch.Tensor:
        height, width = values[layer].shape[-2:]
        at = Target(
            unit=unit,
            layer=layer,
            y=height // 2 if y is None else y,
            x=width // 2 if x is None else x,
        )
        return _select(model, values[layer], at)

    where = "centre" if y is None or x is None else f"y={y}, x={x}"
    name = f"neuron {layer}:{unit} @ {where}"
    return Objective(
        score, frozenset({layer}), batch=_batch_of(unit), name=name, channels=_unit_set(layer, unit)
    )


def layer_energy(layer: str) -> Objective:
    """DeepDream: the mean squared value of a whole layer, ‖z‖² per element.

    Args:
        layer: A layer name.

    Returns:
        The `Objective`.
    """
    return Objective(
        lambda v, m: _mean_map(v[layer] ** 2),
        frozenset({layer}),
        batch=None,
        name=f"DeepDream {layer}",
    )


def class_logit(index: Classes) -> Objective:
    """A class's pre-softmax score (the logit).

    Simonyan et al., Deep Inside Convolutional Networks, ICLR 2014 workshop,
    https://arxiv.org/abs/1312.6034 (class model visualization).

    Args:
        index: A class index, or one per image.

    Returns:
        The `Objective`.
    """
    return Objective(
        lambda v, m: _select(m, v[OUTPUT], Target(unit=index)),
        frozenset({OUTPUT}),
        batch=_batch_of(index),
        name=f"logit {index}",
    )


def class_probability(index: Classes) -> Objective:
    """A class's softmax probability (within its head for multi-head models).

    Args:
        index: A class index, or one per image.

    Returns:
        The `Objective`.
    """
    return Objective(
        lambda v, m: _select(m, v[OUTPUT], Target(unit=index, probability=True)),
        frozenset({OUTPUT}),
        batch=_batch_of(index),
        name=f"probability {index}",
    )


def direction(layer: str, vector: torch.Tensor) -> Objective:
    """Mean over positions of the layer's values projected on a unit-length channel direction.

    Args:
        layer: A layer name.
        vector: (C,) float tensor for the whole batch, or (N, C), one direction per image;
            normalized to unit length.

    Returns:
        The `Objective`.

    Raises:
        CnnlensError: `vector` is neither (C,) nor (N, C).
    """

    def score(values: Values, _model: ModelLike | None) -> torch.Tensor:
        z = values[layer]
        v = vector.to(z).reshape(-1, z.shape[1])
        v = v / v.norm(dim=1, keepdim=True).clamp_min(1e-12)
        return torch.einsum("nc...,nc->n...", z, v.expand(len(z), -1)).flatten(1).mean(dim=1)

    if vector.dim() not in (1, 2):
        raise CnnlensError(f"a direction is (C,) or (N, C), got shape {tuple(vector.shape)}")
    batch = len(vector) if vector.dim() == 2 else None
    return Objective(score, frozenset({layer}), batch=batch, name=f"direction in {layer}")


def channel_interpolation(layer: str, first: int, second: int) -> Objective:
    """Across the batch, weight moves from channel `first` to channel `second`.

    Image i maximizes (1 − t) · first + t · second with t = i / (N − 1) (Olah et al., Feature
    Visualization, Distill 2017, https://distill.pub/2017/feature-visualization/).

    Args:
        layer: A layer name.
        first: The channel at the first image.
        second: The channel at the last image.

    Returns:
        The `Objective`.
    """

    def score(values: Values, model: ModelLike | None) -> torch.Tensor:
        z = values[layer]
        t = torch.linspace(0.0, 1.0, len(z), device=z.device, dtype=z.dtype)  # [0.] for one image
        a = _select(model, z, Target(unit=first, layer=layer))
        b = _select(model, z, Target(unit=second, layer=layer))
        return (1 - t) * a + t * b

    return Objective(
        score, frozenset({layer}), batch=None, name=f"interpolation {layer}:{first}→{second}"
    )


def diversity(layer: str) -> Objective:
    """Minus each image's mean Gram-matrix cosine similarity with the others' (style difference).

    Added to an objective, it pushes the batch to show different facets (Olah et al., Feature
    Visualization, Distill 2017, https://distill.pub/2017/feature-visualization/).

    Args:
        layer: The layer whose Gram matrices are compared.

    Returns:
        The `Objective`; when evaluated, it raises `CnnlensError` for a batch of fewer than 2
        images.
    """

    def score(values: Values, _model: ModelLike | None) -> torch.Tensor:
        z = values[layer]
        if len(z) < 2:
            raise CnnlensError("a diversity objective needs a batch of at least 2 images")
        features = z.flatten(2)
        gram = features @ features.transpose(1, 2) / features.shape[-1]
        unit = gram.flatten(1)
        unit = unit / unit.norm(dim=1, keepdim=True).clamp_min(1e-12)
        similarity = unit @ unit.T
        others = similarity.sum(dim=1) - similarity.diagonal()
        return -others / (len(z) - 1)

    return Objective(score, frozenset({layer}), batch=None, name=f"diversity {layer}")


def as_objective(spec: Objective | str) -> Objective:
    """An Objective, or the shorthand "layer:unit" for `channel(layer, unit)`.

    Args:
        spec: An `Objective`, or a string such as "bn4_2:3".

    Returns:
        The `Objective`.

    Raises:
        CnnlensError: `spec` is neither an Objective nor a string, or the string is not
            "layer:unit".
    """
    if isinstance(spec, Objective):
        return spec
    if not isinstance(spec, str):
        raise CnnlensError(
            f"an objective is an Objective or a 'layer:unit' string, got {type(spec).__name__}"
        )
    layer, colon, unit = spec.rpartition(":")
    if not colon or not layer or not unit.strip().isdigit():
        raise CnnlensError(f"objective {spec!r} is not of the form 'layer:unit', e.g. 'bn4_2:3'")
    return channel(layer, int(unit))
