"""Class activation maps: CAM for global-average-pooling nets, Grad-CAM, guided Grad-CAM.

Maps come at the layer's resolution; `attribution_map(maps, size=...)` brings them to the image's.
"""

from __future__ import annotations

import torch
from torch import nn

from cnnlens.attribution.engine import _target_scores
from cnnlens.attribution.maps import guided_backprop
from cnnlens.attribution.reduce import upsample
from cnnlens.core._legacy import legacy_calls
from cnnlens.core.capture import _forward_pass, _images_for
from cnnlens.core.guard import preserved
from cnnlens.core.layers import ModelLike, as_net, resolve_layer
from cnnlens.core.targets import TargetLike, _as_target, _target_indices
from cnnlens.errors import CnnlensError


def _gap_head(net: nn.Module) -> tuple[str, nn.Linear]:
    """The global-average-pooling module and the linear layer after it (what CAM needs)."""
    modules = list(net.named_modules())
    pools = [
        path
        for path, m in modules
        if isinstance(m, nn.AdaptiveAvgPool2d) and m.output_size in (1, (1, 1))
    ]
    linears = [m for _, m in modules if isinstance(m, nn.Linear)]
    if not pools or not linears:
        raise CnnlensError(
            f"CAM needs global average pooling followed by a linear layer, which "
            f"{type(net).__name__} lacks; use grad_cam(model, images, layer, target)"
        )
    return pools[-1], linears[-1]


def cam(model: ModelLike, images: torch.Tensor, target: TargetLike) -> torch.Tensor:
    """Class activation map: the class's linear weights applied to the globally pooled maps.

    Zhou et al., Learning Deep Features for Discriminative Localization (CAM), CVPR 2016,
    https://arxiv.org/abs/1512.04150.

    The mean of the map plus the class's bias is exactly the class logit. The forward stops at the
    pooling.

    Args:
        model: A network whose head is global average pooling followed by a linear layer: a
            `LoadedModel` or an `nn.Module`.
        images: (N, 3, H, W) or (3, H, W) float tensor in [0, 1].
        target: A class: an index, one index per image, or `class_score(...)` (its logit).

    Returns:
        (N, h, w) float tensor at the pooled layer's resolution, signed, in logit units.

    Raises:
        CnnlensError: The model has no global-average-pooling + linear head; `target` is not a class
            (a unit of a layer or a probability); a class index is out of range; `images` is not a
            finite float (N, 3, H, W) or (3, H, W) tensor.
    """
    target = _as_target(target)
    if target.layer is not None or target.probability or target.unit is None:
        raise CnnlensError("CAM explains a class logit: give a class index or class_score(index)")
    net = as_net(model)
    pool, fc = _gap_head(net)
    x = _images_for(model, images)
    with _forward_pass(model, [pool], at_input=True) as forward:
        forward(x)
    maps = _with_extent(forward.recorded[pool], f"CAM at the input of {pool!r}")
    classes = _target_indices(target.unit, len(maps), fc.out_features, "the output").to(maps.device)
    return torch.einsum("nk,nkhw->nhw", fc.weight.detach()[classes], maps)


def _target_third(args: tuple) -> bool:
    """0.x order (model, images, target, layer): a target where 1.0 takes the layer name."""
    return len(args) > 2 and not isinstance(args[2], str)


@legacy_calls(order=("model", "images", "target", "layer"), old_order=_target_third)
def grad_cam(
    model: ModelLike,
    images: torch.Tensor,
    layer: str,
    target: TargetLike,
    *,
    signed: bool = False,
) -> torch.Tensor:
    """ReLU(sum_k mean(d score / d A_k) * A_k) at `layer`: the Grad-CAM map.

    Selvaraju et al., Grad-CAM: Visual Explanations from Deep Networks via Gradient-based
    Localization, ICCV 2017, https://arxiv.org/abs/1610.02391.

    Args:
        model: The network: a `LoadedModel` (its normalization is applied) or an `nn.Module`.
        images: (N, 3, H, W) or (3, H, W) float tensor in [0, 1].
        layer: Name of a layer with (C, h, w) maps, e.g. "relu4_2".
        target: What to explain: a `Target` (a class or a unit of a later layer), a class index, or
            one class index per image.
        signed: Return the sum before the ReLU: negative where the layer's maps speak against the
            target.

    Returns:
        (N, h, w) float tensor at the layer's resolution; >= 0 unless `signed`.

    Raises:
        CnnlensError: `layer` is unknown or has no (C, H, W) maps, or is 1×1; the target does not
            depend on `layer` (it comes before it or on another branch); the target is out of range;
            `images` is not a finite float (N, 3, H, W) or (3, H, W) tensor.
    """
    net = as_net(model)
    target = _as_target(target)
    path = resolve_layer(net, layer)
    x = _images_for(model, images).clone().requires_grad_(True)  # so the forward builds a graph
    with preserved(net) as guard, torch.enable_grad():
        scores, recorded = _target_scores(model, guard, x, target, layers=[path])
        activations = recorded[path]
        if activations.dim() != 4:
            raise CnnlensError(f"Grad-CAM needs a layer with (C, H, W) maps; {path!r} is not one")
        (gradients,) = torch.autograd.grad(scores.sum(), activations, allow_unused=True)
    if gradients is None:
        raise CnnlensError(
            f"the target at {target.layer or 'the output'!r} does not depend on {path!r} (it comes "
            "before it or on another branch): choose a Grad-CAM layer before the target"
        )
    _with_extent(activations, f"Grad-CAM at {path!r}")
    weights = gradients.mean(dim=(2, 3), keepdim=True)
    maps = (weights * activations).sum(dim=1).detach()
    return maps if signed else maps.clamp(min=0)


def _with_extent(maps: torch.Tensor, what: str) -> torch.Tensor:
    """`maps` (N, C, h, w), if they have more than one position.

    A class activation map of a 1×1 layer (after global pooling, or a deep layer at a small input)
    is one flat value. Raises CnnlensError for 1×1 maps; `what` names the map ("Grad-CAM at 'gap'").
    """
    if maps.shape[-2:] == (1, 1):
        raise CnnlensError(
            f"{what} is a 1×1 map, one flat value: use a layer with spatial extent or a larger "
            "input image"
        )
    return maps


@legacy_calls(order=("model", "images", "target", "layer"), old_order=_target_third)
def guided_grad_cam(
    model: ModelLike, images: torch.Tensor, layer: str, target: TargetLike
) -> torch.Tensor:
    """Guided backprop weighted by the upsampled Grad-CAM map.

    Selvaraju et al., Grad-CAM, ICCV 2017, https://arxiv.org/abs/1610.02391 (guided Grad-CAM);
    guided backprop: Springenberg et al., ICLR 2015, https://arxiv.org/abs/1412.6806.

    Args:
        model: The network: a `LoadedModel` (its normalization is applied) or an `nn.Module`.
        images: (N, 3, H, W) or (3, H, W) float tensor in [0, 1].
        layer: Name of the Grad-CAM layer, one with (C, h, w) maps.
        target: What to explain: a `Target`, a class index, or one class index per image.

    Returns:
        (N, 3, H, W) float tensor, signed.

    Raises:
        CnnlensError: As `grad_cam` and `guided_backprop`: unknown or unsuitable `layer`, a target
            that does not depend on it or is out of range, or invalid `images`.
    """
    coarse = grad_cam(model, images, layer, target)
    guided = guided_backprop(model, images, target)
    return guided * upsample(coarse, (guided.shape[-2], guided.shape[-1]))[:, None]
