"""An independent, exhaustive record of a model's state, to check the model-unchanged contract."""

from __future__ import annotations

import torch
from torch import nn

_HOOK_DICTS = (
    "_forward_hooks",
    "_forward_pre_hooks",
    "_backward_hooks",
    "_backward_pre_hooks",
    "_state_dict_hooks",
    "_load_state_dict_pre_hooks",
)


def _global_hooks() -> dict[str, int]:
    from torch.nn.modules import module as m

    names = [n for n in dir(m) if n.startswith("_global_") and n.endswith("hooks")]
    return {n: len(getattr(m, n)) for n in names}


def snapshot(net: nn.Module) -> dict:
    """Everything the contract promises to keep: values, grads, flags, hooks, module identity."""
    return {
        "state": {k: v.detach().clone() for k, v in net.state_dict().items()},
        "grad": {
            k: None if p.grad is None else p.grad.detach().clone()
            for k, p in net.named_parameters()
        },
        "requires_grad": {k: p.requires_grad for k, p in net.named_parameters()},
        "training": {k: m.training for k, m in net.named_modules()},
        "modules": {k: id(m) for k, m in net.named_modules()},
        "inplace": {k: m.inplace for k, m in net.named_modules() if hasattr(m, "inplace")},
        "hooks": {
            k: {d: list(getattr(m, d, {}).keys()) for d in _HOOK_DICTS}
            for k, m in net.named_modules()
        },
        "global_hooks": _global_hooks(),
        "grad_enabled": torch.is_grad_enabled(),
        "function_modes": torch._C._len_torch_function_stack(),  # e.g. a ReLU-rule mode left on
    }


def assert_unchanged(before: dict, net: nn.Module) -> None:
    """Fail with the first difference between `before` and the model now."""
    after = snapshot(net)
    for key in sorted(before.keys() - {"state", "grad"}):  # tensors are compared below
        assert after[key] == before[key], f"{key} changed"
    assert after["state"].keys() == before["state"].keys()
    for name, value in before["state"].items():
        assert torch.equal(after["state"][name], value), f"state {name} changed"
    for name, grad in before["grad"].items():
        now = after["grad"][name]
        assert (now is None) == (grad is None), f".grad of {name} appeared or vanished"
        assert grad is None or torch.equal(now, grad), f".grad of {name} changed"
