"""The backprop engine: the gradient of a target with respect to the [0, 1] input image."""

from __future__ import annotations

import torch

from cnnlens.backprop.rules import relu_rule
from cnnlens.backprop.targets import Classes, Target, as_target, select
from cnnlens.core.capture import forward_until_done, images_for, normalize_for, recording
from cnnlens.core.guard import preserved
from cnnlens.core.layers import ModelLike, as_net, resolve_layer


def input_gradient(
    model: ModelLike, images: torch.Tensor, target: Target | Classes, rule: str = "gradient"
) -> torch.Tensor:
    """d target / d image, (N, 3, H, W), with ReLUs backpropagating by `rule`.

    Only the input gets a gradient (parameters' `.grad` is never touched), and a target inside
    the network stops the forward pass at its layer.
    """
    net = as_net(model)
    target = as_target(target)
    path = resolve_layer(net, target.layer) if target.layer else None
    x = images_for(model, images).clone().requires_grad_(True)
    with preserved(net) as guard, torch.enable_grad(), relu_rule(rule):
        if path is None:
            values = net(normalize_for(model, x))
        else:
            with recording(guard, [path]) as outputs:
                forward_until_done(net, normalize_for(model, x))
            values = outputs[path]
        scores = select(model, values, target)
        (gradient,) = torch.autograd.grad(scores.sum(), x)
    return gradient
