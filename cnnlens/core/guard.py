"""The model-unchanged contract, made structural: every public call runs inside `preserved(model)`.

Inside the context the model is in eval mode, its parameters do not require gradients (so no
parameter `.grad` is ever written and no graph is kept for weights), and anything registered through
the guard (hooks, other undo actions) is undone in `finally` — also when the call raised or was
interrupted.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from torch import nn
from torch.utils.hooks import RemovableHandle


class Guard:
    """Tracks the changes a call makes to a model so they can all be undone."""

    def __init__(self, model: nn.Module) -> None:
        self.model = model
        self._undo: list[Callable[[], None]] = []

    def on_exit(self, undo: Callable[[], None]) -> None:
        """Register an action that restores the model; actions run in reverse order."""
        self._undo.append(undo)

    def hook(self, handle: RemovableHandle) -> RemovableHandle:
        """Remember a hook handle so it is removed on exit."""
        self.on_exit(handle.remove)
        return handle

    def restore(self) -> None:
        """Undo everything, newest first; every action runs even if an earlier one fails."""
        errors: list[BaseException] = []
        while self._undo:
            try:
                self._undo.pop()()
            except BaseException as exc:
                errors.append(exc)
        if errors:
            raise errors[0]


@contextmanager
def preserved(model: nn.Module) -> Iterator[Guard]:
    """Run a block with `model` in eval mode and frozen parameters; restore everything after."""
    guard = Guard(model)
    training = {m: m.training for m in model.modules()}
    requires = {p: p.requires_grad for p in model.parameters()}

    def restore_training() -> None:
        for module, flag in training.items():
            module.training = flag

    def restore_requires_grad() -> None:
        for param, flag in requires.items():
            param.requires_grad_(flag)

    guard.on_exit(restore_training)
    guard.on_exit(restore_requires_grad)
    try:
        for module in training:
            module.training = False
        for param in requires:
            param.requires_grad_(False)
        yield guard
    finally:
        guard.restore()
