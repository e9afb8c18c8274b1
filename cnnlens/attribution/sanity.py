"""The randomization sanity check: re-initialize the top of the network, compare the maps.

Adebayo et al., Sanity Checks for Saliency Maps, NeurIPS 2018, https://arxiv.org/abs/1810.03292. A
map that stays the same cannot be explaining what the network learned there.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence

import torch
from scipy.stats import spearmanr

from cnnlens.core._legacy import legacy_calls
from cnnlens.core._view import owning, working_view
from cnnlens.core.handle import LoadedModel
from cnnlens.core.layers import ModelLike, as_net, resolve_layers
from cnnlens.errors import CnnlensError


@legacy_calls(order=("model", "layers", "seed"))
def reinitialized(model: ModelLike, layers: Sequence[str], *, seed: int = 0) -> ModelLike:
    """A copy of the model (in eval mode) whose `layers` have fresh random parameters.

    The layers are re-initialized in order from `seed`; the model itself is untouched. The copy is a
    working view (`core.view`): the other layers share the model's weights, and nothing of the model
    is deep-copied (its hooks' owners may hold locks). Adebayo et al., NeurIPS 2018,
    https://arxiv.org/abs/1810.03292.

    Args:
        model: A `LoadedModel` or an `nn.Module`.
        layers: Names of the layers to re-initialize, e.g. the top ones.
        seed: Seed of the new parameters.

    Returns:
        The same kind of model as `model` (a `LoadedModel` stays one).

    Raises:
        CnnlensError: A layer is unknown or has no parameters to re-initialize.
    """
    net = working_view(as_net(model))
    with torch.random.fork_rng(devices=[]), torch.no_grad():
        torch.manual_seed(seed)
        for path in resolve_layers(net, layers):
            module = net.get_submodule(path)
            reset = getattr(module, "reset_parameters", None)
            if reset is None:
                raise CnnlensError(f"layer {path!r} has no parameters to re-initialize")
            owning(module)
            reset()
    return dataclasses.replace(model, net=net) if isinstance(model, LoadedModel) else net


def rank_correlation(before: torch.Tensor, after: torch.Tensor) -> float:
    """Mean over images of the Spearman rank correlation between two maps of each image.

    Args:
        before: (N, ...) maps, e.g. (N, H, W).
        after: Maps of the same shape.

    Returns:
        The mean correlation, in [-1, 1].

    Raises:
        CnnlensError: The shapes differ.
    """
    if before.shape != after.shape:
        raise CnnlensError(f"map shapes differ: {tuple(before.shape)} vs {tuple(after.shape)}")
    pairs = zip(before.detach().cpu(), after.detach().cpu(), strict=True)
    return float(sum(spearmanr(b.flatten(), a.flatten())[0] for b, a in pairs) / len(before))


@legacy_calls(order=("model", "maps", "layers", "seed"))
def randomization_check(
    model: ModelLike,
    maps: Callable[[ModelLike], torch.Tensor],
    layers: Sequence[str],
    *,
    seed: int = 0,
) -> float:
    """Rank correlation between the maps of the model and of the model with `layers` re-initialized.

    Near 1 means the map ignores what those layers learned. Adebayo et al., Sanity Checks for
    Saliency Maps, NeurIPS 2018, https://arxiv.org/abs/1810.03292.

    Args:
        model: A `LoadedModel` or an `nn.Module`.
        maps: Function from a model to its (N, ...) maps, e.g. `lambda m: saliency(m, images, 0)`.
        layers: Names of the layers to re-initialize.
        seed: Seed of the new parameters.

    Returns:
        The mean Spearman correlation, in [-1, 1].

    Raises:
        CnnlensError: A layer is unknown or has no parameters, or whatever `maps` raises.
    """
    return rank_correlation(maps(model), maps(reinitialized(model, layers, seed=seed)))
