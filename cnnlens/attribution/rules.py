"""How gradients pass back through ReLUs: the plain gradient, deconvnet, or guided backprop.

The three rules differ only at ReLUs (Springenberg et al. 2015, "Striving for Simplicity",
https://arxiv.org/abs/1412.6806; deconvnet: Zeiler & Fergus 2014, https://arxiv.org/abs/1311.2901):
the gradient passes where the ReLU's *input* was positive; deconvnet passes where the *returning
gradient* is positive; guided backprop requires both. Every ReLU call made during the forward pass
(`core.relu_calls`: modules and functional spellings, ReLU6 included, where "positive input" means
inside (0, 6)) goes through one autograd function with the chosen rule, without touching the
model. Nonlinearities that are not ReLU gates (SiLU, Hardswish, GELU, ...) have no deconvnet or
guided rule: they keep their own gradient, and the call says how many it left so.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import TracebackType
from typing import Any, Literal

import torch

from cnnlens.core._notes import note
from cnnlens.core._relu_calls import ReLUCalls
from cnnlens.errors import CnnlensError

Rule = Literal["gradient", "deconvnet", "guided"]
RULES: tuple[str, ...] = ("gradient", "deconvnet", "guided")


class _RuleReLU(torch.autograd.Function):
    """clamp(x, 0, upper) forward; backward by the rule.

    Saves only where the input was inside (0, upper), never the input.
    """

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, rule: str, upper: float | None) -> torch.Tensor:
        ctx.rule = rule
        inside = x > 0 if upper is None else (x > 0) & (x < upper)
        ctx.save_for_backward(inside)
        return x.clamp(min=0, max=upper)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor, None, None]:
        (inside,) = ctx.saved_tensors
        if ctx.rule == "deconvnet":
            return grad.clamp(min=0), None, None
        passed = grad * inside
        return (passed.clamp(min=0) if ctx.rule == "guided" else passed), None, None


def _unruled_note(rule: str, others: Mapping[str, int]) -> str:
    """One line saying how many non-ReLU activation calls a rule left as they are.

    "" if none, or for the plain gradient, which is exact there.
    """
    if rule == "gradient" or not others:
        return ""
    kinds = ", ".join(f"{name} ×{count}" for name, count in sorted(others.items()))
    return (
        f"{rule}: {sum(others.values())} activations are not ReLUs ({kinds}) and have no "
        f"{rule} rule; they pass the plain gradient"
    )


class relu_rule(ReLUCalls):
    """Context manager: within it every ReLU call backpropagates by `rule`.

    ReLU6 and other clipped ReLUs follow the rule too. Other nonlinearities keep their own gradient;
    on a clean exit, a rule other than the plain gradient says how many there were (`core._notes`:
    one line). The rules: Zeiler & Fergus, ECCV 2014, https://arxiv.org/abs/1311.2901 (deconvnet);
    Springenberg et al., ICLR 2015, https://arxiv.org/abs/1412.6806 (guided backprop).

    Args:
        rule: "gradient" (the plain gradient), "deconvnet" or "guided".

    Raises:
        CnnlensError: An unknown `rule`.
    """

    def __init__(self, rule: str) -> None:
        if rule not in RULES:
            raise CnnlensError(f"unknown backprop rule {rule!r}; choose one of {', '.join(RULES)}")
        super().__init__()
        self.rule = rule

    def relu(self, x: torch.Tensor, inplace: bool, upper: float | None) -> torch.Tensor:
        """ReLU (clipped at `upper` if given) forward whose backward follows the rule."""
        if inplace:
            # Keep in-place semantics (callers may use the argument, not the result) while the
            # gradient still flows through the rule: copy_ passes the gradient to `out`.
            return x.copy_(_RuleReLU.apply(x, self.rule, upper))
        return _RuleReLU.apply(x, self.rule, upper)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        super().__exit__(exc_type, exc_value, traceback)
        text = _unruled_note(self.rule, self.others)
        if exc_type is None and text:
            note(text)
