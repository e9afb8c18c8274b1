"""`attribution_map`: any attribution method's result as an (N, H, W) map over the image.

The shape convention it relies on is in the `cnnlens.attribution` package docstring.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from cnnlens.errors import CnnlensError

REDUCTIONS = ("max_abs", "abs_sum", "sum")


def upsample(maps: torch.Tensor, size: int | tuple[int, int]) -> torch.Tensor:
    """Bilinearly resize (N, h, w) maps to the image size.

    Args:
        maps: (N, h, w) float tensor, e.g. from `cam` or `grad_cam`.
        size: Target size in pixels: one side for square images, or (H, W).

    Returns:
        (N, H, W) float tensor.
    """
    return F.interpolate(maps[:, None], size=size, mode="bilinear", align_corners=False)[:, 0]


def attribution_map(
    attributions: torch.Tensor,
    *,
    reduce: str = "max_abs",
    size: int | tuple[int, int] | None = None,
) -> torch.Tensor:
    """Any attribution as an (N, H, W) map: the colour axis reduced, then resized.

    The reductions: "max_abs" takes the largest magnitude over the three colour channels, the
    saliency map of Simonyan et al., Deep Inside Convolutional Networks, ICLR 2014 workshop,
    https://arxiv.org/abs/1312.6034; "abs_sum" sums the magnitudes; "sum" keeps the sign (for
    gradient × input and integrated gradients, whose sum over channels is each pixel's share of the
    score). A map without a colour axis is only resized.

    Args:
        attributions: (N, 3, H, W) per-channel attributions, or (N, h, w) maps; float. One image's
            (3, H, W) result reads as three maps: give it as `values[None]`.
        reduce: "max_abs", "abs_sum" or "sum": how the colour axis becomes one value.
        size: Resize bilinearly to this many pixels (one side, or (H, W)); None keeps the size.

    Returns:
        (N, H, W) float tensor: >= 0 after "max_abs" and "abs_sum", signed after "sum" or for a
        signed map.

    Raises:
        CnnlensError: `attributions` is not a float tensor of 3 dimensions or of 4 with 3 channels;
            `reduce` is not one of the reductions.
    """
    if reduce not in REDUCTIONS:
        raise CnnlensError(f"reduce must be one of {REDUCTIONS}, got {reduce!r}")
    if not isinstance(attributions, torch.Tensor) or not attributions.is_floating_point():
        raise CnnlensError(
            f"attributions are a float tensor, got {type(attributions).__name__}"
            + (f" of {attributions.dtype}" if isinstance(attributions, torch.Tensor) else "")
        )
    shape = tuple(attributions.shape)
    if len(shape) == 4 and shape[1] == 3:
        if reduce == "max_abs":
            maps = attributions.abs().amax(dim=1)
        elif reduce == "abs_sum":
            maps = attributions.abs().sum(dim=1)
        else:
            maps = attributions.sum(dim=1)
    elif len(shape) == 3:
        maps = attributions
    else:
        raise CnnlensError(
            f"attributions are (N, 3, H, W) or (N, H, W), got shape {shape}; "
            "add the batch axis with [None]"
        )
    return maps if size is None else upsample(maps, size)
