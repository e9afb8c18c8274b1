"""Pictures of attribution maps: heat maps over the image, signed maps, RGB gradient images."""

from __future__ import annotations

import numpy as np

from cnnlens.plot.scales import heat_scale, signed_scale


def heat(values: np.ndarray) -> np.ndarray:
    """A non-negative map as RGB (inferno, see `heat_scale`): black = none, yellow = most."""
    return heat_scale(values).rgb(values)


def signed(values: np.ndarray) -> np.ndarray:
    """A signed map as RGB on the signed convention (`signed_scale`): symmetric limits, red for,
    blue against, white = 0."""
    return signed_scale(values).rgb(values)


def gradient_picture(gradient: np.ndarray) -> np.ndarray:
    """An (H, W, 3) input gradient as an image: mid-gray is zero, one scale for all channels."""
    bound = max(float(np.abs(gradient).max()), 1e-12)
    return np.clip(0.5 + 0.5 * gradient / bound, 0.0, 1.0)


def overlay(image: np.ndarray, picture: np.ndarray, opacity: float) -> np.ndarray:
    """Blend a map's picture over the (H, W, 3) image; opacity 1 shows only the map."""
    return (1.0 - opacity) * image + opacity * picture
