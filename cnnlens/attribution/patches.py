"""Gradient patches: a unit's top dataset crops beside what guided backprop (or another ReLU rule)
finds in each of them — the part of the crop that drives the unit at its strongest position."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from cnnlens.attribution.rules import relu_rule
from cnnlens.core.capture import forward_until_done, images_for, normalize_for, recording
from cnnlens.core.guard import preserved
from cnnlens.core.inputs import check_unit
from cnnlens.core.layers import ModelLike, as_net
from cnnlens.core.legacy import legacy_calls
from cnnlens.data.batches import Images, images_at
from cnnlens.errors import CnnlensError
from cnnlens.stimuli.crops import crop, source_images
from cnnlens.stimuli.receptive import receptive_field
from cnnlens.stimuli.topk import TopExamples


@dataclass(frozen=True)
class GradientPatches:
    """(k, 3, S, S) crops of a unit's top examples and the matching crops of the input gradient
    of the unit at each example's strongest position (rule: gradient, deconvnet or guided)."""

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
    """For each of the unit's top examples: its receptive-field crop, and the crop of d unit(y, x)
    / d image under `rule`, all k images in one forward and backward pass."""
    u = check_unit(unit, top.units, top.layer)
    if top.positions[u, 0, 0] < 0:
        raise CnnlensError(f"layer {top.layer!r} has no spatial map; pick a conv layer")
    net = as_net(model)
    examples = images_at(source_images(model, top, images), top.indices[u].tolist())
    positions = top.positions[u]
    x = images_for(model, examples).clone().requires_grad_(True)
    with (
        preserved(net) as guard,
        torch.enable_grad(),
        relu_rule(rule),
        recording(guard, [top.layer]) as out,
    ):
        forward_until_done(guard.model, normalize_for(model, x))
        values = out[top.layer][torch.arange(len(x)), u, positions[:, 0], positions[:, 1]]
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
