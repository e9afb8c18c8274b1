"""The model-unchanged contract, made structural: every public call runs inside `preserved(model)`.

The block gets a `Guard` whose `model` is a working view of the user's network (`core.view`):
the same weights and buffers, in eval mode, with frozen parameters and hook dictionaries of its
own. Everything a call does — eval mode, hooks, a truncated forward, rewritten modules — happens
to the view, so the user's model is never written: not during the call, not when it raises or is
interrupted (Ctrl-C anywhere), and not while another call, in another thread, uses the same model.
Hooks registered through the guard are removed from the view on exit.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from torch import nn
from torch.utils.hooks import RemovableHandle

from cnnlens.core._view import working_view


class Guard:
    """A call's working view of a model, the network it views, and the hooks it registered.

    `preserved` yields one; cnnlens's own methods make and use it.

    Attributes:
        model: The working view (shared weights, its own flags and hooks): run forwards on it.
        source: The viewed network, only to be read (facts cached per network are keyed on it).
    """

    def __init__(self, model: nn.Module, source: nn.Module) -> None:
        self.model = model
        self.source = source
        self._handles: list[RemovableHandle] = []

    def hook(self, handle: RemovableHandle) -> RemovableHandle:
        """Remember a hook handle so it is removed on exit."""
        self._handles.append(handle)
        return handle

    def restore(self) -> None:
        """Remove every remembered hook, newest first."""
        while self._handles:
            self._handles.pop().remove()


@contextmanager
def preserved(model: nn.Module) -> Iterator[Guard]:
    """Run a block on a working view of `model` (eval mode, frozen parameters, own hooks).

    Args:
        model: the user's network; it is only read.

    Yields:
        A `Guard`: run the forward through `guard.model`, hook it through `guard.hook`.
    """
    guard = Guard(working_view(model), model)
    try:
        yield guard
    finally:
        guard.restore()
