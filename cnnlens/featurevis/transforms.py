"""Random transforms applied to the images before each forward (transformation robustness), and
the Gaussian blur with its σ schedule used by the blur regularizer.

A transform is a callable `(images, generator) -> images`; its randomness comes from the
render's seeded generator and is drawn once per step for the whole batch, so a batch of units is
rendered exactly as each unit would be alone.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F

from cnnlens.errors import CnnlensError

Transform = Callable[[torch.Tensor, torch.Generator], torch.Tensor]


def _uniform(generator: torch.Generator, low: float, high: float) -> float:
    return low + (high - low) * torch.rand((), generator=generator).item()


def _check(name: str, value: float, low: float = 0.0) -> None:
    if value < low:
        raise CnnlensError(f"{name} must be at least {low:g}, got {value:g}")


def jitter(pixels: int) -> Transform:
    """Shift the images by up to `pixels` in each direction (wrapping around)."""
    _check("jitter", pixels)

    def shift(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        dy, dx = torch.randint(-pixels, pixels + 1, (2,), generator=generator).tolist()
        return torch.roll(x, shifts=(dy, dx), dims=(2, 3))

    return shift


def pad(pixels: int, value: float = 0.5) -> Transform:
    """Surround the images with a constant border (mid-gray by default)."""
    _check("pad", pixels)
    return lambda x, _generator: F.pad(x, [pixels] * 4, value=value)


def scale(spread: float) -> Transform:
    """Resize the images by a random factor in [1 − spread, 1 + spread] (bilinear)."""
    _check("scale spread", spread)

    def resize(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        side = max(1, round(x.shape[-1] * _uniform(generator, 1 - spread, 1 + spread)))
        return F.interpolate(x, size=(side, side), mode="bilinear", align_corners=False)

    return resize


def rotate(degrees: float) -> Transform:
    """Rotate the images about their centre by a random angle in [−degrees, degrees]."""
    _check("rotation", degrees)

    def turn(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        angle = math.radians(_uniform(generator, -degrees, degrees))
        cos, sin = math.cos(angle), math.sin(angle)
        theta = x.new_tensor([[cos, -sin, 0.0], [sin, cos, 0.0]]).expand(len(x), 2, 3)
        grid = F.affine_grid(theta, list(x.shape), align_corners=False)
        return F.grid_sample(x, grid, padding_mode="reflection", align_corners=False)

    return turn


def compose(transforms: Sequence[Transform]) -> Transform:
    """Apply `transforms` in order."""

    def apply(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        for transform in transforms:
            x = transform(x, generator)
        return x

    return apply


def standard(size: int) -> list[Transform]:
    """Lucid's standard robustness transforms, their pixel amounts scaled from 128 px to `size`."""
    unit = size / 128
    return [
        pad(round(12 * unit)),
        jitter(round(8 * unit)),
        scale(0.1),
        rotate(10.0),
        jitter(max(1, round(4 * unit))),
    ]


def gaussian_blur(x: torch.Tensor, sigma: float) -> torch.Tensor:
    """Blur (N, C, H, W) images with a Gaussian of std `sigma` pixels (reflected borders)."""
    if sigma <= 0:
        return x
    radius = min(math.ceil(3 * sigma), x.shape[-1] - 1, x.shape[-2] - 1)
    offsets = torch.arange(-radius, radius + 1, device=x.device, dtype=x.dtype)
    kernel = torch.exp(-(offsets**2) / (2 * sigma**2))
    kernel = kernel / kernel.sum()
    channels = x.shape[1]
    rows = kernel.view(1, 1, -1, 1).expand(channels, 1, -1, 1)
    cols = kernel.view(1, 1, 1, -1).expand(channels, 1, 1, -1)
    x = F.pad(x, [radius] * 4, mode="reflect")
    return F.conv2d(F.conv2d(x, rows, groups=channels), cols, groups=channels)


def sigma_schedule(start: float, end: float) -> Callable[[float], float]:
    """σ shrinking linearly from `start` to `end` as the render goes from 0 to 1 (Øygard)."""
    _check("blur sigma", min(start, end))
    return lambda fraction: start + (end - start) * min(max(fraction, 0.0), 1.0)
