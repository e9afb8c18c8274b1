"""Neuron-to-neuron contributions for one image: which units of earlier layers feed a chosen unit.

A unit's contribution to a later one is gradient × activation, summed over the unit's positions:
d target / d a · a. For a layer followed only by bias-free linear maps and ReLUs (piecewise linear
and homogeneous), the contributions of all units add up exactly to the target (Euler's theorem);
otherwise they are its first-order decomposition. Repeating the question for the strongest
contributors, layer by layer, gives a small layered graph of the image's evidence.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from cnnlens.core._inputs import check_unit
from cnnlens.core._legacy import legacy_calls, warn_once
from cnnlens.core.capture import _forward_pass, _images_for
from cnnlens.core.layers import ModelLike, resolve_layers
from cnnlens.core.targets import Target
from cnnlens.errors import CnnlensError


@dataclass(frozen=True)
class ContributionGraph:
    """A unit's evidence graph: layers from the input side to the target, units and edges.

    Attributes:
        layers: Layer names, input side first; the target unit's layer last.
        nodes: `nodes[i]` maps each unit shown at `layers[i]` to its (channel-mean) activation.
        edges: (layer index, source unit, target unit, weight) tuples; the weight is the source
            unit's contribution (gradient × activation).
    """

    layers: list[str]
    nodes: list[dict[int, float]]
    edges: list[tuple[int, int, int, float]]


def _target_third(args: tuple) -> bool:
    """0.x order (model, image, (layer, unit), source): the target where 1.0 takes the source."""
    return len(args) > 2 and not isinstance(args[2], str)


@legacy_calls(order=("model", "image", "target", "source"), old_order=_target_third)
def contributions(
    model: ModelLike, image: torch.Tensor, source: str, target: Target | tuple[str, int]
) -> torch.Tensor:
    """Contribution of every unit of layer `source` to a unit of a later layer, for one image.

    A contribution is gradient × activation summed over the source unit's positions; see the module
    docstring for when they add up exactly to the target.

    Args:
        model: The network: a `LoadedModel` (its normalization is applied) or an `nn.Module`.
        image: One image, (3, H, W) or (1, 3, H, W) float tensor in [0, 1].
        source: Name of the earlier layer whose units contribute.
        target: A unit of a later layer: `unit(layer, u)` (its mean over positions), or the 0.x
            tuple (layer, u).

    Returns:
        (units of source,) float tensor, signed.

    Raises:
        CnnlensError: `target` is not a unit of a layer; it does not depend on `source`; a layer is
            unknown or the unit out of range; `image` is invalid.
    """
    if isinstance(target, tuple):
        warn_once("contributions", "tuple", "contributions' target is now unit(layer, u)")
        target = Target(unit=target[1], layer=target[0])
    if target.layer is None or target.y is not None or not isinstance(target.unit, int):
        raise CnnlensError("contributions explain one unit of a layer: give unit(layer, u)")
    source_path, target_path = resolve_layers(model, [source, target.layer])
    values = _recorded(model, image, [source_path, target_path])
    return _table(values, source_path, target_path, [target.unit])[0]


@legacy_calls(order=("model", "image", "layers", "unit", "fanout"))
def contribution_graph(
    model: ModelLike,
    image: torch.Tensor,
    layers: list[str],
    unit: int,
    *,
    fanout: int = 3,
) -> ContributionGraph:
    """Follow a unit's strongest contributors back through earlier layers, for one image.

    From `unit` of the last of `layers`, the `fanout` strongest contributors in each earlier layer
    become the next targets: one forward pass, one backward per target.

    Args:
        model: The network: a `LoadedModel` (its normalization is applied) or an `nn.Module`.
        image: One image, (3, H, W) or (1, 3, H, W) float tensor in [0, 1].
        layers: At least two layer names, input side first.
        unit: The unit (channel) of the last layer to explain.
        fanout: Contributors kept per target unit; >= 1.

    Returns:
        The `ContributionGraph`.

    Raises:
        CnnlensError: Fewer than two layers; `fanout` < 1; a layer does not depend on the one before
            it; an unknown layer or a unit out of range; `image` is invalid.
    """
    if len(layers) < 2:
        raise CnnlensError("name at least two layers, input side first")
    if fanout < 1:
        raise CnnlensError(f"fanout must be at least 1, got {fanout}")
    paths = resolve_layers(model, layers)
    values = _recorded(model, image, paths)
    acts = {p: _mean_per_unit(values[p])[0].detach().cpu() for p in paths}
    check_unit(unit, len(acts[paths[-1]]), paths[-1])
    nodes: list[dict[int, float]] = [{} for _ in paths]
    nodes[-1][unit] = float(acts[paths[-1]][unit])
    edges = []
    for i in range(len(paths) - 1, 0, -1):
        targets = sorted(nodes[i])
        table = _table(values, paths[i - 1], paths[i], targets)
        for t, row in zip(targets, table, strict=True):
            for s in row.abs().topk(min(fanout, len(row))).indices.tolist():
                nodes[i - 1][s] = float(acts[paths[i - 1]][s])
                edges.append((i - 1, s, t, float(row[s])))
    return ContributionGraph(paths, nodes, edges)


def _recorded(model: ModelLike, image: torch.Tensor, paths: list[str]) -> dict[str, torch.Tensor]:
    """The outputs of `paths` for one image, still attached to the autograd graph between them."""
    x = _images_for(model, _one(image)).clone().requires_grad_(True)  # so the graph is recorded
    with _forward_pass(model, paths, grad=True) as forward:
        forward(x)
    return {p: forward.recorded[p] for p in paths}


def _table(
    values: dict[str, torch.Tensor], source: str, target: str, units: list[int]
) -> torch.Tensor:
    """(len(units), source units): gradient × activation of `source` for each unit of `target`."""
    before, after = values[source], _mean_per_unit(values[target])[0]
    rows = []
    for u in units:
        check_unit(u, len(after), target)
        (gradient,) = torch.autograd.grad(after[u], before, retain_graph=True, allow_unused=True)
        if gradient is None:
            raise CnnlensError(f"{target!r} does not depend on {source!r}")
        rows.append(_mean_per_unit(gradient * before)[0] * _positions(before))
    return torch.stack(rows).detach().cpu()


def _one(image: torch.Tensor) -> torch.Tensor:
    if isinstance(image, torch.Tensor) and image.dim() == 4 and image.shape[0] != 1:
        raise CnnlensError(f"contributions take one image, got a batch of {image.shape[0]}")
    return image


def _mean_per_unit(values: torch.Tensor) -> torch.Tensor:
    return values.flatten(2).mean(dim=2) if values.dim() == 4 else values


def _positions(values: torch.Tensor) -> int:
    return values.shape[-1] * values.shape[-2] if values.dim() == 4 else 1
