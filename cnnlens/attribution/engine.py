"""The backprop engine: scores of a target, and their gradient with respect to the input image.

Scores come from a (possibly truncated) forward; the gradient is taken with respect to the [0, 1]
input image.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from cnnlens.attribution.rules import relu_rule
from cnnlens.core._legacy import legacy_calls
from cnnlens.core.capture import _forward_in, _images_for
from cnnlens.core.guard import Guard, preserved
from cnnlens.core.handle import _as_handle
from cnnlens.core.layers import ModelLike, as_net, resolve_layer
from cnnlens.core.targets import Target, TargetLike, _as_target, _select


def _target_scores(
    model: ModelLike, guard: Guard, x: torch.Tensor, target: Target, layers: Sequence[str] = ()
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Run the forward only as far as the target needs; return its (N,) scores and `layers`.

    A target inside the network stops the forward at its layer (and at `layers`, whichever is
    later); a class target runs the whole network.
    """
    target_path = resolve_layer(guard.model, target.layer) if target.layer else None
    paths = [*layers, target_path] if target_path else list(layers)
    with _forward_in(guard, model, paths, truncate=target_path is not None) as forward:
        output = forward(x)
    recorded = forward.recorded
    values = recorded[target_path] if target_path else _as_handle(model).logits(output)
    return _select(model, values, target), recorded


@legacy_calls(order=("model", "images", "target", "rule"))
def input_gradient(
    model: ModelLike, images: torch.Tensor, target: TargetLike, *, rule: str = "gradient"
) -> torch.Tensor:
    """The gradient d target / d image, with ReLUs backpropagating by `rule`.

    Only the input gets a gradient (parameters' `.grad` is never touched), and a target inside the
    network stops the forward pass at its layer.

    Args:
        model: The network: a `LoadedModel` (its normalization is applied) or an `nn.Module`.
        images: (N, 3, H, W) or (3, H, W) float tensor in [0, 1].
        target: What to differentiate: a `Target`, a class index, or one class index per image.
        rule: How gradients pass back through ReLUs: "gradient", "deconvnet" or "guided" (see
            `relu_rule`).

    Returns:
        (N, 3, H, W) float tensor, signed.

    Raises:
        CnnlensError: An unknown `rule`; the target names an unknown layer, a unit or class out of
            range, or a position outside the map; `images` is not a finite float (N, 3, H, W) or (3,
            H, W) tensor.
    """
    net = as_net(model)
    target = _as_target(target)
    x = _images_for(model, images).clone().requires_grad_(True)
    with preserved(net) as guard, torch.enable_grad(), relu_rule(rule):
        scores, _ = _target_scores(model, guard, x, target)
        (gradient,) = torch.autograd.grad(scores.sum(), x)
    return gradient
