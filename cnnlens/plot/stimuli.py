"""Views for lecture 2: a unit's crops as a grid, and where each crop sits in its image."""

from __future__ import annotations

import numpy as np

from cnnlens.plot.images import grid, to_numpy

BOX_RGB = (1.0, 0.2, 0.1)


def crop_grid(crops, columns: int = 3) -> np.ndarray:
    """The classic k-crop grid (3 × 3 for k = 9), best example first, white gutters."""
    return grid(to_numpy(crops), columns=columns, pad=2)


def boxed(image, box: tuple[int, int, int, int], rgb=BOX_RGB) -> np.ndarray:
    """An (H, W, 3) image with a 1-pixel frame on `box` (top, left, bottom, right; clipped)."""
    picture = to_numpy(image).copy()
    height, width = picture.shape[:2]
    top, left = max(box[0], 0), max(box[1], 0)
    bottom, right = min(box[2], height) - 1, min(box[3], width) - 1
    picture[top, left : right + 1] = rgb
    picture[bottom, left : right + 1] = rgb
    picture[top : bottom + 1, left] = rgb
    picture[top : bottom + 1, right] = rgb
    return picture
