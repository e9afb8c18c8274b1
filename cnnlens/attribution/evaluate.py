"""Ground-truth checks of attribution maps: the pointing game and the mass inside the object.

With the shape world's object masks, every method can be scored against where the object really
is, and against two baselines that know nothing: a random map and a centred Gaussian.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from cnnlens.core._legacy import legacy_calls
from cnnlens.errors import CnnlensError


def _check(maps: torch.Tensor, masks: torch.Tensor) -> None:
    if maps.dim() != 3 or maps.shape != masks.shape:
        raise CnnlensError(
            f"maps and masks must both be (N, H, W) of one size, got {tuple(maps.shape)} "
            f"and {tuple(masks.shape)}; resize coarse maps with attribution_map(maps, size=...)"
        )


def _dilate(masks: torch.Tensor, pixels: int) -> torch.Tensor:
    """Grow boolean (N, H, W) masks by `pixels` in every direction (a square neighbourhood)."""
    if pixels <= 0:
        return masks.bool()
    grown = F.max_pool2d(masks[:, None].float(), 2 * pixels + 1, stride=1, padding=pixels)
    return grown[:, 0] > 0


@legacy_calls(order=("maps", "masks", "tolerance"))
def pointing_game(maps: torch.Tensor, masks: torch.Tensor, *, tolerance: int = 0) -> torch.Tensor:
    """Per image: does the map's maximum fall on the object (grown by `tolerance` pixels)?

    The pointing game of Zhang et al., Top-down Neural Attention by Excitation Backprop, ECCV 2016,
    https://arxiv.org/abs/1608.00507. Ties (flat maxima, as occlusion makes) count as a hit when
    most tied pixels are on target.

    Args:
        maps: (N, H, W) float attribution maps at image resolution (`attribution_map` makes
            them of any method's result).
        masks: (N, H, W) bool object masks, e.g. a shape-world `Batch.object_masks`.
        tolerance: Pixels by which the object is grown before testing; >= 0.

    Returns:
        (N,) bool tensor: True where the peak is on the object.

    Raises:
        CnnlensError: `maps` is not (N, H, W) or differs in shape from `masks`.
    """
    _check(maps, masks)
    flat = maps.flatten(1)
    peak = flat == flat.max(dim=1, keepdim=True).values
    on_target = _dilate(masks, tolerance).flatten(1)
    return (peak & on_target).sum(dim=1) * 2 > peak.sum(dim=1)


def mass_inside(maps: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
    """Per image: the share of the map's positive mass that lies on the object.

    Args:
        maps: (N, H, W) float attribution maps at image resolution; negative values are ignored.
        masks: (N, H, W) bool object masks.

    Returns:
        (N,) float tensor in [0, 1].

    Raises:
        CnnlensError: `maps` is not (N, H, W) or differs in shape from `masks`.
    """
    _check(maps, masks)
    positive = maps.clamp(min=0).flatten(1)
    return (positive * masks.flatten(1)).sum(dim=1) / positive.sum(dim=1).clamp(min=1e-12)


@legacy_calls(order=("like", "seed"))
def random_maps(like: torch.Tensor, *, seed: int = 0) -> torch.Tensor:
    """The know-nothing baseline: uniform noise maps of the same shape (seeded).

    Args:
        like: Tensor whose shape and device the maps take, e.g. (N, H, W) masks.
        seed: Seed of the noise.

    Returns:
        Float tensor of `like`'s shape, uniform in [0, 1).
    """
    generator = torch.Generator().manual_seed(seed)
    return torch.rand(like.shape, generator=generator).to(like.device)


def center_maps(like: torch.Tensor) -> torch.Tensor:
    """The centre-bias baseline: a Gaussian bump in the middle of every image.

    Args:
        like: (N, ..., H, W) tensor whose count, size and device the maps take.

    Returns:
        (N, H, W) float tensor in (0, 1], 1 at the centre; the standard deviation is a sixth of the
        shorter side.
    """
    height, width = like.shape[-2:]
    ys = torch.arange(height, device=like.device) - (height - 1) / 2
    xs = torch.arange(width, device=like.device) - (width - 1) / 2
    bump = torch.exp(-(ys[:, None] ** 2 + xs[None, :] ** 2) / (2 * (min(height, width) / 6) ** 2))
    return bump.expand(like.shape[0], height, width)
