"""A unit's binary mask: its activation map upsampled and thresholded at its top-quantile level.

The map is upsampled (bilinear) to the concept masks' resolution. Strictly above the level: a unit
that is zero on more than 99.5% of positions (T_k = 0) gets a mask only where it is positive, never
the whole image.

Bilinear values never exceed the map's maximum, so a unit whose peak on an image is at or below its
threshold has an empty mask there; only the remaining (image, unit) pairs — a few percent at a
top-0.5% level — are upsampled. The upsampling is separable: two small matrix products per map, the
same numbers as `F.interpolate(..., mode="bilinear", align_corners=False)`.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


def _bilinear_matrix(
    size_in: int, size_out: int, dtype: torch.dtype = torch.float32
) -> torch.Tensor:
    """(size_out, size_in) matrix of 1-D bilinear interpolation with align_corners=False."""
    scale = size_in / size_out
    source = ((torch.arange(size_out, dtype=torch.float64) + 0.5) * scale - 0.5).clamp(min=0)
    left = source.floor().long().clamp(max=size_in - 1)
    right = (left + 1).clamp(max=size_in - 1)
    weight = source - left
    matrix = torch.zeros(size_out, size_in, dtype=torch.float64)
    rows = torch.arange(size_out)
    matrix.index_put_((rows, left), 1 - weight, accumulate=True)
    matrix.index_put_((rows, right), weight, accumulate=True)
    return matrix.to(dtype)


def upsample(maps: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Bilinear upsampling of (..., h, w) maps to (..., H, W)."""
    rows = _bilinear_matrix(maps.shape[-2], size[0], maps.dtype).to(maps.device)
    cols = _bilinear_matrix(maps.shape[-1], size[1], maps.dtype).to(maps.device)
    return rows @ maps @ cols.T


@dataclass(frozen=True)
class ActiveMasks:
    """The non-empty unit masks of a batch: pair a is (images[a], units[a]) with masks[a]."""

    images: torch.Tensor  # int64 (A,) index in the batch
    units: torch.Tensor  # int64 (A,)
    masks: torch.Tensor  # bool (A, H, W)


def active_masks(
    maps: torch.Tensor, thresholds: torch.Tensor, size: tuple[int, int]
) -> ActiveMasks:
    """Masks of (N, U, h, w) maps thresholded at (U,) levels after upsampling to `size`.

    Pairs whose peak is at or below the threshold (an empty mask) are left out.
    """
    peaks = maps.amax(dim=(2, 3))
    images, units = (peaks > thresholds.to(peaks)[None]).nonzero(as_tuple=True)
    masks = upsample(maps[images, units], size) > thresholds.to(maps)[units, None, None]
    return ActiveMasks(images, units, masks)
