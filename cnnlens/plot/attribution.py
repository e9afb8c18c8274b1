"""Pictures of attribution maps: heat maps over the image, signed maps, RGB gradient images."""

from __future__ import annotations

import numpy as np

from cnnlens.plot.scales import heat_scale, signed_scale


def heat(values: np.ndarray) -> np.ndarray:
    """A non-negative map as RGB (inferno, see `heat_scale`): black = none, yellow = most.

    Args:
        values: (H, W) float array, >= 0 (e.g. saliency or Grad-CAM).

    Returns:
        (H, W, 3) float32 array in [0, 1].
    """
    return heat_scale(values).rgb(values)


def signed(values: np.ndarray) -> np.ndarray:
    """A signed map as RGB on the signed convention (`signed_scale`).

    Symmetric limits: red for, blue against, white = 0.

    Args:
        values: (H, W) float array (e.g. occlusion, CAM, gradient × input).

    Returns:
        (H, W, 3) float32 array in [0, 1].
    """
    return signed_scale(values).rgb(values)


def gradient_picture(gradient: np.ndarray) -> np.ndarray:
    """An input gradient as an image: mid-gray is zero, one scale for all channels.

    Args:
        gradient: (H, W, 3) float array (e.g. guided backprop, channels last).

    Returns:
        (H, W, 3) float array in [0, 1].
    """
    bound = max(float(np.abs(gradient).max()), 1e-12)
    return np.clip(0.5 + 0.5 * gradient / bound, 0.0, 1.0)


def overlay(image: np.ndarray, picture: np.ndarray, opacity: float) -> np.ndarray:
    """Blend a map's picture over the image; opacity 1 shows only the map.

    Args:
        image: (H, W, 3) float array in [0, 1].
        picture: (H, W, 3) float array in [0, 1], e.g. from `heat`.
        opacity: The picture's weight, in [0, 1].

    Returns:
        (H, W, 3) float array in [0, 1].
    """
    return (1.0 - opacity) * image + opacity * picture
