"""Activation capture: forward hooks record what is asked and the forward stops right after.

A hooked layer's own output is recorded and the network continues on a copy, so an in-place ReLU
that runs later cannot overwrite the record: a conv layer's capture is always its true (pre-ReLU)
output, each capture says whether it is pre- or post-ReLU, and with autograd on, gradients with
respect to a recorded tensor are available (Grad-CAM).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass

import torch
from torch import nn

from cnnlens.core.guard import Guard, preserved
from cnnlens.core.handle import ModelLike, as_handle
from cnnlens.core.inputs import check_images
from cnnlens.core.layers import as_net, resolve_layers
from cnnlens.errors import CnnlensError

RELUS = (nn.ReLU, nn.ReLU6, nn.LeakyReLU)


class _StopForward(BaseException):
    """Raised by a hook to end the forward pass early; BaseException so user `except` misses it."""


def _parent(net: nn.Module, path: str) -> nn.Module:
    parent_path = path.rpartition(".")[0]
    return net.get_submodule(parent_path) if parent_path else net


def _stop_point(net: nn.Module, path: str) -> str:
    """The module after whose forward `path` is certainly final.

    A child of an nn.Sequential runs once per forward. A parameter-free module elsewhere may be
    reused (ResNet calls one `relu` twice per block), so its value is final only when its parent
    returns; the root ("") means "no truncation".
    """
    module = net.get_submodule(path)
    parent = _parent(net, path)
    reusable = not isinstance(parent, nn.Sequential) and next(module.parameters(), None) is None
    if not reusable:
        return path
    parent_path = path.rpartition(".")[0]
    return _stop_point(net, parent_path) if parent_path else ""


def sequential_neighbour(net: nn.Module, path: str, offset: int) -> str | None:
    """The path of the module `offset` places after `path` in its nn.Sequential parent (before
    it for a negative offset); None outside a Sequential or past its ends."""
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


@contextmanager
def recording(
    guard: Guard, paths: Iterable[str], *, truncate: bool = True
) -> Iterator[dict[str, torch.Tensor]]:
    """Hook `paths` of `guard.model`; the dict fills with their outputs during a forward.

    With `truncate`, the forward raises `_StopForward` as soon as every path's value is final;
    run the forward through `forward_until_done`.
    """
    net = guard.model
    paths = list(paths)
    outputs: dict[str, torch.Tensor] = {}

    def record(path: str):
        def hook(_module, _inputs, output):
            if not isinstance(output, torch.Tensor):
                raise CnnlensError(
                    f"layer {path!r} returns {type(output).__name__}, not a tensor; "
                    "pick one of its submodules"
                )
            outputs[path] = output
            # The rest of the network continues on a copy: an in-place op downstream (ReLU)
            # changes the copy, never the recorded tensor, and gradients still reach it.
            return output.clone()

        return hook

    handles = [guard.hook(net.get_submodule(p).register_forward_hook(record(p))) for p in paths]
    stops = {_stop_point(net, path) for path in paths}
    if truncate and "" not in stops:
        pending = set(stops)

        def start(_module, _inputs):  # each forward waits for every stop point again
            pending.update(stops)

        handles.append(guard.hook(net.register_forward_pre_hook(start)))

        def stop(path: str):
            def hook(_module, _inputs, _output):
                pending.discard(path)
                if not pending:
                    raise _StopForward

            return hook

        for path in stops:
            handles.append(guard.hook(net.get_submodule(path).register_forward_hook(stop(path))))
    try:
        yield outputs
    finally:  # the guard removes them too, but a later recording in the same guard must not
        for handle in handles:  # meet this one's spent stop hooks
            handle.remove()


@contextmanager
def recording_input(guard: Guard, path: str) -> Iterator[dict[str, torch.Tensor]]:
    """Record the input of module `path` (e.g. what a global pooling averages); the forward stops
    right there. Run it through `forward_until_done`."""
    inputs: dict[str, torch.Tensor] = {}

    def hook(_module, args):
        inputs[path] = args[0]
        raise _StopForward

    handle = guard.hook(guard.model.get_submodule(path).register_forward_pre_hook(hook))
    try:
        yield inputs
    finally:
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


@dataclass(frozen=True)
class Activations(Mapping[str, torch.Tensor]):
    """Captured layer outputs by canonical path, each with a pre-/post-ReLU note."""

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

    The model is left exactly as it was (eval mode is used inside and restored afterwards).
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
