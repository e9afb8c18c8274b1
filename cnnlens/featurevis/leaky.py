"""Leaky ReLUs for the duration of a block, so a unit that starts dead still gets a gradient.

Every ReLU call (`core.relu_calls`: `nn.ReLU` modules, in place or not, functional spellings, and
clipped ReLUs such as ReLU6) becomes a leaky ReLU; a clipped one leaks above its top as well.
Nothing in the model is touched, and the mode is thread-local and popped on exit, so the model is
exactly as before afterwards.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from cnnlens.core._relu_calls import ReLUCalls
from cnnlens.errors import CnnlensError


class leaky_relus(ReLUCalls):
    """Context manager: within it every ReLU passes `slope` × x for negative x.

    A ReLU clipped at `upper` passes upper + `slope` × (x − upper) above it.

    Args:
        slope: The negative slope, in [0, 1].

    Raises:
        CnnlensError: `slope` is outside [0, 1].
    """

    def __init__(self, slope: float) -> None:
        if not 0 < slope < 1:
            raise CnnlensError(f"a leaky-ReLU slope must be between 0 and 1, got {slope:g}")
        super().__init__()
        self.slope = slope

    def relu(self, x: torch.Tensor, inplace: bool, upper: float | None) -> torch.Tensor:
        """Leaky ReLU (leaky above `upper` too, if given) in place of a ReLU call."""
        if upper is None:
            return F.leaky_relu(x, self.slope, inplace=inplace)
        source = x.clone() if inplace else x  # the backward reads it after x is overwritten
        leaky = torch.minimum(
            F.leaky_relu(source, self.slope), upper + self.slope * (source - upper)
        )
        return x.copy_(leaky) if inplace else leaky
