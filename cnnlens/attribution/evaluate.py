"""Ground-truth checks of attribution maps: the pointing game and the mass inside the object.

With the shape world's object masks, every method can be scored against where the object really
is, and against two baselines that know nothing: a random map and a centred Gaussian.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from cnnlens.core.legacy import legacy_calls
from cnnlens.errors import CnnlensError


def _check(maps: torch.Tensor, masks: torch.Tensor) -> None:
    if maps.dim() != 3 or maps.shape != masks.shape:
        raise CnnlensError(
            f"maps and masks must both be (N, H, W) of one size, got {tuple(maps.shape)} "
            f"and {tuple(masks.shape)}; upsample coarse maps first"
        )


def dilate(masks: torch.Tensor, pixels: int) -> torch.Tensor:
    """Grow boolean (N, H, W) masks by `pixels` in every direction (a square neighbourhood)."""
    if pixels <= 0:
        return masks.bool()
    grown = F.max_pool2d(masks[:, None].float(), 2 * pixels + 1, stride=1, padding=pixels)
    return grown[:, 0] > 0


@legacy_calls(order=("maps", "masks", "tolerance"))
def pointing_game(maps: torch.Tensor, masks: torch.Tensor, *, tolerance: int = 0) -> torch.Tensor:
    """Per image: does the map's maximum fall on the object (grown by `tolerance` px)? (N,) bool.

    Ties (flat maxima, as occlusion makes) count as a hit when most tied pixels are on target.
    """
    _check(maps, masks)
    flat = maps.flatten(1)
    peak = flat == flat.max(dim=1, keepdim=True).values
    on_target = dilate(masks, tolerance).flatten(1)
    return (peak & on_target).sum(dim=1) * 2 > peak.sum(dim=1)


def mass_inside(maps: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
    """Per image: the share of the map's positive mass that lies on the object. (N,)"""
    _check(maps, masks)
    positive = maps.clamp(min=0).flatten(1)
    return (positive * masks.flatten(1)).sum(dim=1) / positive.sum(dim=1).clamp(min=1e-12)


@legacy_calls(order=("like", "seed"))
def random_maps(like: torch.Tensor, *, seed: int = 0) -> torch.Tensor:
    """The know-nothing baseline: uniform noise maps of the same shape (seeded)."""
    generator = torch.Generator().manual_seed(seed)
    return torch.rand(like.shape, generator=generator).to(like.device)


def center_maps(like: torch.Tensor) -> torch.Tensor:
    """The centre-bias baseline: a Gaussian bump in the middle of every image."""
    height, width = like.shape[-2:]
    ys = torch.arange(height, device=like.device) - (height - 1) / 2
    xs = torch.arange(width, device=like.device) - (width - 1) / 2
    bump = torch.exp(-(ys[:, None] ** 2 + xs[None, :] ** 2) / (2 * (min(height, width) / 6) ** 2))
    return bump.expand(like.shape[0], height, width)
