"""The sliding-window grid of occlusion methods: where the occluding windows go along one side.

Used by occlusion attribution (Zeiler & Fergus 2014) and by the empirical receptive field's
discrepancy maps (Zhou et al. 2015), so it lives below both.
"""

from __future__ import annotations

from cnnlens.errors import CnnlensError


def window_starts(size: int, window: int, stride: int) -> list[int]:
    """Top (or left) edges of the windows along one side.

    Every `stride` while they fit, and a last one flush with the border, so that every pixel is
    covered. Raises CnnlensError for a window outside 1..size and for a stride outside 1..window (a
    longer stride leaves pixels between the windows that no window covers).
    """
    if not 0 < window <= size:
        raise CnnlensError(f"occlusion window {window} must be between 1 and the image size {size}")
    if not 0 < stride <= window:
        raise CnnlensError(
            f"occlusion stride must be between 1 and the window {window}, got {stride}: "
            "a longer stride leaves pixels no window covers"
        )
    starts = list(range(0, size - window + 1, stride))
    return starts if starts[-1] == size - window else [*starts, size - window]
