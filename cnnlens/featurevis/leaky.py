"""Leaky ReLUs for the duration of a block, so a unit that starts dead still gets a gradient.

A TorchFunctionMode reroutes every ReLU call — `nn.ReLU` modules (in place or not) and functional
`F.relu` / `torch.relu` / `Tensor.relu_` — to a leaky ReLU. Nothing in the model is touched, and
the mode is thread-local and popped on exit, so the model is exactly as before afterwards.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch.overrides import TorchFunctionMode

from cnnlens.errors import CnnlensError

_RELU = {torch.relu, torch.Tensor.relu, F.relu}
_RELU_IN_PLACE = {torch.relu_, torch.Tensor.relu_}


class leaky_relus(TorchFunctionMode):
    """Within this context every ReLU passes `slope` × x for negative x."""

    def __init__(self, slope: float) -> None:
        if not 0 < slope < 1:
            raise CnnlensError(f"a leaky-ReLU slope must be between 0 and 1, got {slope:g}")
        super().__init__()
        self.slope = slope

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func in _RELU_IN_PLACE:
            return F.leaky_relu(args[0], self.slope, inplace=True)
        if func in _RELU:
            inplace = bool(kwargs.get("inplace") or (len(args) > 1 and args[1]))
            return F.leaky_relu(args[0], self.slope, inplace=inplace)
        return func(*args, **kwargs)
