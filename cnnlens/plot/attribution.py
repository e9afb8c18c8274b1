"""Pictures of attribution maps: heat maps over the image, signed maps, RGB gradient images."""

from __future__ import annotations

import numpy as np

from cnnlens.plot.images import colorize


def heat(values: np.ndarray) -> np.ndarray:
    """A non-negative map as RGB (inferno): black = none, yellow = most."""
    return colorize(values, "inferno", vmin=0.0, vmax=max(float(values.max()), 1e-12))


def signed(values: np.ndarray) -> np.ndarray:
    """A signed map as RGB on a symmetric diverging scale: red for, blue against, white zero."""
    bound = max(float(np.abs(values).max()), 1e-12)
    return colorize(values, "RdBu_r", vmin=-bound, vmax=bound)


def gradient_picture(gradient: np.ndarray) -> np.ndarray:
    """An (H, W, 3) input gradient as an image: mid-gray is zero, one scale for all channels."""
    bound = max(float(np.abs(gradient).max()), 1e-12)
    return np.clip(0.5 + 0.5 * gradient / bound, 0.0, 1.0)


def overlay(image: np.ndarray, picture: np.ndarray, opacity: float) -> np.ndarray:
    """Blend a map's picture over the (H, W, 3) image; opacity 1 shows only the map."""
    return (1.0 - opacity) * image + opacity * picture
