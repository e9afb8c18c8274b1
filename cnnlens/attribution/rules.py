"""How gradients pass back through ReLUs: the plain gradient, deconvnet, or guided backprop.

The three rules differ only at ReLUs (Springenberg et al.): the gradient passes where the ReLU's
*input* was positive; deconvnet passes where the *returning gradient* is positive; guided
backprop requires both. Every ReLU call made during the forward pass (`core.relu_calls`: modules
and functional spellings) goes through one autograd function with the chosen rule, without
touching the model.
"""

from __future__ import annotations

from typing import Any, Literal

import torch

from cnnlens.core.relu_calls import ReLUCalls
from cnnlens.errors import CnnlensError

Rule = Literal["gradient", "deconvnet", "guided"]
RULES: tuple[str, ...] = ("gradient", "deconvnet", "guided")


class _RuleReLU(torch.autograd.Function):
    """max(x, 0) forward; backward by the rule. Saves only the input's sign, never the input."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, rule: str) -> torch.Tensor:
        ctx.rule = rule
        ctx.save_for_backward(x > 0)
        return x.clamp(min=0)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor, None]:
        (positive,) = ctx.saved_tensors
        if ctx.rule == "deconvnet":
            return grad.clamp(min=0), None
        passed = grad * positive
        return (passed.clamp(min=0) if ctx.rule == "guided" else passed), None


class relu_rule(ReLUCalls):
    """Within this context every ReLU call backpropagates by `rule`."""

    def __init__(self, rule: str) -> None:
        if rule not in RULES:
            raise CnnlensError(f"unknown backprop rule {rule!r}; choose one of {', '.join(RULES)}")
        super().__init__()
        self.rule = rule

    def relu(self, x: torch.Tensor, inplace: bool) -> torch.Tensor:
        if inplace:
            # Keep in-place semantics (callers may use the argument, not the result) while the
            # gradient still flows through the rule: copy_ passes the gradient to `out`.
            return x.copy_(_RuleReLU.apply(x, self.rule))
        return _RuleReLU.apply(x, self.rule)
