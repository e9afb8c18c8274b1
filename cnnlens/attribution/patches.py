"""Gradient patches: a unit's top dataset crops beside what guided backprop finds in each of them.

Guided backprop (or another ReLU rule) shows the part of the crop that drives the unit at its
strongest position.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from cnnlens.attribution.rules import relu_rule
from cnnlens.core._inputs import check_unit
from cnnlens.core._legacy import legacy_calls
from cnnlens.core.capture import _forward_pass, _images_for
from cnnlens.core.layers import ModelLike
from cnnlens.data._batches import Images, images_at
from cnnlens.errors import CnnlensError
from cnnlens.stimuli.crops import _source_images, crop
from cnnlens.stimuli.receptive import receptive_field
from cnnlens.stimuli.topk import TopExamples


@dataclass(frozen=True)
class GradientPatches:
    """Crops of a unit's top examples and the matching crops of the unit's input gradient.

    Attributes:
        layer: The unit's layer.
        unit: The unit (channel).
        rule: The ReLU rule of the gradients: "gradient", "deconvnet" or "guided".
        crops: (k, 3, S, S) receptive-field crops of the top examples, in [0, 1].
        gradients: (k, 3, S, S) crops of d unit(y, x) / d image at each example's strongest
            position; signed, 0 outside the image.
    """

    layer: str
    unit: int
    rule: str
    crops: torch.Tensor
    gradients: torch.Tensor


@legacy_calls(order=("model", "top", "unit", "images", "rule"))
def gradient_patches(
    model: ModelLike,
    top: TopExamples,
    unit: int,
    *,
    images: Images | None = None,
    rule: str = "guided",
) -> GradientPatches:
    """For each of a unit's top examples: its receptive-field crop and its input-gradient crop.

    The gradient is d unit(y, x) / d image under `rule` at the example's strongest position; all k
    images go through one forward and backward pass. The method of Zeiler & Fergus (ECCV 2014,
    https://arxiv.org/abs/1311.2901) and Springenberg et al. (ICLR 2015,
    https://arxiv.org/abs/1412.6806).

    Args:
        model: The network: a `LoadedModel` (its normalization is applied) or an `nn.Module`.
        top: The layer's `TopExamples` (from `cnnlens.stimuli.top_examples`).
        unit: The unit (channel) of `top.layer`.
        images: The images `top` was computed on, if it did not run on the default probe set.
        rule: "gradient", "deconvnet" or "guided".

    Returns:
        The `GradientPatches`: k crops of S × S pixels, S the layer's receptive field.

    Raises:
        CnnlensError: `unit` is out of range; the layer has no spatial map; an unknown `rule`.
    """
    u = check_unit(unit, top.units, top.layer)
    if top.positions[u, 0, 0] < 0:
        raise CnnlensError(f"layer {top.layer!r} has no spatial map; pick a conv layer")
    examples = images_at(_source_images(model, top, images), top.indices[u].tolist())
    positions = top.positions[u]
    x = _images_for(model, examples).clone().requires_grad_(True)
    with _forward_pass(model, [top.layer], grad=True) as forward, relu_rule(rule):
        forward(x)
        values = forward.recorded[top.layer]
        values = values[torch.arange(len(x)), u, positions[:, 0], positions[:, 1]]
        (gradient,) = torch.autograd.grad(values.sum(), x)
    field = receptive_field(model, top.layer)
    pairs = [
        (crop(image, field, y, x_), crop(g, field, y, x_, outside=0.0))
        for image, g, (y, x_) in zip(examples, gradient.cpu(), positions.tolist(), strict=True)
    ]
    return GradientPatches(
        top.layer,
        u,
        rule,
        torch.stack([c for c, _ in pairs]),
        torch.stack([g for _, g in pairs]),
    )
