"""Every ReLU call of a forward pass, rerouted: the base of the backprop rules and of the render's
leaky ReLUs.

A TorchFunctionMode sees `nn.ReLU` modules (in place or not) and the functional spellings
`F.relu`, `torch.relu`, `torch.relu_` and `Tensor.relu(_)` — torchvision's GoogLeNet and Inception
use functional ones — without touching the model. Modes are thread-local and popped on exit.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch.overrides import TorchFunctionMode

_OUT_OF_PLACE = {torch.relu, torch.Tensor.relu}
_IN_PLACE = {torch.relu_, torch.Tensor.relu_}


class ReLUCalls(TorchFunctionMode):
    """Within this context every ReLU call becomes `self.relu(x, inplace)`."""

    def relu(self, x: torch.Tensor, inplace: bool) -> torch.Tensor:
        """What a ReLU of `x` computes instead (in place: `x` itself must hold the result)."""
        raise NotImplementedError

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func is F.relu:
            inplace = bool(kwargs.get("inplace") or (len(args) > 1 and args[1]))
            return self.relu(args[0], inplace)
        if func in _IN_PLACE or func in _OUT_OF_PLACE:
            return self.relu(args[0], func in _IN_PLACE)
        return func(*args, **kwargs)
