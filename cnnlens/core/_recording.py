"""Recording layers during a forward: hooks that read what is asked and stop the forward after.

A hooked layer's own output is recorded and the network continues on a copy, so an in-place ReLU
that runs later cannot overwrite the record: a conv layer's record is always its true (pre-ReLU)
output, and with autograd on, gradients with respect to a recorded tensor are available
(Grad-CAM). A module that runs several times in one forward is read at its last call, and the
first forward says so. Methods run these through `capture.forward_pass`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import torch
from torch import nn

from cnnlens.core._notes import note
from cnnlens.core._view import PerNetwork, probing_view
from cnnlens.core.guard import Guard
from cnnlens.errors import CnnlensError


class _StopForward(BaseException):
    """Raised by a hook to end the forward pass early; BaseException so user `except` misses it."""


_CALLS: PerNetwork[Counter[str]] = PerNetwork()


def _call_counts(net: nn.Module, x: torch.Tensor) -> Counter[str]:
    """How many times each module path of `net` runs in one forward of inputs like `x`.

    `x` is the network's input, (N, ...). Read from one input on a probing view (no user hooks),
    with every torch-function mode (backprop rules, leaky ReLUs) off, once per network and input
    shape (so a truncated forward pays for the whole network once). Empty when that forward fails
    (the real one will say why).
    """
    return _CALLS.get(net, x.shape[1:], lambda: _count_calls(net, x))


def _count_calls(net: nn.Module, x: torch.Tensor) -> Counter[str]:
    """`_call_counts`, read now."""
    view = probing_view(net)
    counts: Counter[str] = Counter()

    def count(path: str) -> Callable[[nn.Module, tuple[Any, ...], object], None]:
        def hook(_module: nn.Module, _inputs: tuple[Any, ...], _output: object) -> None:
            counts[path] += 1

        return hook

    for path, module in view.named_modules():
        module.register_forward_hook(count(path))
    try:
        with torch.no_grad(), torch._C.DisableTorchFunction():
            view(x[:1].detach())
    except Exception:
        counts.clear()
    return counts


def _calls_to_read(net: nn.Module, paths: list[str], inputs: tuple) -> dict[str, int]:
    """Which call of each path a forward of `inputs` reads: the last one (`_call_counts`).

    A path that runs more than once is said (`core._notes`).
    """
    x = inputs[0] if inputs and isinstance(inputs[0], torch.Tensor) else None
    counts = Counter() if x is None else _call_counts(net, x)
    for path in paths:
        if counts[path] > 1:
            note(
                f"layer {path!r} runs {counts[path]} times in one forward; cnnlens reads its "
                "last call"
            )
    return {path: max(counts[path], 1) for path in paths}


class _Calls:
    """Which call of each path a forward reads, and the calls seen so far in the current forward.

    The call read is the last (`_calls_to_read`), fixed by the first forward's input.
    """

    def __init__(self, guard: Guard, paths: list[str]) -> None:
        self.source, self.paths = guard.source, paths
        self.wanted: dict[str, int] = {}
        self.seen: Counter[str] = Counter()

    def start(self, _module: nn.Module, inputs: tuple) -> None:
        """Forward pre-hook of the root: a new forward."""
        self.seen.clear()
        if self.paths and not self.wanted:
            self.wanted.update(_calls_to_read(self.source, self.paths, inputs))

    def arrive(self, path: str) -> bool:
        """Count a call of `path`; True when it is the call to read."""
        self.seen[path] += 1
        return self.seen[path] == self.wanted.get(path, 1)

    def done(self) -> bool:
        """Whether every path's call to read has happened in this forward."""
        return all(self.seen[p] >= self.wanted.get(p, 1) for p in self.paths)


@contextmanager
def recording(
    guard: Guard, paths: Iterable[str], *, truncate: bool = True
) -> Iterator[dict[str, torch.Tensor]]:
    """Hook `paths` of `guard.model`; the dict fills with their outputs during a forward.

    A module that runs several times in one forward (ResNet's shared `relu`, a block applied
    twice) is read at its last call — by every method alike, and as `list_layers` shows it —
    and the first forward says so in one line (`core._notes`). With `truncate`, the forward
    raises `_StopForward` as soon as every path has been read; run it through
    `forward_until_done`.
    """
    net = guard.model
    calls = _Calls(guard, list(paths))
    outputs: dict[str, torch.Tensor] = {}

    def record(path: str) -> Callable[[nn.Module, tuple[Any, ...], object], torch.Tensor | None]:
        def hook(
            _module: nn.Module, _inputs: tuple[Any, ...], output: object
        ) -> torch.Tensor | None:
            if not calls.arrive(path):  # another call: it runs as it is
                return None
            if not isinstance(output, torch.Tensor):
                raise CnnlensError(
                    f"layer {path!r} returns {type(output).__name__}, not a tensor; "
                    "pick one of its submodules"
                )
            outputs[path] = output
            if truncate and calls.done():
                raise _StopForward
            # The rest of the network continues on a copy: an in-place op downstream (ReLU)
            # changes the copy, never the recorded tensor, and gradients still reach it.
            return output.clone()

        return hook

    handles = [guard.hook(net.register_forward_pre_hook(calls.start))]
    handles += [
        guard.hook(net.get_submodule(p).register_forward_hook(record(p))) for p in calls.paths
    ]
    try:
        yield outputs
    finally:  # the guard removes them too, but a later recording in the same guard must not
        for handle in handles:  # meet this one's spent hooks
            handle.remove()


@contextmanager
def recording_input(guard: Guard, path: str) -> Iterator[dict[str, torch.Tensor]]:
    """Record the input of module `path` (e.g. what a global pooling averages) at its last call.

    As `recording`; the forward stops right there. Run it through `forward_until_done`.
    """
    calls = _Calls(guard, [path])
    inputs: dict[str, torch.Tensor] = {}

    def hook(_module: nn.Module, args: tuple[Any, ...]) -> None:
        if calls.arrive(path):
            inputs[path] = args[0]
            raise _StopForward

    handles = [
        guard.hook(guard.model.register_forward_pre_hook(calls.start)),
        guard.hook(guard.model.get_submodule(path).register_forward_pre_hook(hook)),
    ]
    try:
        yield inputs
    finally:
        for handle in handles:
            handle.remove()


def forward_until_done(net: nn.Module, x: torch.Tensor) -> torch.Tensor | None:
    """Run `net(x)`; return its output, or None when a `recording` hook stopped it early."""
    try:
        return net(x)
    except _StopForward:
        return None
