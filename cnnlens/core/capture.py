"""Activation capture, and the forward pass every method runs: preserved, recorded, truncated.

`capture` returns layers' outputs for images; `_forward_pass` is the same machinery for methods
that need more (several batches, gradients, the logits): the model preserved (`core.guard`), the
layers recorded (`core._recording`: a conv layer's record is its true pre-ReLU output), each
forward normalized for the model and stopped once every layer has been read. Each capture says
whether it is pre- or post-ReLU.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass

import torch
from torch import nn

from cnnlens.core._inputs import check_images
from cnnlens.core._recording import forward_until_done, recording, recording_input
from cnnlens.core.guard import Guard, preserved
from cnnlens.core.handle import ModelLike, _as_handle
from cnnlens.core.layers import as_net, resolve_layers
from cnnlens.errors import CnnlensError

RELUS = (nn.ReLU, nn.ReLU6, nn.LeakyReLU)


def _parent(net: nn.Module, path: str) -> nn.Module:
    parent_path = path.rpartition(".")[0]
    return net.get_submodule(parent_path) if parent_path else net


def _sequential_neighbour(net: nn.Module, path: str, offset: int) -> str | None:
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


def _relu_note(net: nn.Module, path: str) -> str:
    """Say whether a layer's output is pre- or post-ReLU (as far as the module graph shows)."""
    if isinstance(net.get_submodule(path), RELUS):
        return "post-ReLU"
    relu_path = _sequential_neighbour(net, path, 1)
    if relu_path is not None and isinstance(net.get_submodule(relu_path), RELUS):
        how = " in place" if getattr(net.get_submodule(relu_path), "inplace", False) else ""
        return f"pre-ReLU ({relu_path} applies ReLU{how} after it)"
    return ""


def _images_for(model: ModelLike, images: torch.Tensor) -> torch.Tensor:
    """Validate [0, 1] RGB images and move them to the model's device and dtype."""
    x = check_images(images)
    param = next(as_net(model).parameters(), None)
    return x if param is None else x.to(device=param.device, dtype=param.dtype)


def _normalize_for(model: ModelLike, x: torch.Tensor) -> torch.Tensor:
    """Map [0, 1] images to the network's input space (identity for a plain nn.Module)."""
    return _as_handle(model).normalize(x)


class _Forward:
    """Forward passes of a model's images through a call's working view, and what they recorded.

    Made by `_forward_pass` (or `_forward_in`, inside a guard the caller holds): call it with
    images, read `recorded`.

    Attributes:
        handle: The model's handle (its normalization).
        guard: The call's `Guard`; its `model` is the working view the forwards run on.
        recorded: {layer path: tensor} from the latest forward: the layers' outputs, or the layer's
            input (`at_input`); a layer the forward did not reach is missing.
    """

    def __init__(self, model: ModelLike, guard: Guard, recorded: dict[str, torch.Tensor]) -> None:
        self.handle = _as_handle(model)
        self.guard = guard
        self.recorded = recorded

    def __call__(
        self, images: torch.Tensor, *, layout: torch.memory_format | None = None
    ) -> object:
        """Normalize `images` for the model and run them through the view.

        Args:
            images: (N, 3, H, W) float tensor in [0, 1], on the model's device and dtype
                (`_images_for`).
            layout: The memory format the network gets its normalized input in; None: as it is.

        Returns:
            What the network's forward returned, or None when the forward stopped early (every
            recorded layer read).

        Raises:
            CnnlensError: A recorded layer returns something other than a tensor.
        """
        self.recorded.clear()
        x = self.handle.normalize(images)
        if layout is not None:
            x = x.contiguous(memory_format=layout)
        return forward_until_done(self.guard.model, x)


@contextmanager
def _forward_in(
    guard: Guard,
    model: ModelLike,
    layers: Iterable[str] = (),
    *,
    truncate: bool = True,
    at_input: bool = False,
) -> Iterator[_Forward]:
    """Forward passes of `model`'s images on `guard.model`, recording `layers` (paths).

    For a caller that holds the guard, and chooses the gradient mode, across several passes (the
    backprop engine). Elsewhere use `_forward_pass`.

    Args:
        guard: The call's guard, from `preserved(as_net(model))`.
        model: The network: a `LoadedModel` (its normalization is applied) or an `nn.Module`.
        layers: Canonical module paths to record (see `recording`).
        truncate: Stop each forward once every layer has been read.
        at_input: Record the input of the one layer in `layers` instead (what a global pooling
            averages); the forward stops there.

    Yields:
        The `_Forward`.

    Raises:
        ValueError: `at_input` with other than one layer.
    """
    if at_input:
        (path,) = layers
        record = recording_input(guard, path)
    else:
        record = recording(guard, layers, truncate=truncate)
    with record as recorded:
        yield _Forward(model, guard, recorded)


@contextmanager
def _forward_pass(
    model: ModelLike,
    layers: Iterable[str] = (),
    *,
    grad: bool = False,
    truncate: bool = True,
    at_input: bool = False,
) -> Iterator[_Forward]:
    """Forward passes of `model`'s images on a working view, recording `layers` (paths).

    The incantation of every method: the model preserved (`preserved`), autograd on or off, the
    layers hooked (`recording`), and each forward normalized and truncated. The model is exactly
    as before afterwards, also when the block raises or is interrupted.

    Args:
        model: The network: a `LoadedModel` (its normalization is applied) or an `nn.Module`.
        layers: Canonical module paths to record (see `recording`).
        grad: Build the autograd graph (gradients with respect to the images or recorded tensors).
        truncate: Stop each forward once every layer has been read.
        at_input: Record the input of the one layer in `layers` instead (see `_forward_in`).

    Yields:
        The `_Forward`: `forward(images)` runs one batch, `forward.recorded` holds what it read.

    Raises:
        ValueError: `at_input` with other than one layer (a cnnlens bug, not a user's error).
    """
    with (
        preserved(as_net(model)) as guard,
        torch.enable_grad() if grad else torch.no_grad(),
        _forward_in(guard, model, layers, truncate=truncate, at_input=at_input) as forward,
    ):
        yield forward


def model_logits(model: ModelLike, images: torch.Tensor) -> torch.Tensor:
    """The logits of `model` for [0, 1] RGB images: one whole forward, without gradients.

    Args:
        model: The network: a `LoadedModel` (its normalization is applied) or an `nn.Module`.
        images: (N, 3, H, W) or (3, H, W) float tensor in [0, 1].

    Returns:
        (N, classes) float tensor: the part of the forward's output the handle names as the logits
        (`LoadedModel.output`).

    Raises:
        CnnlensError: `images` is not a finite float (N, 3, H, W) or (3, H, W) tensor; the output
            holds no tensor where the handle points, or several and nothing says which.
    """
    x = _images_for(model, images)
    with _forward_pass(model) as forward:
        return _as_handle(model).logits(forward(x))


def output_names(model: ModelLike) -> tuple[str, ...]:
    """A name per output (logit) of `model`: the class names, else "class 0", "class 1", ...

    The count comes from one forward of a blank image at the handle's input size.

    Args:
        model: The network: a `LoadedModel` or an `nn.Module`.

    Returns:
        One name per logit.

    Raises:
        CnnlensError: As `model_logits`, for a model without class names.
    """
    handle = _as_handle(model)
    if handle.class_names:
        return handle.class_names
    size = handle.input_size
    count = model_logits(model, torch.zeros(1, 3, size, size)).shape[1]
    return tuple(f"class {i}" for i in range(count))


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
    x = _images_for(model, images)
    with _forward_pass(model, paths, truncate=truncate) as forward:
        forward(x)
    out = forward.recorded
    missing = [p for p in paths if p not in out]
    if missing:
        raise CnnlensError(f"layer(s) {missing} did not run in the forward pass of this input")
    return Activations({p: out[p] for p in paths}, {p: _relu_note(net, p) for p in paths})
