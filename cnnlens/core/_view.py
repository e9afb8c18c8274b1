"""A working view of a network: the same weights, its own flags and hooks.

Every cnnlens call runs the network through a view made for that call alone. The view is a shallow
copy of the module tree: each module is a new object whose parameters are frozen aliases of the
user's (same storage, `requires_grad=False`), whose buffers are the user's tensors, and whose
`training` flag and hook dictionaries are its own. So a call may put its view in eval mode, hook
it, truncate it, or rewrite its modules (the render folds BatchNorm) without writing anything to
the user's model: not while it runs, not when it raises or is interrupted, and not when another
call — in another thread, or the user's own `model(x)` — runs on the same model at the same time.

The user's own hooks are copied into the view (the same callables, their owners not copied), so
they fire during cnnlens calls as they would in the user's forward.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar, cast
from weakref import WeakKeyDictionary

import torch
from torch import nn

T = TypeVar("T")


def working_view(net: nn.Module) -> nn.Module:
    """An eval-mode view of `net` sharing its weights and buffers, with frozen parameters.

    Args:
        net: any `nn.Module`; it is read, never written.

    Returns:
        A module tree of the same classes and structure: modules shared between paths stay
        shared, tied parameters stay tied, and parameters are `nn.Parameter` aliases of the
        user's storage with `requires_grad=False` (so no `.grad` can reach the user's tensors).
    """
    return _view(net, {})


# Memo of a view: id of the user's module or parameter -> its view's module or frozen alias.
Memo = dict[int, nn.Module | nn.Parameter]


def _frozen(param: torch.Tensor | None, memo: Memo) -> torch.Tensor | None:
    if param is None:
        return None
    if id(param) not in memo:
        memo[id(param)] = nn.Parameter(param.detach(), requires_grad=False)
    return cast(nn.Parameter, memo[id(param)])


def _view(module: nn.Module, memo: Memo) -> nn.Module:
    if id(module) in memo:
        return cast(nn.Module, memo[id(module)])
    clone = object.__new__(type(module))  # no __init__: the state comes from the original
    memo[id(module)] = clone
    state = dict(module.__dict__)
    for name, value in state.items():  # forward/backward/state-dict hooks: own dictionaries
        if name.startswith("_") and "hooks" in name and isinstance(value, dict):
            state[name] = OrderedDict(value)
    state["training"] = False
    state["_parameters"] = {n: _frozen(p, memo) for n, p in module._parameters.items()}
    state["_buffers"] = dict(module._buffers)
    state["_non_persistent_buffers_set"] = set(module._non_persistent_buffers_set)
    state["_modules"] = {
        n: None if child is None else _view(child, memo) for n, child in module._modules.items()
    }
    clone.__dict__.update(state)
    return clone


def owning(module: nn.Module) -> None:
    """Give `module` (a module of a working view) and its submodules parameters of their own.

    Parameters and buffers become copies of the shared ones, so they can be rewritten without
    touching the user's.
    """
    for sub in module.modules():
        sub._parameters = {
            n: None if p is None else nn.Parameter(p.detach().clone(), requires_grad=False)
            for n, p in sub._parameters.items()
        }
        sub._buffers = {n: None if b is None else b.clone() for n, b in sub._buffers.items()}


def probing_view(net: nn.Module) -> nn.Module:
    """A working view of `net` without the user's forward hooks.

    For the forwards cnnlens runs only to learn about the network (call counts, graph facts): the
    user's hooks see the calls' own forwards, never these.
    """
    view = working_view(net)
    for module in view.modules():  # the view's own dictionaries; the user's stay as they are
        module._forward_pre_hooks.clear()
        module._forward_hooks.clear()
    return view


class PerNetwork(Generic[T]):
    """Facts read from a network (on a probing view), once per input shape.

    Read again when the network's modules change (another module type at a path) or the input
    shape does; weakly keyed, so a network that is dropped drops its facts.
    """

    def __init__(self) -> None:
        self._memo: WeakKeyDictionary[nn.Module, tuple[tuple, T]] = WeakKeyDictionary()

    def get(self, net: nn.Module, shape: Sequence[int], read: Callable[[], T]) -> T:
        """The fact for `net` and inputs of `shape`: the remembered one, else `read()`'s."""
        signature = (tuple((p, type(m)) for p, m in net.named_modules()), tuple(shape))
        cached = self._memo.get(net)
        if cached is not None and cached[0] == signature:
            return cached[1]
        value = read()
        self._memo[net] = (signature, value)
        return value

    def clear(self) -> None:
        """Forget every network's facts."""
        self._memo.clear()
