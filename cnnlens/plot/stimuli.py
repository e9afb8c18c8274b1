"""Views for lecture 2: a unit's crops as a grid, and where each crop sits in its image."""

from __future__ import annotations

import numpy as np
import torch

from cnnlens.plot.images import grid, to_numpy

# A receptive field's frame: a white line with a black one just inside it. Shape-world objects
# are saturated colours and backgrounds muted tones, so on every one of them at least one of the
# two lines stands out (a single red line vanished on red objects).
BOX_OUTER_RGB = (1.0, 1.0, 1.0)
BOX_INNER_RGB = (0.0, 0.0, 0.0)


def crop_grid(crops: torch.Tensor | np.ndarray, columns: int = 3) -> np.ndarray:
    """The classic k-crop grid (3 × 3 for k = 9), best example first, white gutters."""
    return grid(to_numpy(crops), columns=columns, pad=2)


def boxed(
    image: torch.Tensor | np.ndarray,
    box: tuple[int, int, int, int],
    outer: tuple[float, float, float] = BOX_OUTER_RGB,
    inner: tuple[float, float, float] | None = BOX_INNER_RGB,
) -> np.ndarray:
    """An (H, W, 3) image with a frame on `box` (top, left, bottom, right; clipped to the image).

    A 1-pixel `outer` line and, where the box is at least 3 px wide, an `inner` line just inside it
    (None: one line only).
    """
    picture = to_numpy(image).copy()
    height, width = picture.shape[:2]
    top, left = max(box[0], 0), max(box[1], 0)
    bottom, right = min(box[2], height) - 1, min(box[3], width) - 1
    _frame(picture, top, left, bottom, right, outer)
    if inner is not None and bottom - top >= 2 and right - left >= 2:
        _frame(picture, top + 1, left + 1, bottom - 1, right - 1, inner)
    return picture


def _frame(
    picture: np.ndarray, top: int, left: int, bottom: int, right: int, rgb: tuple[float, ...]
) -> None:
    """Draw a 1-pixel rectangle (inclusive corners) on `picture` in place."""
    picture[top, left : right + 1] = rgb
    picture[bottom, left : right + 1] = rgb
    picture[top : bottom + 1, left] = rgb
    picture[top : bottom + 1, right] = rgb
