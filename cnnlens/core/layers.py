"""Layer addressing: `named_modules()` paths, friendly aliases, listing with output shapes."""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, cast

import torch
from torch import nn

from cnnlens.core._legacy import legacy_calls
from cnnlens.core.guard import preserved
from cnnlens.core.handle import ModelLike, _as_handle
from cnnlens.errors import CnnlensError


def as_net(model: ModelLike) -> nn.Module:
    """The `nn.Module` behind a model handle (or the module itself).

    Unlike `as_handle`, it makes no handle, so internal calls on an unwrapped network say nothing
    about normalization.

    Args:
        model: A `LoadedModel` or an `nn.Module`.

    Returns:
        The network.

    Raises:
        CnnlensError: `model` is neither a module nor a handle.
    """
    return model if isinstance(model, nn.Module) else _as_handle(model).net


def layer_aliases(model: ModelLike) -> dict[str, str]:
    """Friendly names for plain conv stacks: conv1, conv2, ... and fc1, ... in forward order.

    All or nothing: a model whose own paths already use any such name (ResNet's and ShapeNet's
    `conv1`) has friendly names of its own and gets no aliases.

    Args:
        model: The network: a `LoadedModel` or an `nn.Module`.

    Returns:
        {alias: canonical module path}, e.g. {"conv1": "features.0", "fc1": "classifier.0"} for
        VGG; empty for a model with friendly names of its own.
    """
    net = as_net(model)
    paths = dict(net.named_modules())
    aliases: dict[str, str] = {}
    for prefix, kind in (("conv", nn.Conv2d), ("fc", nn.Linear)):
        found = [path for path, module in paths.items() if isinstance(module, kind)]
        aliases.update({f"{prefix}{i}": path for i, path in enumerate(found, start=1)})
    return {} if any(name in paths for name in aliases) else aliases


def resolve_layer(model: ModelLike, name: str) -> str:
    """Canonical module path for a layer name or alias; unknown names get 'did you mean' hints.

    Args:
        model: A `LoadedModel` or an `nn.Module`.
        name: A `named_modules()` path ("features.3") or an alias ("conv2").

    Returns:
        The canonical path.

    Raises:
        CnnlensError: `name` is not a string, or no layer has that name or alias.
    """
    net = as_net(model)
    if not isinstance(name, str):
        raise CnnlensError(f"layer names are strings like 'conv1', got {type(name).__name__}")
    paths = [path for path, _ in net.named_modules() if path]
    if name in paths:
        return name
    aliases = layer_aliases(net)
    if name in aliases:
        return aliases[name]
    close = difflib.get_close_matches(name, paths + list(aliases), n=3, cutoff=0.5)
    hint = f"did you mean {', '.join(repr(c) for c in close)}? " if close else ""
    raise CnnlensError(
        f"unknown layer {name!r} in {type(net).__name__}; {hint}"
        "cnnlens.list_layers(model) lists them all"
    )


def resolve_layers(model: ModelLike, names: str | Iterable[str]) -> list[str]:
    """Resolve one layer name or several (`resolve_layer` each), keeping order, dropping repeats.

    Args:
        model: The network: a `LoadedModel` or an `nn.Module`.
        names: A layer name or alias, or several.

    Returns:
        The canonical module paths, each once, in the order given.

    Raises:
        CnnlensError: No name is given; a name is not a string or is unknown (with "did you
            mean" hints).
    """
    single = isinstance(names, str) or not isinstance(names, Iterable)
    listed = [names] if single else list(names)  # a non-name gets resolve_layer's one line
    if not listed:
        raise CnnlensError("no layer given")
    return list(dict.fromkeys(resolve_layer(model, cast(str, n)) for n in listed))


def feeding_conv(model: ModelLike, layer: str, channels: int) -> str | None:
    """The convolution whose filters make a layer's channels (for drawing a unit's filter).

    That is the last `nn.Conv2d` with `channels` output channels among the modules up to and
    including `layer`, in `named_modules()` order: the layer itself if it is that conv, else the
    conv before it (a ReLU, pooling or BatchNorm after a conv keeps its channels).

    Args:
        model: A `LoadedModel` or an `nn.Module`.
        layer: A layer name or alias, e.g. "relu3".
        channels: The number of channels of the layer's output (C of its (C, H, W) maps).

    Returns:
        The conv's module path, or None when no conv up to `layer` has `channels` outputs.

    Raises:
        CnnlensError: `model` is neither a module nor a handle; `layer` is unknown.
    """
    path = resolve_layer(model, layer)
    found = None
    for name, module in as_net(model).named_modules():
        if isinstance(module, nn.Conv2d) and module.out_channels == channels:
            found = name
        if name == path:
            break
    return found


@dataclass(frozen=True)
class LayerInfo:
    """One addressable layer: its path, alias, module type, output shape and parameter count.

    Attributes:
        name: The canonical module path.
        alias: Its friendly name ("conv2"), or None.
        type: The module's class name.
        output_shape: Its output shape per image, e.g. (C, H, W); None if it did not run.
        params: Number of parameters of the module (its own and its submodules').
    """

    name: str
    alias: str | None
    type: str
    output_shape: tuple[int, ...] | None
    params: int

    def __str__(self) -> str:
        shape = "×".join(map(str, self.output_shape)) if self.output_shape else "-"
        alias = f" ({self.alias})" if self.alias else ""
        return f"{self.name}{alias}: {self.type} -> {shape}"


@legacy_calls(order=("model", "input_size"))
def list_layers(model: ModelLike, *, input_size: int | None = None) -> list[LayerInfo]:
    """Every submodule with its output shape (per image), from one dummy forward pass.

    Args:
        model: A `LoadedModel` or an `nn.Module`.
        input_size: Side of the dummy input in pixels; None for the model's.

    Returns:
        One `LayerInfo` per submodule, in `named_modules()` order.
    """
    net = as_net(model)
    size = input_size or _as_handle(model).input_size
    shapes: dict[str, tuple[int, ...]] = {}

    def recorder(path: str) -> Callable[[nn.Module, tuple[Any, ...], object], None]:
        def hook(_module: nn.Module, _inputs: tuple[Any, ...], output: object) -> None:
            if isinstance(output, torch.Tensor):
                shapes[path] = tuple(output.shape[1:])

        return hook

    device = next((p.device for p in net.parameters()), torch.device("cpu"))
    with preserved(net) as guard, torch.no_grad():
        for path, module in guard.model.named_modules():
            if path:
                guard.hook(module.register_forward_hook(recorder(path)))
        guard.model(torch.zeros(1, 3, size, size, device=device))
    by_path = {path: alias for alias, path in layer_aliases(net).items()}
    return [
        LayerInfo(
            name=path,
            alias=by_path.get(path),
            type=type(module).__name__,
            output_shape=shapes.get(path),
            params=sum(p.numel() for p in module.parameters()),
        )
        for path, module in net.named_modules()
        if path
    ]
