"""What a backward pass explains: a class score, a whole channel, or one unit of any layer."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import TypeGuard

import numpy as np
import torch

from cnnlens.core._inputs import as_index, check_unit
from cnnlens.core._legacy import legacy_calls, legacy_fields, warn_once
from cnnlens.core.handle import ModelLike, _as_handle
from cnnlens.errors import CnnlensError

Classes = int | Sequence[int] | torch.Tensor | np.ndarray
"""A class (or unit) index for all images, or one per image: an int, a list, a 1-d array or
tensor (`batch.labels[:, 0]`), or a 0-d tensor / NumPy integer."""


def _per_image(spec: Classes) -> TypeGuard[Sequence[int] | torch.Tensor | np.ndarray]:
    """Whether `spec` lists one index per image rather than one index for all.

    One per image: a list, tuple, 1-d array or tensor; one for all: a Python, NumPy or 0-d tensor
    integer.
    """
    return getattr(spec, "ndim", 1) > 0 and hasattr(spec, "__len__")


Score = Callable[[torch.Tensor], torch.Tensor]
"""A custom target: the output logits (N, classes), or a layer's values (N, C, H, W), to one
score per image (N,). E.g. `lambda logits: logits[:, 3] - logits[:, 5]` (class 3 against 5)."""


@legacy_fields(("channel", "layer", "y", "x", "probability"), {"channel": "unit"})
@dataclass(frozen=True, kw_only=True)
class Target:
    """A scalar per image to differentiate: a class score, a channel, a unit, or a custom score.

    The custom score is a callable on the layer's (or output's) values: pytorch-grad-cam's idea.

    Args:
        unit: A unit (channel) of `layer` — a class when `layer` is None — one for all images or one
            per image.
        layer: A layer name; None means the model's output, whose units are the classes.
        y: Row of one position of the layer's map; with `x`. Otherwise the unit's mean over
            positions is used.
        x: Column of that position.
        probability: For the output: the softmax probability (within the class's head) instead of
            the raw logit.
        score: Instead of `unit`: a callable from the layer's (or the output's) values to one
            score per image, e.g. `Target(score=lambda logits: logits[:, 3] - logits[:, 5])`.

    Raises:
        CnnlensError: `layer` is not a string; neither or both of `unit` and `score` given.
    """

    unit: Classes | None = None
    layer: str | None = None
    y: int | None = None
    x: int | None = None
    probability: bool = False
    score: Score | None = None

    def __post_init__(self) -> None:
        # a layer given as 0 would otherwise read as "no layer": the model's output
        if self.layer is not None and not isinstance(self.layer, str):
            raise CnnlensError(
                f"layer names are strings like 'conv1', got {type(self.layer).__name__}"
            )
        if (self.unit is None) == (self.score is None):
            raise CnnlensError("a Target takes a unit (or class) index or a score callable")

    @property
    def channel(self) -> Classes | None:
        """0.x name of `unit`."""
        warn_once("Target.channel", "name", "Target.channel is now Target.unit")
        return self.unit


@legacy_calls(order=("index", "probability"))
def class_score(index: Classes, *, probability: bool = False) -> Target:
    """The logit (pre-softmax, the default) or the probability of a class.

    Args:
        index: A class index, or one per image (list, 1-d array or tensor).
        probability: Use the softmax probability within the class's head.

    Returns:
        The `Target`.
    """
    return Target(unit=index, probability=probability)


@legacy_calls(order=("layer", "unit", "y", "x"), renamed={"channel": "unit"})
def unit(layer: str, unit: Classes, *, y: int | None = None, x: int | None = None) -> Target:
    """A unit (channel) of a layer: its mean over positions, or its value at (y, x).

    Args:
        layer: A layer name, e.g. "conv3".
        unit: The channel index, or one per image.
        y: Row in the layer's map (with `x`); None for the mean over positions.
        x: Column in the layer's map.

    Returns:
        The `Target`.
    """
    return Target(unit=unit, layer=layer, y=y, x=x)


TargetLike = Target | Classes | Score
"""What the attribution methods explain: a `Target`, a class index, one class index per image, or
a `Score` callable on the output logits."""


def _as_target(target: TargetLike) -> Target:
    """Accept a Target, a class index, one class index per image, or a score callable."""
    if isinstance(target, Target):
        return target
    if callable(target) and not isinstance(target, torch.Tensor | np.ndarray):
        return Target(score=target)
    return class_score(target)


def _for_image(target: Target, n: int, count: int) -> Target:
    """The target for image n of `count` alone: a per-image list of indices picks image n's."""
    if target.unit is None or not _per_image(target.unit):
        return target
    indices = list(target.unit)
    if len(indices) != count:
        raise CnnlensError(f"got {len(indices)} target indices for {count} images")
    what = "class" if target.layer is None else "unit"
    return replace(target, unit=as_index(indices[n], what))


def _target_indices(
    spec: Classes, count: int, units: int, where: str, what: str = "class"
) -> torch.Tensor:
    """One validated index per image from a single index or a per-image sequence.

    A sequence is a list, 1-d array or tensor; `what` names them in errors ("class" or "unit").
    Returns (count,) int64.
    """
    indices = list(spec) if _per_image(spec) else [spec] * count
    if len(indices) != count:
        raise CnnlensError(f"got {len(indices)} target indices for {count} images")
    return torch.tensor([check_unit(index, units, where, what) for index in indices])


def _softmax_in_head(model: ModelLike | None, logits: torch.Tensor) -> torch.Tensor:
    """Probabilities over the head each class belongs to (all outputs for single-head models)."""
    if model is None:  # an objective called without its model
        raise CnnlensError("a class probability needs the model, for its heads")
    heads = _as_handle(model).heads
    if not heads:
        return logits.softmax(dim=1)
    probs = torch.empty_like(logits)
    for span in heads.values():
        probs[:, span] = logits[:, span].softmax(dim=1)
    return probs


def _select(model: ModelLike | None, values: torch.Tensor, target: Target) -> torch.Tensor:
    """The target's scalar for each image from the layer's (or output's) values: shape (N,)."""
    if target.unit is None:
        assert target.score is not None  # __post_init__: a unit or a score
        return _custom_score(target.score, values)
    where = target.layer or "the output"
    what = "class" if target.layer is None else "unit"
    classes = _target_indices(target.unit, len(values), values.shape[1], where, what)
    classes = classes.to(values.device)
    if target.layer is None and target.probability:
        values = _softmax_in_head(model, values)
    rows = torch.arange(values.shape[0], device=values.device)
    picked = values[rows, classes]
    if picked.dim() == 1:
        return picked
    height, width = picked.shape[-2:]
    if target.y is None or target.x is None:
        return picked.flatten(1).mean(dim=1)
    if not (0 <= target.y < height and 0 <= target.x < width):
        raise CnnlensError(
            f"position (y={target.y}, x={target.x}) outside {where}'s {height}×{width} map"
        )
    return picked[:, target.y, target.x]


def _custom_score(score: Score, values: torch.Tensor) -> torch.Tensor:
    """`score(values)`, checked to be one finite-typed float per image: shape (N,)."""
    scores = score(values)
    if not isinstance(scores, torch.Tensor) or tuple(scores.shape) != (len(values),):
        shape = tuple(scores.shape) if isinstance(scores, torch.Tensor) else type(scores).__name__
        raise CnnlensError(
            f"a target's score must return one value per image, shape ({len(values)},); got {shape}"
        )
    return scores


def _predicted(model: ModelLike, logits: torch.Tensor) -> list[int]:
    """Each image's top class: within the first head for multi-head models (ShapeNet: shape)."""
    heads = _as_handle(model).heads
    if heads:
        span = next(iter(heads.values()))
        return (logits[:, span].argmax(dim=1) + span.start).tolist()
    return logits.argmax(dim=1).tolist()
