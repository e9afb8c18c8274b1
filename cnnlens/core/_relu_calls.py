"""Every ReLU call of a forward pass, rerouted: the base of the backprop rules and leaky ReLUs.

A TorchFunctionMode sees `nn.ReLU` modules (in place or not) and the functional spellings `F.relu`,
`torch.relu`, `torch.relu_` and `Tensor.relu(_)` — torchvision's GoogLeNet and Inception use
functional ones — and the clipped ReLUs: `nn.ReLU6` (which calls `F.hardtanh(x, 0, 6)`), `F.relu6`
and any `F.hardtanh` whose lower bound is 0. Other nonlinearities (SiLU, Hardswish, GELU, ...) run
as they are and are counted in `others`, so a rule can say it left them alone. Nothing in the model
is touched; modes are thread-local and popped on exit.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Collection
from typing import Any

import torch
import torch.nn.functional as F
from torch.overrides import TorchFunctionMode

_OUT_OF_PLACE = {torch.relu, torch.Tensor.relu}
_IN_PLACE = {torch.relu_, torch.Tensor.relu_}

# Nonlinearities that are not ReLU gates (no 0/1 mask on the input's sign): their names.
OTHERS = {
    F.silu: "SiLU",
    F.hardswish: "Hardswish",
    F.gelu: "GELU",
    F.mish: "Mish",
    F.elu: "ELU",
    F.selu: "SELU",
    F.celu: "CELU",
    F.leaky_relu: "LeakyReLU",
    torch.prelu: "PReLU",
    F.softplus: "Softplus",
    torch.tanh: "Tanh",
    torch.sigmoid: "Sigmoid",
    F.hardsigmoid: "Hardsigmoid",
}


def _argument(
    args: tuple[Any, ...], kwargs: dict[str, Any], index: int, name: str, default: Any
) -> Any:
    """Argument `name` of a call, given by keyword or at position `index`."""
    return kwargs.get(name, args[index] if len(args) > index else default)


class ReLUCalls(TorchFunctionMode):
    """Within this context every ReLU call becomes `self.relu(x, inplace, upper)`.

    `others` counts the calls of other nonlinearities (by name, e.g. {"SiLU": 49}), which run
    unchanged.
    """

    def __init__(self) -> None:
        super().__init__()
        self.others: Counter[str] = Counter()

    def relu(self, x: torch.Tensor, inplace: bool, upper: float | None) -> torch.Tensor:
        """What a ReLU of `x`, clipped at `upper`, computes instead.

        `upper` is 6 for ReLU6, None when not clipped; in place, `x` itself must hold the result.
        """
        raise NotImplementedError

    def __torch_function__(
        self,
        func: Callable[..., Any],
        types: Collection[type],
        args: tuple[Any, ...] = (),
        kwargs: dict[str, Any] | None = None,
    ) -> Any:
        kwargs = kwargs or {}
        if func is F.relu or func is F.relu6:
            inplace = bool(_argument(args, kwargs, 1, "inplace", False))
            return self.relu(args[0], inplace, 6.0 if func is F.relu6 else None)
        if func in _IN_PLACE or func in _OUT_OF_PLACE:
            return self.relu(args[0], func in _IN_PLACE, None)
        if func is F.hardtanh:
            low = float(_argument(args, kwargs, 1, "min_val", -1.0))
            high = float(_argument(args, kwargs, 2, "max_val", 1.0))
            if low == 0.0 and high > 0.0:
                return self.relu(args[0], bool(_argument(args, kwargs, 3, "inplace", False)), high)
            self.others["Hardtanh"] += 1
        elif func in OTHERS:
            self.others[OTHERS[func]] += 1
        return func(*args, **kwargs)
