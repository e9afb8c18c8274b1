"""Activation capture: forward hooks record what is asked and the forward stops right after.

A hooked layer's own output is recorded and the network continues on a copy, so an in-place ReLU
that runs later cannot overwrite the record: a conv layer's capture is always its true (pre-ReLU)
output, each capture says whether it is pre- or post-ReLU, and with autograd on, gradients with
respect to a recorded tensor are available (Grad-CAM). A module that runs several times in one
forward is read at its last call (`recording`), and the call says so.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from weakref import WeakKeyDictionary

import torch
from torch import nn

from cnnlens.core.guard import Guard, preserved
from cnnlens.core.handle import ModelLike, as_handle
from cnnlens.core.inputs import check_images
from cnnlens.core.layers import as_net, resolve_layers
from cnnlens.core.notes import note
from cnnlens.core.view import probing_view
from cnnlens.errors import CnnlensError

RELUS = (nn.ReLU, nn.ReLU6, nn.LeakyReLU)


class _StopForward(BaseException):
    """Raised by a hook to end the forward pass early; BaseException so user `except` misses it."""


def _parent(net: nn.Module, path: str) -> nn.Module:
    parent_path = path.rpartition(".")[0]
    return net.get_submodule(parent_path) if parent_path else net


def sequential_neighbour(net: nn.Module, path: str, offset: int) -> str | None:
    """The path of the module `offset` places after `path` in its nn.Sequential parent.

    Before it for a negative offset; None outside a Sequential or past its ends.
    """
    parent = _parent(net, path)
    if not isinstance(parent, nn.Sequential):
        return None
    names = list(parent._modules)
    index = names.index(path.rpartition(".")[2]) + offset
    if not 0 <= index < len(names):
        return None
    prefix = path.rpartition(".")[0]
    return f"{prefix}.{names[index]}" if prefix else names[index]


def relu_note(net: nn.Module, path: str) -> str:
    """Say whether a layer's output is pre- or post-ReLU (as far as the module graph shows)."""
    if isinstance(net.get_submodule(path), RELUS):
        return "post-ReLU"
    relu_path = sequential_neighbour(net, path, 1)
    if relu_path is not None and isinstance(net.get_submodule(relu_path), RELUS):
        how = " in place" if getattr(net.get_submodule(relu_path), "inplace", False) else ""
        return f"pre-ReLU ({relu_path} applies ReLU{how} after it)"
    return ""


_CALLS: WeakKeyDictionary[nn.Module, tuple[tuple, Counter[str]]] = WeakKeyDictionary()


def _call_counts(net: nn.Module, x: torch.Tensor) -> Counter[str]:
    """How many times each module path of `net` runs in one forward of inputs like `x`.

    `x` is the network's input, (N, ...). Read from one input on a probing view (no user hooks),
    with every torch-function mode (backprop rules, leaky ReLUs) off, once per network and input
    shape (so a truncated forward pays for the whole network once). Empty when that forward fails
    (the real one will say why).
    """
    signature = (tuple((p, type(m)) for p, m in net.named_modules()), tuple(x.shape[1:]))
    cached = _CALLS.get(net)
    if cached is not None and cached[0] == signature:
        return cached[1]
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
    _CALLS[net] = (signature, counts)
    return counts


def _calls_to_read(net: nn.Module, paths: list[str], inputs: tuple) -> dict[str, int]:
    """Which call of each path a forward of `inputs` reads: the last one (`_call_counts`).

    A path that runs more than once is said (`core.notes`).
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
    and the first forward says so in one line (`core.notes`). With `truncate`, the forward
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


def images_for(model: ModelLike, images: torch.Tensor) -> torch.Tensor:
    """Validate [0, 1] RGB images and move them to the model's device and dtype."""
    x = check_images(images)
    param = next(as_net(model).parameters(), None)
    return x if param is None else x.to(device=param.device, dtype=param.dtype)


def normalize_for(model: ModelLike, x: torch.Tensor) -> torch.Tensor:
    """Map [0, 1] images to the network's input space (identity for a plain nn.Module)."""
    return as_handle(model).normalize(x)


def output_names(model: ModelLike) -> tuple[str, ...]:
    """A name per output (logit) of `model`: the class names, else "class 0", "class 1", ...

    The count comes from one forward of a blank image at the handle's input size.
    """
    handle = as_handle(model)
    if handle.class_names:
        return handle.class_names
    size = handle.input_size
    x = images_for(model, torch.zeros(1, 3, size, size))
    with preserved(handle.net) as guard, torch.no_grad():
        logits = handle.logits(forward_until_done(guard.model, handle.normalize(x)))
    return tuple(f"class {i}" for i in range(logits.shape[1]))


@dataclass(frozen=True)
class Activations(Mapping[str, torch.Tensor]):
    """Captured layer outputs by canonical path, each with a pre-/post-ReLU note.

    A read-only mapping: `acts["features.3"]` is that layer's (N, C, H, W) (or (N, D)) tensor.

    Args:
        tensors: {canonical path: output tensor}.
        notes: {canonical path: note}: "post-ReLU", "pre-ReLU (... applies ReLU after it)", or ""
            where the module graph does not tell.
    """

    tensors: dict[str, torch.Tensor]
    notes: dict[str, str]

    def __getitem__(self, name: str) -> torch.Tensor:
        return self.tensors[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self.tensors)

    def __len__(self) -> int:
        return len(self.tensors)

    def __repr__(self) -> str:
        rows = [
            f"  {name}: {tuple(t.shape)}" + (f"  [{self.notes[name]}]" if self.notes[name] else "")
            for name, t in self.tensors.items()
        ]
        return "Activations(\n" + "\n".join(rows) + "\n)"


def capture(
    model: ModelLike,
    images: torch.Tensor,
    layers: str | Iterable[str],
    *,
    truncate: bool = True,
) -> Activations:
    """Outputs of `layers` for [0, 1] RGB `images`, running the forward only as far as needed.

    The model is left exactly as it was (eval mode is used inside and restored afterwards). A conv
    layer's capture is its true (pre-ReLU) output, even when an in-place ReLU follows.

    Args:
        model: The network: a `LoadedModel` (its normalization is applied) or an `nn.Module`.
        images: (N, 3, H, W) or (3, H, W) float tensor in [0, 1].
        layers: A layer name or alias ("conv2", "features.3"), or several.
        truncate: Stop the forward after the last requested layer has run.

    Returns:
        The `Activations`, keyed by canonical path: (N, C, h, w) tensors for conv layers, (N, D) for
        linear ones.

    Raises:
        CnnlensError: A layer name is unknown (with "did you mean" hints) or not a string, or none
            is given; a layer did not run in the forward; `images` is not a finite float (N, 3, H,
            W) or (3, H, W) tensor.
    """
    net = as_net(model)
    paths = resolve_layers(net, layers)
    x = normalize_for(model, images_for(model, images))
    with (
        preserved(net) as guard,
        torch.no_grad(),
        recording(guard, paths, truncate=truncate) as out,
    ):
        forward_until_done(guard.model, x)
    missing = [p for p in paths if p not in out]
    if missing:
        raise CnnlensError(f"layer(s) {missing} did not run in the forward pass of this input")
    return Activations({p: out[p] for p in paths}, {p: relu_note(net, p) for p in paths})
